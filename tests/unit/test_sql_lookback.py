"""How far below its watermark an incremental SQL extract reads again (ndc.extract.sql)."""

from ndc.extract.sql import lookback_floor


def test_the_floor_keeps_the_watermark_s_own_text_form():
    assert lookback_floor("2025-06-01 09:30:00", 3600) == "2025-06-01 08:30:00"
    assert lookback_floor("2025-06-01T00:10:00", 900) == "2025-05-31T23:55:00"
    assert lookback_floor("2025-06-01 09:30:00.250000", 60) == "2025-06-01 09:29:00.250000"


def test_no_floor_without_a_look_back_a_first_run_or_a_timestamp():
    assert lookback_floor("2025-06-01 09:30:00", 0) is None
    assert lookback_floor(None, 3600) is None
    assert lookback_floor("v42", 3600) is None  # a version counter, not a time
