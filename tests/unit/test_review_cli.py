"""`ndc review`: the commands print the queue, pass the decision and who made it, and turn a
refused decision into a clear error (the queue itself: tests/integration/test_linkage_flow.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner

from ndc.cli import main
from ndc.linkage import review as review_mod

QUEUED = {
    "review_id": 7,
    "source": "civil_registration",
    "entity": "death",
    "_batch_id": "deaths_01_20250701-abc",
    "_source_row": 12,
    "record_key": "KT-0012",
    "personal_id": "001085012345",
    "match_probability": 0.42,
    "model_version": "fb6e80307254",
    "queued_at": dt.datetime(2026, 12, 6, 14, 0, tzinfo=dt.UTC),
    "decision": None,
    "decided_by": None,
    "decided_at": None,
    "reason_code": "PID_MISSING",
}


@pytest.fixture
def calls(monkeypatch):
    seen: list[tuple] = []
    monkeypatch.setenv("NDC_WAREHOUSE_URL", "postgresql://nowhere/none")

    def fake_decide(url, review_id, decision, by):
        seen.append((url, review_id, decision, by))
        if review_id != 7:
            raise review_mod.ReviewError(f"no review {review_id} in ops.link_review")
        return QUEUED | {"decision": review_mod.DECISIONS[decision], "decided_by": by}

    monkeypatch.setattr(review_mod, "list_reviews", lambda url, everything=False: [QUEUED])
    monkeypatch.setattr(review_mod, "show_review", lambda url, rid: QUEUED | {"record": None})
    monkeypatch.setattr(review_mod, "decide", fake_decide)
    return seen


def test_list_prints_each_queued_link(calls):
    out = CliRunner().invoke(main, ["review", "list"])
    assert out.exit_code == 0, out.output
    assert "civil_registration.death deaths_01_20250701-abc#12" in out.output
    assert "001085012345" in out.output and "0.420" in out.output
    assert out.output.strip().endswith("1 link(s)")


def test_accept_records_who_decided(calls):
    out = CliRunner().invoke(main, ["review", "accept", "7", "--by", "clerk.a"])
    assert out.exit_code == 0, out.output
    assert calls == [("postgresql://nowhere/none", 7, "accept", "clerk.a")]
    assert "accepted by clerk.a" in out.output and "-> 001085012345" in out.output


def test_reject_defaults_to_the_os_user(calls, monkeypatch):
    monkeypatch.setattr("getpass.getuser", lambda: "operator")
    out = CliRunner().invoke(main, ["review", "reject", "7"])
    assert out.exit_code == 0, out.output
    assert calls[-1][2:] == ("reject", "operator")


def test_unknown_review_is_a_clear_error(calls):
    out = CliRunner().invoke(main, ["review", "accept", "99"])
    assert out.exit_code != 0
    assert "no review 99 in ops.link_review" in out.output


def test_show_prints_json(calls):
    out = CliRunner().invoke(main, ["review", "show", "7"])
    assert out.exit_code == 0, out.output
    assert '"reason_code": "PID_MISSING"' in out.output
