from __future__ import annotations

from smartfab.platform.security.ratelimit import RateLimiter


def test_a_burst_then_the_rate() -> None:
    limiter = RateLimiter(rate=0.5, burst=3)
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.take("a")
    assert 1.5 < wait <= 2.0  # one request per 2 s
    assert limiter.take("b") == 0.0  # per key


def test_memory_stays_bounded() -> None:
    limiter = RateLimiter(rate=1, burst=2, max_keys=100)
    for i in range(1000):
        limiter.take(f"client-{i}")
    assert len(limiter._buckets) <= 100
