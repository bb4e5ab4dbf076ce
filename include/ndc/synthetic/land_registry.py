"""Land registry: parcels and their owners as one XML file per province per day
(`land_<province>_<yyyymmdd>.xml`, the 2025 province code).

The baseline file of each province holds every parcel existing then; each later day's file the
parcels created or changed that day (an area corrected, an owner's share transferred), each
with all its owners. A parcel's owners are adults of one household. How a province writes a
parcel's place is fixed per province (``province_style``): 2025 codes (legacy codes before
2025-07-01, as the source declares), legacy ward codes with the district whatever the date,
or only a free-text address in legacy names. A few provinces declare windows-1258.

Defects (include/dictionary/defect_classes.yaml), each kept by the record in every file that
re-sends it: a legacy ward code after the reform (admin_legacy_unambiguous, or
admin_legacy_ambiguous for a split ward), a free-text legacy address (admin_address_text, or
admin_address_split for a split ward), a free-text address without its district whose ward
name the province has twice (admin_address_ambiguous, quarantined), an owner's date of birth
that differs from the population's (dob_conflict), a malformed personal ID (pid_malformed).

A hard linkage case (ndc.synthetic.linkage_cases, truth/linkage_cases.parquet): some owners
with a malformed personal ID carry their residence commune as the legacy ward code it had
before the 2025 reform (``reform_commune``), where the population database holds the 2025
code; drawn from a stream of its own, so the rest of the files are the same bytes.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np

from ndc.synthetic.defects import DefectLog, conflicting_date, malform_pid
from ndc.synthetic.encodings import encode_text
from ndc.synthetic.population import BASELINE, REFORM, ages_at
from ndc.synthetic.world import DayEvents, World, rng_for, to_date

SOURCE = "land_registry"
STYLES = ("code", "legacy_code", "text")
OWNER_CLASSES = ("dob_conflict", "pid_malformed")
PARCELS_PER_PERSON = 0.25
NEW_PER_PERSON_DAY = 0.001
CHANGED_SHARE_PER_DAY = 0.02
# Share of the owners with a malformed personal ID given the hard linkage case reform_commune.
REFORM_COMMUNE = "reform_commune"
REFORM_COMMUNE_SHARE = 0.5
NO_PID_SHARE = 0.03  # owners on an old certificate without a personal ID (valid data)
LAND_USES = ("ONT", "ODT", "LUC", "CLN", "BHK", "RSX", "NTS")


def province_style(province_2025: str) -> str:
    """How a province writes a parcel's place: fixed by its 2025 code."""
    return STYLES[int(province_2025) % 3]


def province_encoding(province_2025: str) -> str:
    """The encoding a province's files declare: windows-1258 for a few, UTF-8 otherwise."""
    return "windows-1258" if int(province_2025) % 4 == 3 else "UTF-8"


def file_name(province_2025: str, day: date) -> str:
    return f"land_{province_2025}_{day:%Y%m%d}.xml"


