"""ndc.synthetic.business_registry: the weekly XLSX files of the business registry."""

from __future__ import annotations

import re
from datetime import datetime

import openpyxl

from ndc.synthetic import GenerationSummary
from tests.unit.synthetic_files import BUSINESS_HEADER


def test_xlsx_readable_with_exact_header(country11: GenerationSummary) -> None:
    dates = 0
    for path in sorted((country11.out / "business_registry" / "inbox").glob("*.xlsx")):
        wb = openpyxl.load_workbook(path)
        assert wb.sheetnames == ["DoanhNghiep"]
        rows = list(wb["DoanhNghiep"].iter_rows(values_only=True))
        assert list(rows[0]) == BUSINESS_HEADER
        assert wb.properties.modified == datetime(2025, 1, 1)
        for row in rows[1:]:
            assert re.fullmatch(r"\d{10}", row[0])
            dates += isinstance(row[3], datetime)
    assert dates > 10
