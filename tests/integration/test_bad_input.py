"""Bad input through the real extract and load (PostgreSQL): a bad file is set aside, the good
ones load, the report lists it; and the whole bad-input corpus (tests/corpus/bad_input) ends
per file as expected, with no crash and every row counted."""

import time

import pytest

from ndc.extract import extract_source
from ndc.landing import LocalLandingZone
from ndc.load import load_source
from ndc.reliability.corpus import CORPUS_DIR, load_cases, run_corpus, summarise
from ndc.report import format_report, set_aside_files
from ndc.warehouse import bootstrap, connect
from tests.conftest import write_csv
from tests.unit.test_extract_files import HEADER, ROW

pytestmark = pytest.mark.integration


def test_a_bad_file_is_set_aside_and_the_good_one_loads(registry, pg_database, tmp_path):
    """The new user's try of issue 13: an empty file and one with a missing column beside a
    good province file."""
    source = registry["civil_registration"]
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "births_01_20250601.csv").write_bytes(b"")
    write_csv(inbox / "births_02_20250601.csv", HEADER[:-1], [ROW[:-1]])
    write_csv(inbox / "births_79_20250601.csv", HEADER, [ROW, [*ROW[:1], *ROW[1:]]])
    landing = LocalLandingZone(tmp_path / "landing")
    bootstrap(pg_database, registry)

    extracted = extract_source(source, str(inbox), landing, "2025-06-01")
    assert extracted.errors == [] and len(extracted.set_aside) == 2
    loaded = load_source(pg_database, landing, source)
    assert loaded.rows == 2 and loaded.set_aside == 2
    with connect(pg_database) as conn:
        aside = set_aside_files(conn)
        rows = conn.execute("select count(*) from raw.civil_registration__birth").fetchone()[0]
    assert rows == 2
    assert [(r["file"], r["reason"], r["row"]) for r in aside] == [
        ("births_01_20250601.csv", "empty_file", 0),
        ("births_02_20250601.csv", "missing_columns", 0),
    ]
    text = format_report({"sources": {}, "population": {"citizens": 0}, "set_aside": aside})
    assert "2 file(s) set aside" in text and "[missing_columns]" in text

    # Loaded again (the next run): the same records, not doubled.
    extract_source(source, str(inbox), landing, "2025-06-02")
    assert load_source(pg_database, landing, source).set_aside == 2
    with connect(pg_database) as conn:
        n = conn.execute("select count(*) from ops.file_quarantine").fetchone()[0]
    assert n == 2

    # The corrected file replaces the set-aside one: it loads and leaves the report.
    write_csv(inbox / "births_02_20250601.csv", HEADER, [ROW])
    extract_source(source, str(inbox), landing, "2025-06-03")
    assert load_source(pg_database, landing, source).rows == 1
    with connect(pg_database) as conn:
        assert [r["file"] for r in set_aside_files(conn)] == ["births_01_20250601.csv"]


def test_the_bad_input_corpus(pg_database, tmp_path):
    cases = load_cases()
    assert len(cases) >= 50
    assert sum(p.stat().st_size for p in CORPUS_DIR.rglob("*") if p.is_file()) < 1 << 20
    started = time.monotonic()
    outcomes = run_corpus(pg_database, work=tmp_path)
    took = time.monotonic() - started
    assert len(outcomes) == len(cases)
    wrong = [
        f"{o.case.source}/{o.case.name}: {o.outcome} [{o.reason}] expected {o.case.expect} "
        f"[{o.case.reason}]: {o.message[:200]}"
        for o in outcomes
        if not o.as_expected
    ]
    assert wrong == []
    unbalanced = [
        (o.case.name, o.rows_in, o.rows_loaded, o.rows_set_aside, o.rows_in_error)
        for o in outcomes
        if not o.balanced
    ]
    assert unbalanced == []
    for o in outcomes:
        if o.outcome in ("set_aside", "error"):
            # The message names the source and the file, response or table.
            assert o.message.startswith(o.case.source), o.message
            assert o.case.name.split(".")[0][:20] in o.message or "table" in o.message, o.message
    summary = summarise(outcomes)
    print({"corpus": summary}, f"{took:.1f} s")
    assert summary["crashes"] == 0 and summary["balanced"]
    assert summary["files"] == len(cases)
    assert took < 60
