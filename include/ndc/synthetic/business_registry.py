"""Business registry: enterprises as weekly Excel workbooks (`enterprises_<YYYY>W<WW>.xlsx`).

The baseline workbook (the baseline's ISO week) holds every enterprise existing then. Each
later workbook is dated a Monday and holds the enterprises created or changed from the previous
workbook's date up to the day before its own date; it is written once its Monday is reached, so
a longer run never rewrites an earlier workbook. Workbooks dated before 2025-07-01 use legacy
province codes and names, later ones 2025 codes and names.
"""

from __future__ import annotations

import io
import string
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from ndc.synthetic.defects import DefectLog, malform_pid, mojibake, pick_classes
from ndc.synthetic.population import BASELINE, REFORM, STREETS, ages_at
from ndc.synthetic.world import DayEvents, World, rng_for

SOURCE = "business_registry"
ENTITY = "enterprise"
SHEET = "DoanhNghiep"
HEADER = [
    "ma_so_thue",
    "ten_doanh_nghiep",
    "loai_hinh",
    "ngay_thanh_lap",
    "dia_chi_tru_so",
    "ma_tinh",
    "ho_ten_nguoi_dai_dien",
    "so_dinh_danh_nguoi_dai_dien",
    "trang_thai",
]
LEGAL_FORMS = (
    ("Công ty TNHH một thành viên", "Công ty TNHH", 0.35),
    ("Công ty TNHH hai thành viên trở lên", "Công ty TNHH", 0.25),
    ("Công ty cổ phần", "Công ty Cổ phần", 0.25),
    ("Doanh nghiệp tư nhân", "Doanh nghiệp tư nhân", 0.14),
    ("Công ty hợp danh", "Công ty Hợp danh", 0.01),
)
TRADES = ["Thương mại", "Xây dựng", "Dịch vụ", "Sản xuất", "Vận tải", "Công nghệ", "Thực phẩm",
          "Du lịch", "Đầu tư", "Nông nghiệp", "May mặc", "Cơ khí"]  # fmt: skip
BRANDS = ["Minh Phát", "Hoàng Long", "An Khang", "Phú Thịnh", "Đại Việt", "Thành Công",
          "Hưng Thịnh", "Sao Mai", "Tân Tiến", "Bình Minh", "Kim Ngân", "Trường Sơn", "Hòa Bình",
          "Phương Nam", "Đông Á", "Việt Tiến", "Quang Minh", "Thiên Phúc", "Nam Việt",
          "Hải Âu"]  # fmt: skip
STATUSES = ("Đang hoạt động", "Tạm ngừng kinh doanh", "Đã giải thể")
ROW_CLASSES = ("date_excel_serial", "date_text_dmy", "pid_malformed")
NAME_CLASSES = ("name_upper", "name_mojibake")
NEW_PER_PERSON_DAY = 0.0004
CHANGED_SHARE_PER_DAY = 0.003
FIXED_TIME = datetime(2025, 1, 1, 0, 0, 0)
EXCEL_EPOCH = date(1899, 12, 30)


def file_dates(dates: list[date]) -> list[date]:
    """The baseline day, then each Monday after it that the run reaches."""
    out = [dates[0]]
    d = dates[0] + timedelta(days=7 - dates[0].weekday())
    while d <= dates[-1]:
        out.append(d)
        d += timedelta(days=7)
    return out


def file_name(d: date) -> str:
    y, w, _ = d.isocalendar()
    return f"enterprises_{y}W{w:02d}.xlsx"


