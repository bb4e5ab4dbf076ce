"""Generate the big code lists (CSV) from package data, reproducibly.

Administrative units come from vietnamadminunits' own files: its SQLite tables (`admin_units`,
`admin_units_legacy`) and its converter table (`converter_2025.json`). Never its
`convert_address` code path, which may call an online geocoder.

Nationality comes from the IANA tz database's `iso3166.tab` (tzdata) for the alpha-2 codes and
names, and Faker's country table plus `_ALPHA3_EXTRA` for the alpha-3 codes.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

from ndc.dictionary.model import CODE_LISTS_DIR

ADMIN_2025_COLUMNS = (
    "province_code",
    "province_name",
    "commune_code",
    "commune_name",
    "commune_type",
)
ADMIN_LEGACY_COLUMNS = (
    "province_code",
    "province_name",
    "district_code",
    "district_name",
    "district_type",
    "ward_code",
    "ward_name",
    "ward_type",
)
ADMIN_CONVERSION_COLUMNS = (
    "legacy_province_code",
    "legacy_district_code",
    "legacy_ward_code",
    "legacy_ward_name",
    "new_province_code",
    "new_commune_code",
    "new_commune_name",
    "ambiguous",
)
NATIONALITY_COLUMNS = ("code", "alpha_3", "label")

# ISO 3166-1 alpha-3 codes of the territories Faker's country table lacks (reported).
_ALPHA3_EXTRA = {
    "AI": "AIA", "AQ": "ATA", "AS": "ASM", "AW": "ABW", "AX": "ALA", "BL": "BLM", "BM": "BMU",
    "BQ": "BES", "BV": "BVT", "CC": "CCK", "CK": "COK", "CW": "CUW", "CX": "CXR", "EH": "ESH",
    "FK": "FLK", "FO": "FRO", "GF": "GUF", "GG": "GGY", "GI": "GIB", "GL": "GRL", "GP": "GLP",
    "GS": "SGS", "GU": "GUM", "HK": "HKG", "HM": "HMD", "IM": "IMN", "IO": "IOT", "JE": "JEY",
    "KY": "CYM", "MF": "MAF", "MO": "MAC", "MP": "MNP", "MQ": "MTQ", "MS": "MSR", "NC": "NCL",
    "NF": "NFK", "NU": "NIU", "PF": "PYF", "PM": "SPM", "PN": "PCN", "PR": "PRI", "RE": "REU",
    "SH": "SHN", "SJ": "SJM", "SS": "SSD", "SX": "SXM", "TC": "TCA", "TF": "ATF", "TK": "TKL",
    "UM": "UMI", "VG": "VGB", "VI": "VIR", "WF": "WLF", "YT": "MYT",
}  # fmt: skip


def csv_bytes(columns: tuple[str, ...], rows: list[dict[str, str]]) -> bytes:
    """CSV with a header, `\\n` line ends, UTF-8: the same rows give the same bytes."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _admin_data_dir() -> Path:
    import vietnamadminunits

    return Path(vietnamadminunits.__file__).parent / "data"


