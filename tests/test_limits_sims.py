"""Load shedding, retry storms and tail latency: the simulations behind notebook 10."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scalekit import sim
from scalekit.limits import shedding, tail
from scalekit.limits.retries import RetryPolicy, retry_storm


def _overload(load: float, n: int = 4000, seed: int = 1):
    rng = np.random.default_rng(seed)
    return np.cumsum(rng.exponential(1 / (80 * load), n)), rng.exponential(0.1, n)


def test_fifo_serve_matches_the_kiefer_wolfowitz_pool_when_nothing_is_shed():
    arrivals, service = _overload(0.9)
    run = shedding.serve(arrivals, service, 8, patience=1e9)
    reference = sim.fifo_pool(arrivals, service, 8)
    np.testing.assert_allclose(run.waits, reference.waits)
    assert run.count(shedding.GOOD) == arrivals.size


def test_under_overload_fifo_collapses_and_bounded_queue_or_lifo_keep_goodput():
    arrivals, service = _overload(2.0)
    fifo = shedding.serve(arrivals, service, 8, patience=1.0)
    bounded = shedding.serve(arrivals, service, 8, patience=1.0, max_queue=40)
    lifo = shedding.serve(arrivals, service, 8, patience=1.0, discipline="lifo")
    assert fifo.goodput < 0.2 * 80
    assert bounded.goodput > 0.9 * 80 and lifo.goodput > 0.9 * 80
    assert bounded.count(shedding.REFUSED) > 0.4 * arrivals.size
    assert np.nanmax(bounded.waits) <= 40 * 0.1 * 3


def test_every_request_gets_exactly_one_outcome_and_refusals_only_with_a_bound():
    arrivals, service = _overload(1.5)
    for kwargs in ({}, {"max_queue": 0}, {"drop_expired": True}, {"discipline": "lifo", "max_queue": 5}):
        run = shedding.serve(arrivals, service, 4, patience=0.5, **kwargs)
        assert sum(run.summary().values()) == pytest.approx(1.0)
        served = ~np.isnan(run.waits)
        assert set(np.unique(run.outcome[~served])) <= {shedding.REFUSED, shedding.DROPPED}
        if "max_queue" not in kwargs:
            assert run.count(shedding.REFUSED) == 0
        if not kwargs.get("drop_expired"):
            assert run.count(shedding.DROPPED) == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"discipline": "random"}, "discipline"),
        ({"max_queue": -1}, "max_queue"),
        ({"patience": 0}, "patience"),
        ({"arrivals": np.array([0.0, np.nan])}, "finite"),
        ({"service": np.array([0.1, -0.1])}, "finite"),
    ],
)
def test_serve_refuses_bad_settings(kwargs, message):
    arrivals, service = _overload(1.0, n=10)
    if "arrivals" in kwargs or "service" in kwargs:
        arrivals = kwargs.pop("arrivals", arrivals[:2])
        service = kwargs.pop("service", service[:2])
    with pytest.raises(ValueError, match=message):
        shedding.serve(arrivals, service, 2, **{"patience": 1.0, **kwargs})


def test_fluid_admission_without_limit_matches_the_fluid_backlog_and_a_limit_caps_the_wait():
    offered = np.array([50.0, 150, 150, 150, 50, 50, 50, 50])
    plain = shedding.fluid_admission(offered, 100.0, 60.0, patience=30.0)
    assert plain.refused.sum() == 0
    backlog = sim.fluid_backlog(offered, 100.0, 60.0)
    assert plain.wait.max() == pytest.approx(backlog.max() / 100.0, rel=0.02)
    limited = shedding.fluid_admission(offered, 100.0, 60.0, patience=30.0, max_wait=5.0)
    assert limited.wait.max() <= 5.0 + 1e-9
    assert limited.timed_out.sum() == 0
    assert limited.refused.sum() == pytest.approx(3 * 50 * 60 - 5 * 100, rel=0.02)
    assert plain.timed_out.sum() > limited.refused.sum()


def test_retry_storm_without_retries_recovers_and_immediate_retries_stay_down():
    quiet = retry_storm(RetryPolicy("none", attempts=1))
    storm = retry_storm(RetryPolicy("immediate"))
    assert math.isfinite(quiet.recovered_after())
    assert storm.recovered_after() == math.inf
    assert storm.offered()[-100:].mean() > 100.0
    assert storm.goodput()[-100:].mean() < 5.0


def test_a_retry_budget_or_dropping_abandoned_requests_ends_the_storm():
    budget = retry_storm(RetryPolicy("budget", budget=0.1))
    dropped = retry_storm(RetryPolicy("immediate"), drop_expired=True)
    assert math.isfinite(budget.recovered_after())
    assert math.isfinite(dropped.recovered_after())
    assert (budget.retries[1:].sum()) <= 0.1 * budget.fresh.sum() + 1e-6


def test_retry_policy_backoff_and_validation():
    policy = RetryPolicy("b", base=0.5, multiplier=2, cap=3)
    assert [policy.backoff(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    with pytest.raises(ValueError, match="budget"):
        RetryPolicy("x", budget=1.5)
    with pytest.raises(ValueError, match="attempts"):
        RetryPolicy("x", attempts=0)


def test_tail_closed_forms_match_simulation():
    shard = tail.LatencyMix()
    assert shard.cdf(shard.quantile(0.99)) == pytest.approx(0.99)
    for n in (1, 10, 100):
        simulated = np.percentile(tail.fanout_sample(shard, n, 40_000, seed=n), 99)
        assert simulated == pytest.approx(tail.fanout_quantile(shard, n, 0.99), rel=0.05)
    delay = shard.quantile(0.95)
    latency, extra = tail.hedged_sample(shard, delay, 200_000, seed=5)
    assert extra == pytest.approx(0.05, abs=0.003)
    assert np.percentile(latency, 99) == pytest.approx(tail.hedged_quantile(shard, delay, 0.99), rel=0.05)
    assert tail.hedged_quantile(shard, delay, 0.99) < shard.quantile(0.99) / 2


def test_fanout_quantile_is_the_single_shard_quantile_at_q_to_the_one_over_n():
    shard = tail.LatencyMix(slow_share=0.0)
    assert tail.fanout_quantile(shard, 100, 0.5) == pytest.approx(shard.quantile(0.5 ** (1 / 100)))
    with pytest.raises(ValueError, match="fan-out"):
        tail.fanout_quantile(shard, 0, 0.5)
    with pytest.raises(ValueError, match="quantile"):
        shard.quantile(1.0)


def test_fluid_admission_on_the_black_friday_ramp_agrees_with_sim_worst_fifo_wait():
    minutes = np.arange(-5, 40)
    traffic = np.where(minutes >= 0, 10e6, 1e6)
    capacity = np.clip(100 + 60 * np.clip(minutes, 0, None), 100, 1_000) * 12_500.0
    open_door = shedding.fluid_admission(traffic, capacity, 60.0, patience=10.0)
    assert open_door.wait.max() == pytest.approx(sim.worst_fifo_wait(traffic, capacity, 60.0), rel=0.01)
    limited = shedding.fluid_admission(traffic, capacity, 60.0, patience=10.0, max_wait=1.0)
    assert limited.timed_out.sum() == 0 and limited.wait.max() <= 1.0 + 1e-9
    assert limited.admitted.sum() + limited.refused.sum() == pytest.approx(traffic.sum() * 60)
    assert (limited.admitted - limited.timed_out).sum() > 5 * (open_door.admitted - open_door.timed_out).sum()


def test_a_client_whose_request_the_server_drops_still_retries():
    """The client gave up at its timeout and does not know the server skipped its copy."""
    run = retry_storm(RetryPolicy("immediate"), drop_expired=True)
    refused_by_time = run.fresh.sum() - run.good.sum()
    assert refused_by_time > 500, "the spike must push some requests past their timeout"
    assert run.retries.sum() > 0.5 * refused_by_time


def test_goodput_never_exceeds_what_the_servers_can_do():
    """Answers given while the queue drains after the last arrival do not count."""
    rng = np.random.default_rng(4)
    for load in (1.5, 3.0):
        arrivals = np.cumsum(rng.exponential(1 / (80 * load), 5000))
        service = np.full(5000, 0.1)
        for options in ({"max_queue": 40}, {"discipline": "lifo"}):
            run = shedding.serve(arrivals, service, 8, patience=1.0, **options)
            most = 8 * math.ceil(run.duration / 0.1) / run.duration
            assert 0.9 * 80 < run.goodput <= most, (load, options, run.goodput)


@pytest.mark.parametrize(
    "make",
    [
        lambda: RetryPolicy("nan", base=float("nan")),
        lambda: RetryPolicy("window", budget=0.1, budget_window=0),
        lambda: retry_storm(RetryPolicy("x"), rate=float("nan")),
        lambda: retry_storm(RetryPolicy("x"), duration=float("inf")),
    ],
)
def test_retry_settings_that_are_not_finite_are_refused(make):
    with pytest.raises(ValueError, match=r"finite|> 0"):
        make()


@pytest.mark.parametrize("delay", [float("nan"), -0.05, "0.02", None])
def test_a_hedge_delay_that_means_nothing_is_refused(delay):
    """NaN once gave a p99 of one nanosecond; a negative delay, a p99 below one shard's."""
    shard = tail.LatencyMix()
    for call in (
        lambda: tail.hedged_quantile(shard, delay, 0.99),
        lambda: tail.hedged_sample(shard, delay, 10, seed=1),
        lambda: tail.hedged_cdf(shard, delay, 0.01),
    ):
        with pytest.raises(ValueError, match="hedge delay"):
            call()


def test_never_hedging_is_the_shard_itself_and_a_mix_needs_finite_medians():
    shard = tail.LatencyMix()
    assert tail.hedged_quantile(shard, math.inf, 0.99) == pytest.approx(shard.quantile(0.99))
    with pytest.raises(ValueError, match="finite numbers > 0"):
        tail.LatencyMix(median=math.inf)


def test_a_numpy_shard_count_is_a_shard_count():
    shard = tail.LatencyMix()
    assert tail.fanout_quantile(shard, np.int64(10), 0.99) == tail.fanout_quantile(shard, 10, 0.99)
    assert tail.hedged_quantile(shard, 0.02, 0.99, np.int64(3)) == tail.hedged_quantile(shard, 0.02, 0.99, 3)
    assert tail.fanout_sample(shard, np.int64(4), 3, seed=1).shape == (3,)
