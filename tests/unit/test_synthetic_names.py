"""ndc.synthetic.names: names as legacy systems hold them."""

from __future__ import annotations

from ndc.synthetic.names import legacy_upper


def test_legacy_upper() -> None:
    assert legacy_upper("Đặng Văn Đức") == "DANG VAN DUC"
    assert legacy_upper("Nguyễn Thị Hồng Nhung") == "NGUYEN THI HONG NHUNG"
