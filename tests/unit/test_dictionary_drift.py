"""dbt accepted_values tests checked against the dictionary (docs: test_dictionary_elements)."""

from pathlib import Path

from ndc.dictionary.checks import check_accepted_values


def test_accepted_values_of_coded_columns_are_the_dictionary_code_lists() -> None:
    assert check_accepted_values() == []


def test_a_drifted_accepted_values_test_is_reported(tmp_path: Path) -> None:
    (tmp_path / "_x__models.yml").write_text(
        """
version: 2
models:
  - name: people
    columns:
      - name: sex_code
        data_tests:
          - accepted_values:
              arguments:
                values: ["1", "2", "9"]
      - name: quarantine_reason_code
        data_tests:
          - accepted_values:
              arguments:
                values: [PID_MISSING, NAME_TOO_LONG]
""",
        encoding="utf-8",
    )
    problems = check_accepted_values(tmp_path)
    assert len(problems) == 2
    assert "people.sex_code" in problems[0] and "'sex'" in problems[0]
    assert "NAME_TOO_LONG" in problems[1]
