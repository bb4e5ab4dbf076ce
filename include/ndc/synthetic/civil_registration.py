"""Civil registration (Ministry of Justice): births, deaths and marriages, one CSV file per
province per day. Most provinces write UTF-8; three write Windows-1258 and one TCVN3 (ABC).
Files dated before 2025-07-01 carry legacy province codes, later files 2025 codes."""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np

from ndc import textcodecs
from ndc.synthetic import admin
from ndc.synthetic.defects import (
    DefectLog,
    conflicting_date,
    future_date,
    malform_pid,
    pick_classes,
    separator_date,
    sex_year_mismatch_pid,
    spreadsheet_pid,
    unknown_province_pid,
    unparseable_date,
    zero_part_date,
)
from ndc.synthetic.encodings import encode_cp1258
from ndc.synthetic.linkage_cases import ID_LESS, swapped
from ndc.synthetic.names import strip_marks
from ndc.synthetic.population import REFORM
from ndc.synthetic.provinces import (
    REPORTING_PROVINCES,
    legacy_encoding_provinces,
    reporting_codes,
    tcvn3_province,
)
from ndc.synthetic.world import DayEvents, World, office_code, to_date

SOURCE = "civil_registration"
BIRTH_COLUMNS = [
    "so_dang_ky",
    "ngay_dang_ky",
    "so_dinh_danh",
    "ho_ten",
    "ngay_sinh",
    "gioi_tinh",
    "noi_sinh_tinh",
    "ho_ten_me",
    "so_dinh_danh_me",
]
DEATH_COLUMNS = [
    "so_dang_ky",
    "ngay_dang_ky",
    "so_dinh_danh",
    "ho_ten",
    "ngay_sinh",
    "ngay_mat",
    "noi_mat_tinh",
]
MARRIAGE_COLUMNS = [
    "so_dang_ky",
    "ngay_dang_ky",
    "so_dinh_danh_chong",
    "ho_ten_chong",
    "ngay_sinh_chong",
    "so_dinh_danh_vo",
    "ho_ten_vo",
    "ngay_sinh_vo",
    "noi_dang_ky_tinh",
]
SEX_LABEL = {"male": "Nam", "female": "Nữ"}
UNKNOWN_SEX_LABELS = ("Khác", "X", "Không rõ")
ENTITIES = {
    "birth": (BIRTH_COLUMNS, "births", "KS", "noi_sinh_tinh"),
    "death": (DEATH_COLUMNS, "deaths", "KT", "noi_mat_tinh"),
    "marriage": (MARRIAGE_COLUMNS, "marriages", "KH", "noi_dang_ky_tinh"),
}
# Row-level defect classes per entity (mutually exclusive per row), in draw order.
ROW_CLASSES = {
    "birth": (
        "pid_missing",
        "pid_malformed",
        "pid_unknown_province",
        "pid_sex_year_mismatch",
        "date_unparseable",
        "date_in_future",
        "code_unknown",
        "duplicate_exact",
        "duplicate_near",
        "pid_spreadsheet",
        "date_separators",
        "date_birth_after_registration",
    ),
    "death": (
        "pid_missing",
        "pid_malformed",
        "pid_unknown_province",
        "pid_sex_year_mismatch",
        "date_unparseable",
        "date_in_future",
        "date_year_only",
        "dob_conflict",
        "duplicate_exact",
        "duplicate_near",
        "pid_spreadsheet",
        "date_zero_parts",
        "date_separators",
        "date_death_before_birth",
    ),
    "marriage": ("pid_missing", "pid_malformed", "pid_unknown_province", "date_unparseable"),
}
NAME_FIELDS = {
    "birth": ("ho_ten", "ho_ten_me"),
    "death": ("ho_ten",),
    "marriage": ("ho_ten_chong", "ho_ten_vo"),
}


def dmy(d: date) -> str:
    """Format a date as unpadded d/m/yyyy."""
    return f"{d.day}/{d.month}/{d.year}"


def encodings_for(seed: int) -> dict[str, str]:
    """File encoding of every office code: the legacy codes, and the 2025 codes they become.

    A 2025 province formed from several reporting provinces keeps the encoding of the largest
    (74 Bình Dương joins 79 TP Hồ Chí Minh, UTF-8).
    """
    cp1258 = set(legacy_encoding_provinces(seed))
    tcvn3 = tcvn3_province(seed)
    legacy = {
        c: "cp1258" if c in cp1258 else "tcvn3" if c == tcvn3 else "utf-8"
        for c in reporting_codes()
    }
    out = dict(legacy)
    p25 = admin.load().province_2025
    for c in sorted(legacy, key=lambda c: -REPORTING_PROVINCES[c]):
        out.setdefault(p25[c], legacy[c])
    return dict(sorted(out.items()))


