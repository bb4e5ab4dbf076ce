"""ndc.synthetic.education: the education system's tables."""

from __future__ import annotations

import pandas as pd

from ndc.synthetic import GenerationSummary
from ndc.synthetic.pid import decode_personal_id
from ndc.synthetic.population import ETHNICITY_2008
from tests.unit.synthetic_files import flagged_records, read_table


def test_clean_students_decode_and_are_of_school_age(country11: GenerationSummary) -> None:
    flagged = flagged_records(country11.out)
    students = read_table(country11.out / "education" / "education.sqlite", "students")
    for row in students.itertuples():
        if ("education", row.student_id) in flagged:
            continue
        decoded = decode_personal_id(row.citizen_id)
        assert decoded["sex"] == ("male" if row.gender == "M" else "female")
        assert decoded["birth_year"] == int(row.date_of_birth[:4])
        assert row.ethnicity_code in ETHNICITY_2008
    years = pd.to_numeric(students["date_of_birth"].str[:4], errors="coerce").dropna()
    assert (2025 - years).between(5, 19).mean() > 0.9
