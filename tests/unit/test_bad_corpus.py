"""The bad-input corpus kept in the repository is what its generator writes (run
scripts/make_bad_corpus.py after changing a case), and it covers what issue 13 lists."""

from ndc.reliability.corpus import CORPUS_DIR, generate, load_cases


def test_the_corpus_in_the_repository_is_the_generators(tmp_path):
    generate(tmp_path)
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    kept = sorted(p.relative_to(CORPUS_DIR) for p in CORPUS_DIR.rglob("*") if p.is_file())
    assert written == kept
    stale = [p for p in written if (tmp_path / p).read_bytes() != (CORPUS_DIR / p).read_bytes()]
    assert stale == [], "run scripts/make_bad_corpus.py and commit tests/corpus/bad_input"


def test_the_corpus_covers_every_kind_of_source_and_outcome():
    cases = load_cases()
    assert len(cases) >= 50
    kinds = {c.name.rsplit(".", 1)[-1] for c in cases}
    assert kinds >= {"csv", "xlsx", "xml", "json", "sqlite"}
    assert {c.expect for c in cases} == {"loaded", "set_aside", "error"}
