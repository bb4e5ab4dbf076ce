"""The test suite's own layout: pytest (rootdir-relative, no __init__.py) imports test modules
by their base name, so two test files of one name in different folders fail the whole run
with "import file mismatch"."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_test_module_names_are_unique_across_folders():
    names = Counter(p.name for p in TESTS.rglob("test_*.py"))
    assert [n for n, count in names.items() if count > 1] == []
