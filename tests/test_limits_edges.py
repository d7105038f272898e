"""The limiters at their edges: exact retry-after, clocks that disagree, expiry, and bad settings."""

from __future__ import annotations

import numpy as np
import pytest

from scalekit.clock import SimClock
from scalekit.limits import (
    GCRA,
    FixedWindow,
    FixedWindowModel,
    GCRAModel,
    SlidingLog,
    SlidingLogModel,
    TokenBucket,
    TokenBucketModel,
)

EPOCH = 1.8e9  # a WallClock reads seconds since 1970: floats there are coarse (about 2e-7 s apart)


def _limiters(ns, trial: int, rate: float, size: int, window: float, clock: SimClock):
    yield TokenBucket(ns.client, ns.key(f"tb{trial}"), rate, size, clock=clock)
    yield GCRA(ns.client, ns.key(f"g{trial}"), rate, size, clock=clock)
    yield FixedWindow(ns.client, ns.key(f"f{trial}"), size, window, clock=clock)
    yield SlidingLog(ns.client, ns.key(f"s{trial}"), size, window, clock=clock)


def test_a_client_that_waits_exactly_retry_after_passes(ns):
    rng = np.random.default_rng(11)
    for trial in range(40):
        rate = float(rng.choice([1 / 3, 0.7, 3.0, 7.0, 1 / 7]))
        size = int(rng.integers(1, 5))
        window = float(rng.choice([0.1, 0.3, 2 / 3, 1.1, 60.0]))
        start = float(np.round(rng.uniform(0, 1_000), 3)) + float(rng.choice([0.0, EPOCH]))
        clock = SimClock(start)
        for limiter in _limiters(ns, trial, rate, size, window, clock):
            own = SimClock(start)
            limiter.clock = own
            for _ in range(25):
                own.advance(float(rng.choice([0.0, 0.013, 0.1, 1 / 3])))
                refused = limiter.check("u")
                if refused.allowed:
                    continue
                own.advance(refused.retry_after)
                assert limiter.check("u").allowed, (type(limiter).__name__, start, refused)


@pytest.mark.parametrize(
    "model",
    [
        lambda: TokenBucketModel(3.0, 2),
        lambda: GCRAModel(3.0, 2),
        lambda: FixedWindowModel(2, 2 / 3),
        lambda: SlidingLogModel(2, 0.3),
    ],
)
def test_the_models_retry_after_is_exact_too(model):
    rng = np.random.default_rng(5)
    for _ in range(20):
        limiter, now = model(), EPOCH + float(np.round(rng.uniform(0, 100), 3))
        while (decision := limiter.check(now)).allowed:
            now += 0.01
        assert limiter.check(now + decision.retry_after).allowed


def test_token_bucket_retry_after_counts_a_server_whose_clock_ran_ahead(ns):
    ahead, behind = SimClock(101.0), SimClock(100.0)
    fast = TokenBucket(ns.client, ns.key("skew"), 2.0, 2, clock=ahead)
    slow = TokenBucket(ns.client, ns.key("skew"), 2.0, 2, clock=behind)
    assert fast.check("u").allowed and fast.check("u").allowed
    refused = slow.check("u")
    assert not refused.allowed
    assert refused.retry_after == pytest.approx(1.0 + 0.5)
    behind.advance(refused.retry_after * 0.999)
    assert not slow.check("u").allowed
    behind.advance_to(100.0 + refused.retry_after)
    assert slow.check("u").allowed
    model = TokenBucketModel(2.0, 2)
    model.check(101.0), model.check(101.0)
    assert model.check(100.0).retry_after == pytest.approx(1.5)


def test_a_fixed_window_counter_does_not_outlive_its_window_by_the_idle_time(redis, ns):
    limiter = FixedWindow(ns.client, ns.key("short"), 5, 1.0, clock=SimClock(10.25), idle_ttl=60)
    limiter.check("u")
    ttl_ms = ns.client.pttl(limiter.window_key("u", 10.25))
    assert 0 < ttl_ms <= 1_750, "one more window at most, not a minute of dead counters"
    long_window = FixedWindow(ns.client, ns.key("long"), 5, 3_600.0, clock=SimClock(0.0), idle_ttl=60)
    long_window.check("u")
    assert 3_600_000 < ns.client.pttl(long_window.window_key("u", 0.0)) <= 3_660_000


def test_numpy_integers_are_whole_numbers(ns):
    clock = SimClock()
    assert TokenBucket(ns.client, ns.key("np"), 1.0, 5, clock=clock).check("u", np.int64(2)).remaining == 3
    assert FixedWindow(ns.client, ns.key("npw"), np.int64(3), 1.0, clock=clock).check("u").remaining == 2


class _BrokenClock:
    def now(self) -> float:
        return float("nan")

    def sleep(self, seconds: float) -> None: ...


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda c: TokenBucket(c, "p", 1, 5, idle_ttl=float("inf")), "idle_ttl"),
        (lambda c: TokenBucket(c, "p", 1, 5, idle_ttl="60"), "idle_ttl"),
        (lambda c: TokenBucket(c, "p", "5", 5), "rate must be a number"),
        (lambda c: GCRA(c, "p", True, 5), "rate must be a number"),
        (lambda c: TokenBucket(c, "p", 1, 1e308), "31,700 years"),
        (lambda c: GCRA(c, "p", 1e-12, 5), "31,700 years"),
        (lambda c: SlidingLog(c, "p", 5, 1e15), "31,700 years"),
        (lambda c: FixedWindow(c, "p", 10**20, 1), "2\\*\\*53"),
        (lambda c: TokenBucket(c, "p", 1, 5, clock=_BrokenClock()).check("u"), "clock gave nan"),
        (lambda c: TokenBucketModel(1e-12, 5), "31,700 years"),
    ],
)
def test_settings_redis_cannot_keep_are_a_clear_value_error(redis, make, message):
    with pytest.raises(ValueError, match=message):
        make(redis)
