"""The dictionary for agencies: one self-contained HTML page and CSV files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from ndc.dictionary import model
from ndc.dictionary.generated import csv_bytes

TEMPLATE = "dictionary.html.j2"
ELEMENT_COLUMNS = (
    "group",
    "name",
    "qcvn109_name",
    "type",
    "length",
    "code_list",
    "definition",
    "definition_vi",
    "authoritative_source",
    "personal_data",
    "validation",
)
CODE_LIST_COLUMNS = (
    "id",
    "code_list",
    "version",
    "source",
    "status",
    "description",
    "rows",
    "csv",
)
# Code lists longer than this show their first rows only, with a link to the full CSV.
HTML_ROW_LIMIT = 200


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def export(out_dir: Path) -> list[Path]:
    """Write out_dir/index.html, out_dir/elements.csv, out_dir/code_lists.csv and one
    out_dir/code_lists/<id>.csv per code list (plus the ethnicity crosswalk); return the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "code_lists").mkdir(exist_ok=True)
    elements = model.elements()
    lists = model.code_lists()
    crosswalk = model.ethnicity_crosswalk()
    written: list[Path] = []

    def write(relative: str, content: bytes) -> None:
        path = out_dir / relative
        path.write_bytes(content)
        written.append(path)

    write(
        "elements.csv",
        csv_bytes(
            ELEMENT_COLUMNS,
            [{c: _text(element.get(c)) for c in ELEMENT_COLUMNS} for element in elements],
        ),
    )
    tables = []
    for list_id, meta in lists.items():
        csv_name = f"code_lists/{list_id}.csv"
        write(csv_name, csv_bytes(tuple(meta["columns"]), meta["rows"]))
        tables.append({**meta, "csv": csv_name, "shown": meta["rows"][:HTML_ROW_LIMIT]})
    write(
        "code_lists/ethnicity_1979_to_2008.csv",
        csv_bytes(("code_1979", "code_2008", "label_vi"), crosswalk),
    )
    write(
        "code_lists.csv",
        csv_bytes(
            CODE_LIST_COLUMNS,
            [
                {
                    **{c: _text(t.get(c)) for c in CODE_LIST_COLUMNS},
                    "rows": str(len(t["rows"])),
                    "csv": t["csv"],
                }
                for t in tables
            ],
        ),
    )
    groups = [
        (group, [e for e in elements if e["group"] == group]) for group in model.ELEMENT_GROUPS
    ]
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(model.TEMPLATES_DIR)),
        autoescape=True,
        keep_trailing_newline=True,
    )
    html = environment.get_template(TEMPLATE).render(
        groups=groups,
        element_columns=[c for c in ELEMENT_COLUMNS if c != "group"],
        code_lists=tables,
        crosswalk=crosswalk,
        row_limit=HTML_ROW_LIMIT,
    )
    write("index.html", html.encode("utf-8"))
    return written
