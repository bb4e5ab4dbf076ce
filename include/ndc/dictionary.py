"""The shared data dictionary as plain values, and the dbt seeds generated from it.

`include/dictionary/` is the single source of truth; `dbt_project/seeds/*.csv` are generated
from it (`python -m ndc.dictionary`) and committed so that `dbt build` needs no Python step.
`tests/unit/test_dictionary.py` fails when the committed seeds drift from the dictionary.
"""

from __future__ import annotations

import csv
import io
import sys
import unicodedata
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
DICTIONARY_DIR = REPO_ROOT / "include" / "dictionary"
REASON_CODES_FILE = DICTIONARY_DIR / "reason_codes.yaml"
SEX_CODE_LIST_FILE = DICTIONARY_DIR / "code_lists" / "sex.yaml"
SEEDS_DIR = REPO_ROOT / "dbt_project" / "seeds"

REASON_CODE_COLUMNS = ("code", "field_kind", "description")
SEX_MAPPING_COLUMNS = ("mapping", "source_value", "sex_code")


class DictionaryError(ValueError):
    """The dictionary file is malformed: names the file and the offending entry."""


def _load(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        document = yaml.safe_load(handle)
    if not isinstance(document, dict):
        raise DictionaryError(f"{path}: expected a mapping at the top level")
    return document


def _text(value: Any, path: Path, where: str) -> str:
    # Quoting matters in YAML: an unquoted 01 or yes would silently become 1 or True.
    if not isinstance(value, str) or not value.strip():
        raise DictionaryError(f"{path}: {where} must be a non-empty quoted string, got {value!r}")
    # Sources are conformed to NFC before lookup, so the dictionary must be NFC too.
    return unicodedata.normalize("NFC", value.strip())


def reason_codes(path: Path = REASON_CODES_FILE) -> list[dict[str, str]]:
    """Reason codes for quarantined rows, in dictionary order."""
    entries = _load(path).get("reason_codes")
    if not isinstance(entries, list) or not entries:
        raise DictionaryError(f"{path}: `reason_codes` must be a non-empty list")
    rows: list[dict[str, str]] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise DictionaryError(f"{path}: reason_codes[{index}] must be a mapping")
        row = {
            column: _text(entry.get(column), path, f"reason_codes[{index}].{column}")
            for column in REASON_CODE_COLUMNS
        }
        if row["code"] in seen:
            raise DictionaryError(f"{path}: reason code {row['code']!r} is listed twice")
        seen.add(row["code"])
        rows.append(row)
    return rows


def sex_mappings(path: Path = SEX_CODE_LIST_FILE) -> list[dict[str, str]]:
    """Each source's native sex values mapped to the QCVN 109 code, in dictionary order."""
    document = _load(path)
    codes = {
        _text(entry.get("code"), path, f"codes[{index}].code")
        for index, entry in enumerate(document.get("codes") or [])
    }
    mappings = document.get("source_mappings")
    if not isinstance(mappings, dict) or not mappings:
        raise DictionaryError(f"{path}: `source_mappings` must be a non-empty mapping")
    rows: list[dict[str, str]] = []
    for mapping, values in mappings.items():
        mapping_name = _text(mapping, path, "a source_mappings key")
        if not isinstance(values, dict) or not values:
            raise DictionaryError(f"{path}: source_mappings.{mapping_name} must be a mapping")
        for source_value, sex_code in values.items():
            where = f"source_mappings.{mapping_name}[{source_value!r}]"
            row = {
                "mapping": mapping_name,
                "source_value": _text(source_value, path, f"{where} key"),
                "sex_code": _text(sex_code, path, where),
            }
            if row["sex_code"] not in codes:
                raise DictionaryError(
                    f"{path}: {where} maps to {row['sex_code']!r}, not in codes {sorted(codes)}"
                )
            rows.append(row)
    return rows


def _csv_bytes(columns: tuple[str, ...], rows: list[dict[str, str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def write_seeds(seeds_dir: Path = SEEDS_DIR) -> list[Path]:
    """Write the dbt seeds generated from the dictionary into seeds_dir; return their paths."""
    seeds_dir.mkdir(parents=True, exist_ok=True)
    outputs = {
        "reason_codes.csv": _csv_bytes(REASON_CODE_COLUMNS, reason_codes()),
        "sex_code_map.csv": _csv_bytes(SEX_MAPPING_COLUMNS, sex_mappings()),
    }
    written: list[Path] = []
    for name, content in outputs.items():
        path = seeds_dir / name
        path.write_bytes(content)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    """`python -m ndc.dictionary [SEEDS_DIR]`: regenerate the dbt seeds."""
    args = sys.argv[1:] if argv is None else argv
    seeds_dir = Path(args[0]) if args else SEEDS_DIR
    for path in write_seeds(seeds_dir):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