class BusinessRegistry:
    """Enterprises (also the employers of the social insurance source)."""

    def __init__(self, seed: int, world: World, rates: dict[str, float], log: DefectLog):
        self.seed = seed
        self.rates = rates
        self.log = log
        self.units = world.units
        self.taken: set[str] = set()
        self.units_taken: set[str] = set()
        self.state: dict[str, list] = {}
        self.history: list[tuple[date, int]] = []  # (day, enterprise index) of each change
        rng = rng_for(seed, 60)
        n = max(20, world.n0 // 100)
        self._create(rng, world, n, None)
        w = 1.0 / np.arange(1, n + 1) ** 0.8
        self.weights = w / w.sum()

    def employers(self):
        """(tax codes, SI unit codes, weights) of the baseline enterprises for social insurance."""
        k = len(self.weights)
        return (
            np.array(self.state["mst"][:k], dtype=object),
            np.array(self.state["unit"][:k], dtype=object),
            self.weights,
        )

    def _create(self, rng, world: World, n: int, day: date | None) -> None:
        p = world.persons
        ages = ages_at(p["date_of_birth"], BASELINE)
        pool = np.flatnonzero(world.alive_mask() & (ages >= 25) & (ages <= 70))
        rep = rng.choice(pool, size=n, replace=len(pool) < n)
        mst = []
        for _ in range(n):
            code = f"{int(rng.integers(100_000_000, 9_999_999_999)):010d}"
            while code in self.taken:
                code = f"{int(rng.integers(100_000_000, 9_999_999_999)):010d}"
            self.taken.add(code)
            mst.append(code)
        letters = list(string.ascii_uppercase)
        unit = []
        for _ in range(n):
            code = f"{rng.choice(list('TYZ'))}{rng.choice(letters)}{int(rng.integers(0, 10_000)):04d}{rng.choice(letters)}"  # noqa: E501
            while code in self.units_taken:
                code = f"{rng.choice(list('TYZ'))}{rng.choice(letters)}{int(rng.integers(0, 10_000)):04d}{rng.choice(letters)}"  # noqa: E501
            self.units_taken.add(code)
            unit.append(code)
        forms = rng.choice(len(LEGAL_FORMS), size=n, p=[f[2] for f in LEGAL_FORMS])
        trade = rng.integers(0, len(TRADES), n)
        brand = rng.integers(0, len(BRANDS), n)
        if day is None:
            span = (BASELINE - date(1995, 1, 1)).days
            founded = [date(1995, 1, 1) + timedelta(days=int(x)) for x in rng.integers(0, span, n)]
        else:
            founded = [day - timedelta(days=int(x)) for x in rng.integers(0, 5, n)]
        status = rng.choice(3, size=n, p=[0.9, 0.07, 0.03]) if day is None else np.zeros(n, int)
        house = rng.integers(1, 500, n)
        street = rng.integers(0, len(STREETS), n)
        new = {
            "mst": mst,
            "unit": unit,
            "name": [
                f"{LEGAL_FORMS[f][1]} {TRADES[t]} {BRANDS[b]}"
                for f, t, b in zip(forms, trade, brand, strict=True)
            ],
            "form": [LEGAL_FORMS[f][0] for f in forms],
            "founded": founded,
            "street": [f"Số {h} đường {STREETS[s]}" for h, s in zip(house, street, strict=True)],
            "ward": list(p["ward_idx"][rep]),
            "commune": list(p["commune_idx"][rep]),
            "rep_name": list(p["full_name"][rep]),
            "rep_pid": list(p["personal_id"][rep]),
            "status": [STATUSES[s] for s in status],
        }
        first = len(self.state.get("mst", []))
        for c, v in new.items():
            self.state.setdefault(c, []).extend(v)
        if day is not None:
            self.history.extend((day, i) for i in range(first, first + n))

    def apply_day(self, world: World, ev: DayEvents) -> None:
        if ev.index == 0:
            return
        rng = rng_for(self.seed, 61, ev.index)
        n = len(self.state["mst"])
        changed = np.flatnonzero(rng.random(n) < CHANGED_SHARE_PER_DAY)
        for i in changed:
            if rng.random() < 0.5:
                self.state["status"][i] = STATUSES[int(rng.integers(0, 3))]
            else:
                h, s = int(rng.integers(1, 500)), int(rng.integers(0, len(STREETS)))
                self.state["street"][i] = f"Số {h} đường {STREETS[s]}"
            self.history.append((ev.day, int(i)))
        self._create(rng, world, int(rng.poisson(NEW_PER_PERSON_DAY * world.n0)), ev.day)
        # the row as it stands after the day's change is what the next workbook reports
        for day, i in self.history:
            if day == ev.day:
                self._snap.setdefault(day, {})[i] = self._row(i)

    _snap: dict

    def snapshot_baseline(self) -> None:
        self._snap = {BASELINE: {i: self._row(i) for i in range(len(self.state["mst"]))}}

    def _row(self, i: int) -> dict:
        return {c: self.state[c][i] for c in self.state}

    def write(self, inbox: Path, dates: list[date]) -> tuple[list[Path], int, list[tuple]]:
        inbox.mkdir(parents=True, exist_ok=True)
        fdates = file_dates(dates)
        paths, n_rows, systems = [], 0, []
        seen: set[str] = set()
        for fi, fd in enumerate(fdates):
            if fi == 0:
                rows = self._snap[BASELINE]
            else:
                rows = {}
                for day in sorted(self._snap):
                    if fdates[fi - 1] <= day < fd and day != BASELINE:
                        rows.update(self._snap[day])
            ordered = [rows[i] for i in sorted(rows, key=lambda i: self.state["mst"][i])]
            path = inbox / file_name(fd)
            legacy = fd < REFORM
            rng = rng_for(self.seed, 62, fi)
            data = self._cells(rng, ordered, legacy, seen)
            path.write_bytes(_xlsx(data))
            paths.append(path)
            n_rows += len(ordered)
            u = self.units
            for r in ordered:
                code = u.legacy_province[r["ward"]] if legacy else u.province[r["commune"]]
                systems.append(
                    (SOURCE, ENTITY, r["mst"], "ma_tinh", path.name,
                     "legacy" if legacy else "2025", code, u.province[r["commune"]])
                )  # fmt: skip
        return paths, n_rows, systems

    def _cells(self, rng, rows: list[dict], legacy: bool, seen: set[str]) -> list[list]:
        u = self.units
        n = len(rows)
        first = np.array([r["mst"] not in seen for r in rows], dtype=bool)
        for cls in ROW_CLASSES:
            if cls in self.rates:
                self.log.count_eligible(SOURCE, cls, int(first.sum()))
        for cls in NAME_CLASSES:
            if cls in self.rates:
                self.log.count_eligible(SOURCE, cls, int(first.sum()))
        picked = pick_classes(rng, n, ROW_CLASSES, self.rates)
        named = pick_classes(rng, n, NAME_CLASSES, self.rates)
        out = []
        for j, r in enumerate(rows):
            key = r["mst"]
            if legacy:
                w = r["ward"]
                addr = (f"{r['street']}, {u.legacy_ward_name[w]}, {u.legacy_district_name[w]}, "
                        f"{u.legacy_province_name[w]}")  # fmt: skip
                code = u.legacy_province[w]
            else:
                c = r["commune"]
                addr = f"{r['street']}, {u.commune_name[c]}, {u.province_name[c]}"
                code = u.province[c]
            founded: object = r["founded"]
            pid, name = r["rep_pid"], r["rep_name"]
            if first[j] and picked[j] >= 0:
                cls = ROW_CLASSES[picked[j]]
                if cls == "date_excel_serial":
                    founded = (r["founded"] - EXCEL_EPOCH).days
                    self.log.add(SOURCE, ENTITY, [key], "ngay_thanh_lap", cls,
                                 [r["founded"].isoformat()], [str(founded)])  # fmt: skip
                elif cls == "date_text_dmy":
                    d = r["founded"]
                    founded = f"{d.day}/{d.month}/{d.year}"
                    self.log.add(SOURCE, ENTITY, [key], "ngay_thanh_lap", cls, [d.isoformat()],
                                 [founded])  # fmt: skip
                else:
                    pid = malform_pid(rng, r["rep_pid"])
                    self.log.add(SOURCE, ENTITY, [key], "so_dinh_danh_nguoi_dai_dien", cls,
                                 [r["rep_pid"]], [pid])  # fmt: skip
            if first[j] and named[j] >= 0:
                cls = NAME_CLASSES[named[j]]
                name = r["rep_name"].upper() if cls == "name_upper" else mojibake(r["rep_name"])
                self.log.add(SOURCE, ENTITY, [key], "ho_ten_nguoi_dai_dien", cls,
                             [r["rep_name"]], [name])  # fmt: skip
            seen.add(key)
            out.append([key, r["name"], r["form"], founded, addr, code, name, pid, r["status"]])
        return out


def _xlsx(rows: list[list]) -> bytes:
    """Write the workbook with fixed document properties and zip timestamps (same bytes)."""
    wb = Workbook(write_only=True)
    wb.properties.creator = "Hệ thống thông tin quốc gia về đăng ký doanh nghiệp"
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    ws = wb.create_sheet(SHEET)
    ws.append(HEADER)
    for row in rows:
        cells = list(row)
        if isinstance(row[3], date):
            cell = WriteOnlyCell(ws, value=row[3])
            cell.number_format = "DD/MM/YYYY"
            cells[3] = cell
        ws.append(cells)
    raw = io.BytesIO()
    wb.save(raw)
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = _fix_core(data)
            fixed = zipfile.ZipInfo(info.filename, date_time=(2025, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            dst.writestr(fixed, data)
    return out.getvalue()


def _fix_core(data: bytes) -> bytes:
    """openpyxl stamps `modified` with the current time on save: put the fixed time back."""
    import re

    return re.sub(
        rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
        rb"\g<1>" + FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode() + rb"\g<2>",
        data,
    )