def encode_file_text(text: str, encoding: str) -> bytes:
    """Encode a whole file as utf-8 (NFC), cp1258 or tcvn3."""
    if encoding == "cp1258":
        return encode_cp1258(text)
    if encoding == "tcvn3":
        textcodecs.register()
        return text.encode("tcvn3")
    return text.encode("utf-8")


def csv_bytes(
    columns: list[str], rows: list[dict[str, str]], encoding: str, legacy_cells: dict[int, str]
) -> bytes:
    """The CSV file's bytes; the cells in `legacy_cells` (row index -> column) in TCVN3 bytes
    inside an otherwise UTF-8 file."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    if not legacy_cells:
        writer.writerows([r[c] for c in columns] for r in rows)
        return encode_file_text(buf.getvalue(), encoding)
    out = [encode_file_text(buf.getvalue(), encoding)]
    marker = "\x00legacy\x00"
    for i, r in enumerate(rows):
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        field = legacy_cells.get(i)
        writer.writerow([marker if c == field else r[c] for c in columns])
        line = encode_file_text(buf.getvalue(), encoding)
        if field is not None:
            line = line.replace(marker.encode(), encode_file_text(r[field], "tcvn3"))
        out.append(line)
    return b"".join(out)


def misread(name: str, encoding: str) -> str:
    """What a reader that does not know the legacy encoding sees (the defect's raw value)."""
    if encoding == "cp1258":
        return encode_cp1258(name).decode("cp1258")
    return encode_file_text(name, "tcvn3").decode("latin-1")


@dataclass
class CivilRegistration:
    """The civil-registration writer: keeps registration counters from day to day."""

    seed: int
    inbox: Path
    rates: dict[str, float]
    log: DefectLog
    encodings: dict[str, str] = field(init=False)
    counters: dict[tuple[str, str], int] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=lambda: {e: 0 for e in ENTITIES})
    code_systems: list[tuple] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.encodings = encodings_for(self.seed)
        rng = np.random.default_rng([self.seed, 30])
        for prefix in ("KS", "KT", "KH"):
            for code in sorted(self.encodings):
                self.counters[(prefix, code)] = int(rng.integers(100, 2000))

    def _key(self, prefix: str, code: str, day: date) -> str:
        i = self.counters[(prefix, code)]
        self.counters[(prefix, code)] = i + 1
        return f"{prefix}-{code}-{day:%Y%m%d}-{i:06d}"

    def write_day(self, world: World, ev: DayEvents) -> None:
        """Write day ev.day's births, deaths and marriages files."""
        day = ev.day
        p = world.persons
        pid = p["personal_id"]
        name = p["full_name"]
        dob = p["date_of_birth"]
        sex = p["sex"]
        dod = p["date_of_death"]
        per_entity: dict[str, list[tuple[str, dict[str, str], date, str]]] = {}

        births = []
        codes = office_code(world.legacy_province(ev.mothers), day)
        for mother, child, code in zip(ev.mothers, ev.children, codes, strict=True):
            d = to_date(dob[child])
            row = {
                "so_dang_ky": self._key("KS", code, day),
                "ngay_dang_ky": dmy(day),
                "so_dinh_danh": pid[child],
                "ho_ten": name[child],
                "ngay_sinh": dmy(d),
                "gioi_tinh": SEX_LABEL[sex[child]],
                "noi_sinh_tinh": code,
                "ho_ten_me": name[mother],
                "so_dinh_danh_me": pid[mother],
            }
            births.append((code, row, d, sex[child]))
        per_entity["birth"] = births

        deaths = []
        codes = office_code(world.legacy_province(ev.deaths), day)
        for person, code in zip(ev.deaths, codes, strict=True):
            d = to_date(dob[person])
            row = {
                "so_dang_ky": self._key("KT", code, day),
                "ngay_dang_ky": dmy(day),
                "so_dinh_danh": pid[person],
                "ho_ten": name[person],
                "ngay_sinh": dmy(d),
                "ngay_mat": dmy(to_date(dod[person])),
                "noi_mat_tinh": code,
            }
            deaths.append((code, row, d, sex[person]))
        per_entity["death"] = deaths

        marriages = []
        codes = office_code(world.legacy_province(ev.grooms), day)
        for g, b, code in zip(ev.grooms, ev.brides, codes, strict=True):
            row = {
                "so_dang_ky": self._key("KH", code, day),
                "ngay_dang_ky": dmy(day),
                "so_dinh_danh_chong": pid[g],
                "ho_ten_chong": name[g],
                "ngay_sinh_chong": dmy(to_date(dob[g])),
                "so_dinh_danh_vo": pid[b],
                "ho_ten_vo": name[b],
                "ngay_sinh_vo": dmy(to_date(dob[b])),
                "noi_dang_ky_tinh": code,
            }
            marriages.append((code, row, to_date(dob[g]), "male"))
        per_entity["marriage"] = marriages

        rng = np.random.default_rng([self.seed, 31, ev.index])
        cell_rng = np.random.default_rng([self.seed, 32, ev.index])
        # Hard linkage cases: their own stream, so nothing else changes with them.
        case_rng = np.random.default_rng([self.seed, 33, ev.index])
        system = "legacy" if day < REFORM else "2025"
        for entity, rows in per_entity.items():
            columns, file_prefix, key_prefix, place = ENTITIES[entity]
            out_rows = self._inject(rng, entity, rows, day, key_prefix)
            if entity == "death":
                self._hard_cases(case_rng, rows, day, name)
            files: dict[str, list[dict[str, str]]] = {}
            for code, row in out_rows:
                files.setdefault(code, []).append(row)
            for code, file_rows in sorted(files.items()):
                encoding = self.encodings.get(code, "utf-8")
                path = self.inbox / f"{file_prefix}_{code}_{day:%Y%m%d}.csv"
                cells = self._legacy_cells(cell_rng, entity, file_rows, encoding)
                path.write_bytes(csv_bytes(columns, file_rows, encoding, cells))
                self.files.append(path)
                self.rows[entity] += len(file_rows)
                seen = set()
                for r in file_rows:
                    key = r["so_dang_ky"]
                    if key in seen:
                        continue
                    seen.add(key)
                    self.code_systems.append(
                        (SOURCE, entity, key, place, path.name, system, code,
                         office_code(code, REFORM) if system == "legacy" else code)
                    )  # fmt: skip
                    if encoding != "utf-8":
                        cls = "name_cp1258" if encoding == "cp1258" else "name_tcvn3"
                        for f in NAME_FIELDS[entity]:
                            if not r[f].isascii():
                                raw = misread(r[f], encoding)
                                if raw != r[f]:  # cp1258 has some toned letters precomposed
                                    self.log.add(SOURCE, entity, [key], f, cls, [r[f]], [raw])

    def _legacy_cells(self, rng, entity: str, rows: list[dict], encoding: str) -> dict[int, str]:
        """name_legacy_cell: in a UTF-8 file, the rows (index -> name field) whose name a clerk
        typed in a TCVN3 font. Rows repeated in the file (exact duplicates) are left alone."""
        rate = self.rates.get("name_legacy_cell", 0.0)
        if encoding != "utf-8" or not rate:
            return {}
        repeated = Counter(r["so_dang_ky"] for r in rows)
        cells = {}
        for i, r in enumerate(rows):
            fields = [f for f in NAME_FIELDS[entity] if not r[f].isascii()]
            if repeated[r["so_dang_ky"]] > 1 or not fields:
                continue
            self.log.count_eligible(SOURCE, "name_legacy_cell", 1)
            if rng.random() < rate:
                f = fields[int(rng.integers(0, len(fields)))]
                cells[i] = f
                raw = misread(r[f], "tcvn3")
                key = r["so_dang_ky"]
                self.log.add(SOURCE, entity, [key], f, "name_legacy_cell", [r[f]], [raw])
        return cells

    def _hard_cases(self, rng, rows, day: date, names) -> None:
        """Make some death records without a usable personal ID harder to link, labelled in
        truth/linkage_cases.parquet (ndc.synthetic.linkage_cases). Only a record's date of
        birth or name changes; no defect of truth/defects.parquet sits on either."""
        ids = self._id_less
        for _code, row, dob, _sex in rows:
            key = row["so_dang_ky"]
            if key not in ids:
                continue
            case = self.log.cases.pick(
                rng, row["ho_ten"], dob, names, can_swap=dob.year < day.year - 1
            )
            if case is None:
                continue
            if case == "dob_swap":
                row["ngay_sinh"] = dmy(swapped(dob))
            elif case == "no_marks":
                row["ho_ten"] = strip_marks(row["ho_ten"])
            self.log.cases.add(SOURCE, "death", key, case, ids[key])

    def _inject(self, rng, entity, rows, day: date, key_prefix: str):
        """Apply row-level defects; return (code, row) pairs in file order."""
        # Record key -> true personal ID of the rows left without a usable one.
        self._id_less: dict[str, str] = {}
        classes = ROW_CLASSES[entity]
        n = len(rows)
        for cls in classes:
            if cls in self.rates:
                self.log.count_eligible(SOURCE, cls, n)
        picked = pick_classes(rng, n, classes, self.rates)
        out = []
        log = self.log
        for (code, row, dob, _sex), ci in zip(rows, picked, strict=True):
            out.append((code, row))
            if ci < 0:
                continue
            cls = classes[ci]
            key = row["so_dang_ky"]
            if cls.startswith("pid_"):
                unicode_file = self.encodings.get(code, "utf-8") == "utf-8"
                f = "so_dinh_danh"
                if entity == "marriage":
                    f = "so_dinh_danh_chong" if rng.random() < 0.5 else "so_dinh_danh_vo"
                clean = row[f]
                raw = {
                    "pid_missing": lambda c: "",
                    "pid_malformed": lambda c: malform_pid(rng, c),
                    "pid_unknown_province": lambda c: unknown_province_pid(rng, c),
                    "pid_sex_year_mismatch": lambda c: sex_year_mismatch_pid(rng, c),
                    "pid_spreadsheet": lambda c, u=unicode_file: spreadsheet_pid(rng, c, u),
                }[cls](clean)
                row[f] = raw
                log.add(SOURCE, entity, [key], f, cls, [clean], [raw])
                if cls in ID_LESS:
                    self._id_less[key] = clean
            elif cls == "date_unparseable":
                f = "ngay_sinh_chong" if entity == "marriage" else "ngay_sinh"
                raw = unparseable_date(rng, dob)
                row[f] = raw
                log.add(SOURCE, entity, [key], f, cls, [dob.isoformat()], [raw])
            elif cls == "date_in_future":
                f = "ngay_mat" if entity == "death" else "ngay_sinh"
                clean_d = _parse_dmy(row[f])
                raw = dmy(future_date(rng, clean_d))
                row[f] = raw
                log.add(SOURCE, entity, [key], f, cls, [clean_d.isoformat()], [raw])
            elif cls == "date_year_only":
                row["ngay_sinh"] = str(dob.year)
                log.add(SOURCE, entity, [key], "ngay_sinh", cls, [str(dob.year)], [str(dob.year)])
            elif cls == "date_zero_parts":
                raw, clean = zero_part_date(rng, dob)
                row["ngay_sinh"] = raw
                log.add(SOURCE, entity, [key], "ngay_sinh", cls, [clean], [raw])
            elif cls == "date_separators":
                raw = separator_date(rng, dob)
                row["ngay_sinh"] = raw
                log.add(SOURCE, entity, [key], "ngay_sinh", cls, [dob.isoformat()], [raw])
            elif cls == "date_birth_after_registration":
                clean = row["ngay_dang_ky"]
                raw = dmy(date.fromordinal(dob.toordinal() - int(rng.integers(1, 60))))
                row["ngay_dang_ky"] = raw
                log.add(SOURCE, entity, [key], "ngay_dang_ky", cls, [clean], [raw])
            elif cls == "date_death_before_birth":
                clean = row["ngay_mat"]
                raw = dmy(date.fromordinal(dob.toordinal() - int(rng.integers(1, 3650))))
                row["ngay_mat"] = raw
                log.add(SOURCE, entity, [key], "ngay_mat", cls, [clean], [raw])
            elif cls == "dob_conflict":
                raw = dmy(conflicting_date(rng, dob))
                row["ngay_sinh"] = raw
                log.add(SOURCE, entity, [key], "ngay_sinh", cls, [dob.isoformat()], [raw])
            elif cls == "code_unknown":
                raw = str(rng.choice(UNKNOWN_SEX_LABELS))
                clean = row["gioi_tinh"]
                row["gioi_tinh"] = raw
                log.add(SOURCE, entity, [key], "gioi_tinh", cls, [clean], [raw])
            elif cls == "duplicate_exact":
                out.append((code, dict(row)))
                log.add(SOURCE, entity, [key], "so_dang_ky", cls, [key], [key])
            elif cls == "duplicate_near":
                dup = dict(row)
                dup["so_dang_ky"] = self._key(key_prefix, code, day)
                dup["ho_ten"] = strip_marks(row["ho_ten"])
                out.append((code, dup))
                log.add(SOURCE, entity, [dup["so_dang_ky"]], "so_dang_ky", cls, [key],
                        [dup["so_dang_ky"]])  # fmt: skip
        return out


def _parse_dmy(text: str) -> date:
    d, m, y = (int(x) for x in text.split("/"))
    return date(y, m, d)
