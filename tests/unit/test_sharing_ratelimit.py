"""The lookup service's token bucket, on a clock the test moves."""

import pytest

from ndc.sharing.ratelimit import RateLimiter


def test_a_burst_then_one_request_per_refill_and_agencies_apart():
    now = [0.0]
    limiter = RateLimiter(rate=2, burst=3, clock=lambda: now[0])
    assert [limiter.take("a") for _ in range(3)] == [None, None, None]
    assert limiter.take("a") == pytest.approx(0.5)  # one token comes back in 1/rate s
    assert limiter.take("b") is None  # another agency, another bucket
    now[0] = 0.5
    assert limiter.take("a") is None
    assert limiter.take("a") is not None
    now[0] = 100.0  # a long pause refills to the burst, not beyond
    assert [limiter.take("a") is None for _ in range(4)] == [True, True, True, False]


def test_a_limit_must_let_something_through():
    with pytest.raises(ValueError, match="rate must be > 0"):
        RateLimiter(rate=0, burst=1)
