"""Token bucket, GCRA and window limiters on Redis against their plain-Python models on a SimClock."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

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
from scalekit.routers import cluster_slot

LIMITERS = [
    (TokenBucket, TokenBucketModel, 4.0, 6),
    (GCRA, GCRAModel, 4.0, 6),
    (FixedWindow, FixedWindowModel, 6, 1.5),
    (SlidingLog, SlidingLogModel, 6, 1.5),
]
_clients = itertools.count()

gaps = st.lists(
    st.tuples(st.floats(min_value=0, max_value=2.0, allow_nan=False), st.integers(min_value=1, max_value=3)),
    min_size=1,
    max_size=60,
)


@pytest.mark.parametrize(("limiter", "model", "a", "b"), LIMITERS, ids=lambda v: getattr(v, "__name__", v))
@given(steps=gaps)
def test_redis_limiter_matches_its_model(ns, limiter, model, a, b, steps):
    clock = SimClock(1_000.0)
    redis_side = limiter(ns.client, ns.key("m"), a, b, clock=clock)
    reference = model(a, b)
    who = f"client-{next(_clients)}"
    for gap, cost in steps:
        clock.advance(gap)
        assert redis_side.check(who, cost) == reference.check(clock.now(), cost)


def _stream(seed: int, n: int = 600) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 1_000.0 + np.cumsum(rng.exponential(0.05, n) * rng.choice([0.1, 1, 10], n, p=[0.5, 0.4, 0.1]))


def _most_in_any_window(times: list[float], window: float, *, closed: bool) -> int:
    stamps = np.asarray(times)
    ends = np.searchsorted(stamps, stamps + window, side="right" if closed else "left")
    return int((ends - np.arange(stamps.size)).max())


@pytest.mark.parametrize("model", [TokenBucketModel, GCRAModel])
def test_bucket_never_lets_more_than_burst_plus_rate_times_window(model):
    rate, burst = 5.0, 8
    for seed in range(5):
        limiter = model(rate, burst)
        passed = [t for t in _stream(seed).tolist() if limiter.check(t).allowed]
        for window in (0.1, 0.5, 1.0, 3.0):
            assert _most_in_any_window(passed, window, closed=True) <= burst + rate * window + 1e-6


def test_gcra_and_token_bucket_agree_away_from_ties():
    for seed in range(5):
        bucket, gcra = TokenBucketModel(5.0, 8), GCRAModel(5.0, 8)
        rng = np.random.default_rng(seed)
        times = 1_000.0 + np.cumsum(np.round(rng.exponential(0.1, 500), 3) + 0.0005)
        assert [bucket.check(t).allowed for t in times] == [gcra.check(t).allowed for t in times]


def test_sliding_log_never_exceeds_the_limit_in_any_window():
    for seed in range(5):
        limiter = SlidingLogModel(10, 1.0)
        passed = [t for t in _stream(seed).tolist() if limiter.check(t).allowed]
        assert _most_in_any_window(passed, 1.0, closed=False) <= 10


def test_fixed_window_lets_twice_the_limit_through_across_a_boundary(ns):
    clock = SimClock(0.0)
    limiter = FixedWindow(ns.client, ns.key("fw"), 10, 60.0, clock=clock)
    clock.advance_to(59.0)
    first = [limiter.check("u").allowed for _ in range(15)]
    clock.advance_to(60.5)
    second = [limiter.check("u").allowed for _ in range(15)]
    assert sum(first) == sum(second) == 10
    sliding = SlidingLog(ns.client, ns.key("sl"), 10, 60.0, clock=clock)
    clock.advance_to(119.0)
    late = sum(sliding.check("u").allowed for _ in range(15))
    clock.advance_to(120.5)
    early = sum(sliding.check("u").allowed for _ in range(15))
    assert (late, early) == (10, 0)


def test_retry_after_is_exactly_when_the_request_passes(ns):
    clock = SimClock(10.0)
    for limiter in (
        TokenBucket(ns.client, ns.key("tb"), 2.0, 3, clock=clock),
        GCRA(ns.client, ns.key("g"), 2.0, 3, clock=clock),
        FixedWindow(ns.client, ns.key("f"), 3, 1.0, clock=clock),
        SlidingLog(ns.client, ns.key("s"), 3, 1.0, clock=clock),
    ):
        while limiter.check("u").allowed:
            clock.advance(0.01)
        refused = limiter.check("u", 1)
        assert not refused.allowed and refused.retry_after > 0
        clock.advance(refused.retry_after * 0.99)
        assert not limiter.check("u").allowed, type(limiter).__name__
        clock.advance(refused.retry_after * 0.02)
        assert limiter.check("u").allowed, type(limiter).__name__


def test_clients_are_independent_and_keys_carry_one_hash_tag_per_client(ns):
    clock = SimClock()
    limiter = SlidingLog(ns.client, ns.key("tags"), 1, 10.0, clock=clock)
    fixed = FixedWindow(ns.client, ns.key("tags"), 1, 10.0, clock=clock)
    assert limiter.check("alice").allowed and limiter.check("bob").allowed
    assert not limiter.check("alice").allowed
    assert fixed.check("alice").allowed
    keys = [limiter.key("alice"), fixed.window_key("alice", clock.now())]
    assert sorted(keys) == [k for k in ns.keys() if "alice" in k]
    assert len({cluster_slot(k) for k in keys}) == 1
    assert all("{alice}" in k for k in keys)
    assert cluster_slot(limiter.key("bob")) != cluster_slot(limiter.key("alice"))


def test_idle_keys_expire_on_the_server(ns):
    limiter = TokenBucket(ns.client, ns.key("ttl"), 1.0, 5, clock=SimClock(), idle_ttl=30)
    limiter.check("u", 3)
    ttl_ms = ns.client.pttl(limiter.key("u"))
    assert 30_000 < ttl_ms <= 35_000


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda c: TokenBucket(c, "p", 0, 5), "rate"),
        (lambda c: TokenBucket(c, "p", 1, float("nan")), "burst"),
        (lambda c: GCRA(c, "p{x}", 1, 5), "braces"),
        (lambda c: FixedWindow(c, "p", 0, 1), "limit"),
        (lambda c: SlidingLog(c, "p", 5, -1), "window"),
        (lambda c: TokenBucket(c, "p", 1, 5).check("u", 6), "never pass"),
        (lambda c: GCRA(c, "p", 1, 5).check("u", 0), "cost"),
        (lambda c: FixedWindow(c, "p", 5, 1).check("{u}"), "client id"),
    ],
)
def test_bad_input_is_a_clear_value_error(redis, make, message):
    with pytest.raises(ValueError, match=message):
        make(redis)
