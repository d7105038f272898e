"""Stampede protection: the Redis lock, HotCache modes, and the deterministic stampede simulation."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scalekit import workload
from scalekit.caches.stampede import HotCache, acquire_lock, release_lock, simulate_stampede
from scalekit.clock import RealClock, SimClock


def test_lock_is_exclusive_and_released_only_by_its_holder(redis, ns):
    name = ns.key("lock")
    token = acquire_lock(redis, name, ttl=5)
    assert token is not None
    assert acquire_lock(redis, name, ttl=5) is None
    assert not release_lock(redis, name, "someone-else")
    assert redis.get(name) == token
    assert release_lock(redis, name, token)
    assert acquire_lock(redis, name, ttl=5) is not None


def test_crashed_holder_frees_the_lock_through_its_ttl(redis, ns):
    name = ns.key("lock")
    crashed = acquire_lock(redis, name, ttl=0.05)
    time.sleep(0.2)
    successor = acquire_lock(redis, name, ttl=5)
    assert successor is not None
    assert not release_lock(redis, name, crashed)
    assert redis.get(name) == successor


def test_get_loads_once_then_hits_and_expires_on_the_clock(redis, ns):
    clock = SimClock()
    hot = HotCache(redis, prefix=ns.prefix, ttl=10, protection="lock", clock=clock)
    calls = []

    def loader(key: str) -> str:
        calls.append(key)
        clock.advance(0.5)
        return f"value-{len(calls)}"

    assert hot.get("k", loader) == "value-1"
    assert hot.get("k", loader) == "value-1"
    clock.advance(10)
    assert hot.get("k", loader) == "value-2"
    assert calls == ["k", "k"]
    assert redis.get(hot.lock_key("k")) is None


def test_waiting_reader_takes_over_when_the_holder_vanished(redis, ns):
    clock = SimClock()
    hot = HotCache(redis, prefix=ns.prefix, protection="lock", lock_ttl=0.05, clock=clock)
    assert acquire_lock(redis, hot.lock_key("k"), ttl=0.05) is not None
    assert hot.lookup("k").action == "wait"
    time.sleep(0.2)
    assert hot.get("k", lambda key: "fresh") == "fresh"


@pytest.mark.parametrize("protection", ["lock", "xfetch+lock"])
def test_threads_behind_a_barrier_run_one_loader(redis, ns, protection):
    """Real concurrency: 8 threads miss together; the lock lets exactly one load."""
    hot = HotCache(redis, prefix=ns.prefix, protection=protection, lock_ttl=10, seed=1)
    barrier = threading.Barrier(8)
    calls, results = [], []

    def loader(key: str) -> str:
        calls.append(key)
        time.sleep(0.05)
        return "loaded"

    def reader() -> None:
        barrier.wait()
        results.append(hot.get("k", loader, retry=0.005))

    threads = [threading.Thread(target=reader) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["loaded"] * 8
    assert len(calls) == 1


def test_simulation_without_protection_stampedes_and_lock_prevents_it(redis, ns):
    arrivals = workload.poisson_arrivals(800, 2.5, seed=7)
    result = {}
    for mode in ("none", "lock", "xfetch+lock"):
        hot = HotCache(redis, prefix=ns.key(mode), ttl=2.0, protection=mode, clock=SimClock(), seed=5)
        result[mode] = simulate_stampede(hot, arrivals, load_time=0.1)
    first_miss = arrivals[arrivals >= 2.0][0]
    in_window = int(np.sum((arrivals >= 2.0) & (arrivals < first_miss + 0.1)))
    assert result["none"].loader_calls == in_window > 10
    assert result["none"].max_concurrent_loads == in_window
    assert result["lock"].loader_calls == 1
    assert result["lock"].waits > 0
    assert result["xfetch+lock"].loader_calls == 1
    assert all(len(r.latencies) == r.readers == arrivals.size for r in result.values())


def test_early_loads_count_reloads_of_a_value_that_was_still_fresh(redis, ns):
    """XFetch reloads before expiry, a lock reloads after it: early_loads tells them apart."""
    arrivals = 1.0 + workload.poisson_arrivals(200, 1.5, seed=3)
    early = {}
    for mode in ("none", "lock", "xfetch", "xfetch+lock"):
        hot = HotCache(redis, prefix=ns.key(mode), ttl=2.0, protection=mode, clock=SimClock(), seed=5)
        result = simulate_stampede(hot, arrivals, load_time=0.1)
        early[mode] = (hot.early_loads, result.loader_calls)
    assert early["none"][0] == 0 and early["lock"][0] == 0
    assert early["xfetch"][0] == early["xfetch"][1] >= 1
    assert early["xfetch+lock"] == (1, 1)


def test_simulation_is_repeatable(redis, ns):
    arrivals = workload.poisson_arrivals(300, 2.5, seed=3)
    counts = []
    for run in range(2):
        hot = HotCache(
            redis,
            prefix=ns.key(run),
            ttl=2.0,
            protection="xfetch",
            clock=SimClock(),
            rng=np.random.default_rng(11),
        )
        result = simulate_stampede(hot, arrivals, load_time=0.1)
        counts.append((result.loader_calls, result.max_concurrent_loads, result.latencies))
    assert counts[0] == counts[1]


@settings(max_examples=15)
@given(
    rate=st.integers(1, 400),
    horizon=st.floats(0.5, 6.0),
    ttl=st.floats(0.5, 3.0),
    load_time=st.floats(0.01, 0.4),
    seed=st.integers(0, 1000),
)
def test_lock_never_runs_two_loaders_at_once(redis, ns, rate, horizon, ttl, load_time, seed):
    arrivals = workload.poisson_arrivals(rate, horizon, seed=seed)
    for mode in ("lock", "xfetch+lock"):
        hot = HotCache(
            redis,
            prefix=ns.key(mode, seed),
            ttl=ttl,
            protection=mode,
            clock=SimClock(),
            rng=np.random.default_rng(seed),
        )
        result = simulate_stampede(hot, arrivals, load_time=load_time, retry=0.05)
        assert result.max_concurrent_loads <= 1
        assert len(result.latencies) == result.readers
        assert all(latency >= 0 for latency in result.latencies)


def test_bad_arguments_are_clear_errors(redis, ns):
    with pytest.raises(ValueError, match="protection"):
        HotCache(redis, protection="magic")
    with pytest.raises(ValueError, match="ttl"):
        HotCache(redis, ttl=0)
    with pytest.raises(ValueError, match="beta"):
        HotCache(redis, beta=0)
    with pytest.raises(ValueError, match="ttl"):
        acquire_lock(redis, ns.key("x"), ttl=0)
    with pytest.raises(ValueError, match="lock ttl must be a finite number"):
        acquire_lock(redis, ns.key("x"), ttl=float("inf"))
    with pytest.raises(ValueError, match="lock_ttl must be a finite number"):
        HotCache(redis, lock_ttl=float("inf"))
    with pytest.raises(ValueError, match="SimClock"):
        simulate_stampede(HotCache(redis, prefix=ns.prefix), np.array([0.5]))


def test_failing_loader_releases_the_lock_and_raises(redis, ns):
    hot = HotCache(redis, prefix=ns.prefix, protection="lock", lock_ttl=60)

    def broken(key: str) -> str:
        raise RuntimeError("database timeout")

    with pytest.raises(RuntimeError, match="database timeout"):
        hot.get("k", broken)
    assert redis.get(hot.lock_key("k")) is None
    assert hot.get("k", lambda key: "recovered") == "recovered"


def test_lock_expiry_runs_on_the_sim_clock(redis, ns):
    """A reader behind a vanished holder waits lock_ttl seconds of simulated time, not real time."""
    clock = SimClock()
    hot = HotCache(redis, prefix=ns.prefix, protection="lock", lock_ttl=1.0, clock=clock)
    vanished = hot.lookup("k")
    assert vanished.action == "load"
    assert hot.lookup("k").action == "wait"
    assert hot.get("k", lambda key: "fresh", retry=0.25) == "fresh"
    assert clock.now() == pytest.approx(1.0)
    assert not release_lock(redis, hot.lock_key("k"), vanished.token)


def test_xfetch_needs_a_seed_or_rng(redis, ns):
    with pytest.raises(ValueError, match="seed"):
        HotCache(redis, prefix=ns.prefix, protection="xfetch")
    with pytest.raises(ValueError, match="seed"):
        HotCache(redis, prefix=ns.prefix, protection="xfetch+lock")
    assert HotCache(redis, prefix=ns.prefix, protection="xfetch", seed=3).rng is not None
    assert HotCache(redis, prefix=ns.prefix, protection="lock").rng is None


def test_real_clock_keeps_the_lock_expiring_in_redis(redis, ns):
    hot = HotCache(redis, prefix=ns.prefix, protection="lock", lock_ttl=30, clock=RealClock())
    assert hot.lookup("k").action == "load"
    assert 0 < redis.pttl(hot.lock_key("k")) <= 30_000


def test_a_value_that_cannot_be_cached_releases_the_lock_and_raises(redis, ns):
    """The loader succeeded but its value is not JSON: the lock must not stay taken for lock_ttl."""
    hot = HotCache(redis, prefix=ns.prefix, protection="lock", lock_ttl=60)
    with pytest.raises(TypeError):
        hot.get("k", lambda key: object())
    assert redis.get(hot.lock_key("k")) is None
    assert redis.get(hot.key("k")) is None
    assert hot.get("k", lambda key: "recovered") == "recovered"


@pytest.mark.parametrize("retry", [0, -1, float("nan"), float("inf")])
def test_a_meaningless_retry_is_a_clear_error_not_a_spin(redis, ns, retry):
    hot = HotCache(redis, prefix=ns.prefix, protection="lock", clock=SimClock())
    with pytest.raises(ValueError, match="retry must be a finite number"):
        hot.get("k", lambda key: "v", retry=retry)
    assert redis.get(hot.lock_key("k")) is None


@pytest.mark.parametrize("beta", [float("nan"), float("inf")])
def test_beta_must_be_finite(redis, beta):
    with pytest.raises(ValueError, match="beta"):
        HotCache(redis, beta=beta)


@pytest.mark.parametrize("protection", ["none", "lock", "xfetch+lock"])
@pytest.mark.parametrize("garbage", ["not json", "[1]", '{"v": 1}', '{"v": 1, "exp": "later", "delta": 0}'])
def test_a_corrupt_entry_is_reloaded_and_overwritten(redis, ns, protection, garbage):
    hot = HotCache(redis, prefix=ns.prefix, protection=protection, clock=SimClock(), seed=1)
    redis.set(hot.key("k"), garbage)
    assert hot.get("k", lambda key: "fresh") == "fresh"
    assert hot.get("k", lambda key: "again") == "fresh"
    assert hot.loads == 1


def test_on_real_time_redis_drops_entries_nobody_reads_again(redis, ns):
    """fill() used a plain SET: on real time every key ever filled stayed in Redis forever."""
    hot = HotCache(redis, prefix=ns.prefix, ttl=60.0)
    hot.fill("k", 1, 0.1)
    assert 60_000 < redis.pttl(hot.key("k")) <= 120_000
    simulated = HotCache(redis, prefix=ns.key("sim"), ttl=60.0, clock=SimClock())
    simulated.fill("k", 1, 0.1)
    assert redis.pttl(simulated.key("k")) == -1