class LandRegistry:
    """Parcels and owners drawn from the synthetic country's households."""

    def __init__(self, seed: int, world: World, rates: dict[str, float], log: DefectLog):
        self.seed = seed
        self.rates = rates
        self.log = log
        self.units = world.units
        self.parcels: list[dict] = []
        self.changed: dict[date, set[int]] = {}
        self.rendered: list[tuple[str, date, str, int, int]] = []
        self.logged: set[tuple[str, str]] = set()
        u = self.units
        names = Counter(zip(u.legacy_province, u.legacy_ward_name, strict=True))
        self.repeated_name = np.array(
            [names[(p, n)] > 1 for p, n in zip(u.legacy_province, u.legacy_ward_name, strict=True)]
        )
        # Hard linkage cases: their own stream, so nothing else changes with them.
        self.case_rng = rng_for(seed, 82)
        rng = rng_for(seed, 80)
        self._create(rng, world, max(10, int(world.n0 * PARCELS_PER_PERSON)), BASELINE)

    # ------------------------------------------------------------------ state

    def _adults(self, world: World) -> np.ndarray:
        return np.flatnonzero(world.alive_mask() & (world.ages(BASELINE) >= 18))

    def _owners_for(self, rng, world: World, head: int) -> list[dict]:
        """The head and, for about half the parcels, another adult of the same household."""
        p = world.persons
        owners = [head]
        nxt = head + 1
        if (
            rng.random() < 0.5
            and nxt < len(p["household_id"])
            and p["household_id"][nxt] == p["household_id"][head]
            and np.isnat(p["date_of_death"][nxt])
            and ages_at(p["date_of_birth"][nxt : nxt + 1], BASELINE)[0] >= 18
        ):
            owners.append(nxt)
        share = round(100 / len(owners), 2)
        out = []
        r_dob = self.rates.get("dob_conflict", 0.0)
        r_pid = self.rates.get("pid_malformed", 0.0)
        for person in owners:
            # An owner on an old certificate has no personal ID (valid data, and nothing to
            # compare with the population database): no owner defect then.
            pid = None if rng.random() < NO_PID_SHARE else p["personal_id"][person]
            draw = rng.random()
            defect = None
            if pid is not None:
                for cls in OWNER_CLASSES:
                    if cls in self.rates:
                        self.log.count_eligible(SOURCE, cls, 1)
                if draw < r_dob:
                    defect = "dob_conflict"
                elif draw < r_dob + r_pid:
                    defect = "pid_malformed"
            real = to_date(p["date_of_birth"][person])
            legacy = self._reform_commune(world, int(person)) if defect == "pid_malformed" else None
            out.append(
                {
                    "person": int(person),
                    "pid": pid,
                    "name": p["full_name"][person],
                    "dob": real.isoformat(),
                    "share": f"{share:g}",
                    "commune": legacy or self.units.commune[p["commune_idx"][person]],
                    "case": REFORM_COMMUNE if legacy else None,
                    "defect": defect,
                    "pid_raw": malform_pid(rng, pid) if defect == "pid_malformed" else None,
                    "dob_raw": conflicting_date(rng, real).isoformat()
                    if defect == "dob_conflict"
                    else None,
                }
            )
        return out

    def _reform_commune(self, world: World, person: int) -> str | None:
        """The legacy ward code of the person's commune (the code before the 2025 reform), for
        REFORM_COMMUNE_SHARE of the owners without a usable personal ID, when that code is
        another than the 2025 commune's and the ward became that commune. One draw each."""
        from ndc.linkage.admin import commune_options

        if self.case_rng.random() >= REFORM_COMMUNE_SHARE:
            return None
        p = world.persons
        legacy = str(self.units.legacy_ward[p["ward_idx"][person]])
        current = str(self.units.commune[p["commune_idx"][person]])
        if legacy == current or current not in commune_options(legacy, "legacy"):
            return None
        return legacy

    def _create(self, rng, world: World, n: int, day: date) -> None:
        adults = self._adults(world)
        if n == 0 or len(adults) == 0:
            return
        heads = rng.choice(adults, size=n, replace=len(adults) < n)
        p = world.persons
        for head in heads:
            i = len(self.parcels)
            ward, commune = int(p["ward_idx"][head]), int(p["commune_idx"][head])
            self.parcels.append(
                {
                    "id": f"{self.units.province[commune]}-{i + 1:08d}",
                    "sheet": str(int(rng.integers(1, 80))),
                    "number": str(int(rng.integers(1, 900))),
                    "area": f"{float(rng.integers(400, 30000)) / 10:.1f}",
                    "use": LAND_USES[int(rng.integers(0, len(LAND_USES)))],
                    "ward": ward,
                    "commune": commune,
                    "owners": self._owners_for(rng, world, int(head)),
                    "omit_district": self._omits_district(rng, ward, commune),
                }
            )
            self.changed.setdefault(day, set()).add(i)

    def apply_day(self, world: World, ev: DayEvents) -> None:
        """The day's changes, then the day's files as they stand at its end."""
        if ev.index > 0:
            self._change(world, ev)
        self._render(ev.day)

    def _change(self, world: World, ev: DayEvents) -> None:
        rng = rng_for(self.seed, 81, ev.index)
        n = len(self.parcels)
        for i in np.flatnonzero(rng.random(n) < CHANGED_SHARE_PER_DAY):
            parcel = self.parcels[int(i)]
            if rng.random() < 0.5:
                parcel["area"] = f"{float(rng.integers(400, 30000)) / 10:.1f}"
            else:  # transferred: new owners, numbered on from the old ones
                adults = self._adults(world)
                first = len(parcel["owners"])
                new = self._owners_for(rng, world, int(rng.choice(adults)))
                for k, owner in enumerate(new):
                    owner["stt"] = first + k + 1
                parcel["owners"] = new
            self.changed.setdefault(ev.day, set()).add(int(i))
        self._create(rng, world, int(rng.poisson(NEW_PER_PERSON_DAY * world.n0)), ev.day)

    # ------------------------------------------------------------------ defects

    def _omits_district(self, rng, ward: int, commune: int) -> bool:
        """A text province's address without its district, where the province has the ward's
        name twice (admin_address_ambiguous): decided once, when the parcel is created."""
        if province_style(self.units.province[commune]) != "text" or not self.repeated_name[ward]:
            return False
        self.log.count_eligible(SOURCE, "admin_address_ambiguous", 1)
        return bool(rng.random() < self.rates.get("admin_address_ambiguous", 0.0))

    # ------------------------------------------------------------------ files

    def _render(self, day: date) -> None:
        """The day's file contents per province (their defects go to the log)."""
        by_province: dict[str, list[int]] = {}
        for i in sorted(self.changed.pop(day, ())):
            by_province.setdefault(self.units.province[self.parcels[i]["commune"]], []).append(i)
        for province, indexes in sorted(by_province.items()):
            body = [self._parcel_xml(self.parcels[i], province, day) for i in indexes]
            owners = sum(len(self.parcels[i]["owners"]) for i in indexes)
            self.rendered.append((province, day, "".join(body), len(indexes), owners))

    def write(self, inbox: Path) -> tuple[list[Path], dict[str, int]]:
        """Write the rendered files."""
        inbox.mkdir(parents=True, exist_ok=True)
        paths: list[Path] = []
        rows = {"parcel": 0, "owner": 0}
        for province, day, body, n_parcels, n_owners in self.rendered:
            encoding = province_encoding(province)
            text = (
                f'<?xml version="1.0" encoding="{encoding}"?>\n'
                f'<DuLieuDatDai MaTinh="{province}" NgayXuat="{day.isoformat()}" '
                f'PhienBan="2.0">\n' + body + "</DuLieuDatDai>\n"
            )
            path = inbox / file_name(province, day)
            codec = "cp1258" if encoding == "windows-1258" else "utf-8"
            path.write_bytes(encode_text(text, codec))
            paths.append(path)
            rows["parcel"] += n_parcels
            rows["owner"] += n_owners
        return paths, rows

    def _place(self, parcel: dict, province: str, day: date) -> str:
        u = self.units
        ward, commune = parcel["ward"], parcel["commune"]
        style = province_style(province)
        ambiguous = bool(u.ambiguous[ward])
        key, clean = parcel["id"], u.commune[commune]

        def log_once(field: str, cls: str, raw: str) -> None:
            if (key, cls) not in self.logged:
                self.logged.add((key, cls))
                self.log.add(SOURCE, "parcel", [key], field, cls, [clean], [raw])

        if style == "text":
            district = "" if parcel["omit_district"] else f"{u.legacy_district_name[ward]}, "
            address = f"{u.legacy_ward_name[ward]}, {district}{u.legacy_province_name[ward]}"
            if parcel["omit_district"]:
                cls = "admin_address_ambiguous"
            else:
                cls = "admin_address_split" if ambiguous else "admin_address_text"
            log_once("dia_chi", cls, address)
            return f"<DiaChi>{_text(address)}</DiaChi>"
        if style == "code" and day >= REFORM:
            return f'<DiaChi MaXa="{clean}"/>'
        legacy = u.legacy_ward[ward]
        if day >= REFORM:  # a province still on legacy codes after the reform
            cls = "admin_legacy_ambiguous" if ambiguous else "admin_legacy_unambiguous"
            log_once("ma_xa", cls, legacy)
        return f'<DiaChi MaHuyen="{u.legacy_district[ward]}" MaXa="{legacy}"/>'

    def _parcel_xml(self, parcel: dict, province: str, day: date) -> str:
        owners = []
        for k, owner in enumerate(parcel["owners"]):
            stt = owner.get("stt", k + 1)
            key = f"{parcel['id']}/{stt}"
            pid, dob = owner["pid"], owner["dob"]
            cls = owner["defect"]
            if cls is not None:
                field, clean = (
                    ("so_dinh_danh", pid) if cls == "pid_malformed" else ("ngay_sinh", dob)
                )
                pid = owner["pid_raw"] or pid
                dob = owner["dob_raw"] or dob
                raw = pid if cls == "pid_malformed" else dob
                if (key, cls) not in self.logged:
                    self.logged.add((key, cls))
                    self.log.add(SOURCE, "owner", [key], field, cls, [clean], [raw])
                    if owner.get("case"):
                        self.log.cases.add(SOURCE, "owner", key, owner["case"], owner["pid"])
            owners.append(
                f'<ChuSuDung STT="{stt}">'
                f"<SoDinhDanh>{pid or ''}</SoDinhDanh><HoTen>{_text(owner['name'])}</HoTen>"
                f"<NgaySinh>{dob}</NgaySinh><TyLeSoHuu>{owner['share']}</TyLeSoHuu>"
                f"<MaXaThuongTru>{owner['commune']}</MaXaThuongTru></ChuSuDung>"
            )
        return (
            f'  <ThuaDat MaThua={quoteattr(parcel["id"])} SoTo="{parcel["sheet"]}" '
            f'SoThua="{parcel["number"]}">'
            f"<DienTich>{parcel['area']}</DienTich>"
            f"<MucDichSuDung>{parcel['use']}</MucDichSuDung>"
            f"{self._place(parcel, province, day)}"
            f"<NgayCapNhat>{day.isoformat()}</NgayCapNhat>" + "".join(owners) + "</ThuaDat>\n"
        )


def _text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