def admin_unit_rows() -> dict[str, list[dict[str, str]]]:
    """The three administrative-unit tables as sorted rows, keyed by code list id."""
    data = _admin_data_dir()
    with sqlite3.connect(f"file:{data / 'dataset.db'}?mode=ro", uri=True) as conn:
        legacy = conn.execute(
            "SELECT DISTINCT provinceCode, province, districtCode, district, districtType, "
            "wardCode, ward, wardType, provinceKey, districtKey, wardKey "
            "FROM admin_units_legacy"
        ).fetchall()
        # A few districts (islands) have no wards: they keep a row with an empty ward_code.
        legacy = [tuple("" if v is None else v for v in r) for r in legacy]
        new = conn.execute(
            "SELECT provinceCode, province, wardCode, ward, wardType, provinceKey, wardKey "
            "FROM admin_units"
        ).fetchall()
    conv = json.loads((data / "converter_2025.json").read_text(encoding="utf-8"))

    communes = sorted(
        (dict(zip(ADMIN_2025_COLUMNS, (r[0], r[1], r[2], r[3], r[4]), strict=True)) for r in new),
        key=lambda row: (row["province_code"], row["commune_code"]),
    )
    wards = sorted(
        (dict(zip(ADMIN_LEGACY_COLUMNS, r[:8], strict=True)) for r in legacy),
        key=lambda row: (row["province_code"], row["district_code"], row["ward_code"]),
    )

    new_by_key = {(r[5], r[6]): r for r in new}
    targets: dict[str, set[tuple]] = {}
    for prov_key, new_wards in conv["DICT_PROVINCE_WARD_NO_DIVIDED"].items():
        for ward_key, olds in new_wards.items():
            target = new_by_key.get((prov_key, ward_key))
            if target is not None:
                for old in olds:
                    targets.setdefault(old, set()).add(target)
    for prov_key, olds in conv["DICT_PROVINCE_WARD_DIVIDED"].items():
        for old, options in olds.items():
            for option in options:
                target = new_by_key.get((prov_key, option["newWardKey"]))
                if target is not None:
                    targets.setdefault(old, set()).add(target)
    conversion = []
    for r in legacy:
        if not r[5]:
            continue
        found = targets.get(f"{r[8]}_{r[9]}_{r[10]}", set())
        for target in found:
            conversion.append(
                {
                    "legacy_province_code": r[0],
                    "legacy_district_code": r[2],
                    "legacy_ward_code": r[5],
                    "legacy_ward_name": r[6],
                    "new_province_code": target[0],
                    "new_commune_code": target[2],
                    "new_commune_name": target[3],
                    "ambiguous": "true" if len(found) > 1 else "false",
                }
            )
    conversion.sort(key=lambda row: (row["legacy_ward_code"], row["new_commune_code"]))
    return {
        "admin_units_2025": communes,
        "admin_units_legacy": wards,
        "admin_units_legacy_to_2025": conversion,
    }


def build_admin_units(out_dir: Path) -> list[Path]:
    """Write admin_units_2025.csv, admin_units_legacy.csv, admin_units_legacy_to_2025.csv."""
    out_dir.mkdir(parents=True, exist_ok=True)
    columns = {
        "admin_units_2025": ADMIN_2025_COLUMNS,
        "admin_units_legacy": ADMIN_LEGACY_COLUMNS,
        "admin_units_legacy_to_2025": ADMIN_CONVERSION_COLUMNS,
    }
    written = []
    for name, rows in admin_unit_rows().items():
        path = out_dir / f"{name}.csv"
        path.write_bytes(csv_bytes(columns[name], rows))
        written.append(path)
    return written


def nationality_rows() -> list[dict[str, str]]:
    """ISO 3166-1: alpha-2 code, alpha-3 code, English short name; sorted by alpha-2."""
    import importlib.resources

    from faker.providers.date_time import Provider

    table = importlib.resources.files("tzdata").joinpath("zoneinfo/iso3166.tab")
    alpha3 = {country.alpha_2_code: country.alpha_3_code for country in Provider.countries}
    alpha3.update(_ALPHA3_EXTRA)
    rows = []
    for line in table.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        code, name = line.split("\t")[:2]
        rows.append({"code": code, "alpha_3": alpha3[code], "label": name})
    return sorted(rows, key=lambda row: row["code"])


def build_nationality(out_dir: Path) -> list[Path]:
    """Write nationality.csv."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "nationality.csv"
    path.write_bytes(csv_bytes(NATIONALITY_COLUMNS, nationality_rows()))
    return [path]


def build(code_lists_dir: Path = CODE_LISTS_DIR) -> list[Path]:
    """Regenerate the big code lists (CSV) from package data."""
    return build_admin_units(code_lists_dir) + build_nationality(code_lists_dir)
