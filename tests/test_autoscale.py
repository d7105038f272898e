"""Auto-scaling: the outline's threshold policy, target tracking, and the group simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scalekit import sim
from scalekit.autoscale import (
    GroupLimits,
    RequestTrackingPolicy,
    TargetTrackingPolicy,
    ThresholdPolicy,
    rescaled_utilisation,
    servers_for_peak,
    simulate,
)

OUTLINE = ThresholdPolicy()


def decide(policy, history, desired=4, since=100):
    history = np.asarray(history, dtype=float)
    return policy.decide(history, np.full(history.size, desired), desired, since)


def test_defaults_are_the_outlines_yaml() -> None:
    assert GroupLimits() == GroupLimits(min_size=2, max_size=20, desired=4)
    assert (OUTLINE.out_above, OUTLINE.out_minutes, OUTLINE.out_step) == (0.70, 5, 2)
    assert (OUTLINE.in_below, OUTLINE.in_minutes, OUTLINE.in_step) == (0.30, 10, 1)


def test_scale_out_needs_five_full_minutes_above_70_percent() -> None:
    assert decide(OUTLINE, [0.9] * 5) == 6
    assert decide(OUTLINE, [0.9] * 4) == 4
    assert decide(OUTLINE, [0.9, 0.9, 0.6, 0.9, 0.9, 0.9, 0.9]) == 4
    assert decide(OUTLINE, [0.70] * 5) == 4  # "above" is strict


def test_scale_in_needs_ten_full_minutes_below_30_percent() -> None:
    assert decide(OUTLINE, [0.1] * 10) == 3
    assert decide(OUTLINE, [0.1] * 9) == 4
    assert decide(OUTLINE, [0.1] * 9 + [0.3]) == 4


def test_cooldown_blocks_any_action() -> None:
    assert decide(OUTLINE, [0.9] * 5, since=4) == 4
    assert decide(OUTLINE, [0.9] * 5, since=5) == 6


def test_limits_clamp_and_validate() -> None:
    limits = GroupLimits()
    assert [limits.clamp(n) for n in (0, 2, 7, 25)] == [2, 2, 7, 20]
    with pytest.raises(ValueError, match="min_size <= desired <= max_size"):
        GroupLimits(min_size=5, max_size=20, desired=4)
    with pytest.raises(ValueError, match="min_size must be a whole number >= 1"):
        GroupLimits(min_size=0)


def test_steady_load_that_fits_changes_nothing() -> None:
    run = simulate(np.full(60, 1000.0), 500.0, OUTLINE)
    assert run.events == []
    assert run.in_service.tolist() == [4] * 60
    np.testing.assert_allclose(run.utilisation, 0.5)
    assert run.backlog.max() == 0
    assert run.server_hours == pytest.approx(4.0)


def test_outline_scale_out_lands_where_the_arithmetic_says() -> None:
    per_server, load = 100.0, 300.0  # 4 servers at 75 % CPU
    run = simulate(np.full(30, load), per_server, OUTLINE, launch_minutes=3)
    assert [(e.minute, e.before, e.after) for e in run.events] == [(4, 4, 6)]
    assert (
        run.in_service[7].item() == 4 and run.in_service[8].item() == 6
    )  # asked at end of 4, serving from 8
    assert run.billed[5].item() == 6  # booting servers are paid for
    assert run.utilisation[-1] == pytest.approx(rescaled_utilisation(0.75, 4, 6)) == pytest.approx(0.5)


def test_outline_diagram_numbers() -> None:
    assert rescaled_utilisation(0.70, 4, 6) == pytest.approx(0.4667, abs=1e-4)
    assert rescaled_utilisation(0.30, 6, 4) == pytest.approx(0.45)
    assert rescaled_utilisation(0.30, 6, 5) == pytest.approx(0.36)
    with pytest.raises(ValueError, match="after must be"):
        rescaled_utilisation(0.5, 4, 0)


def test_scale_in_cancels_booting_servers_first() -> None:
    offered = np.r_[np.full(5, 400.0), np.zeros(40)]
    run = simulate(offered, 100.0, ThresholdPolicy(in_minutes=1, cooldown_minutes=0), launch_minutes=10)
    first_out, first_in = run.events[0], run.events[1]
    assert (first_out.before, first_out.after) == (4, 6)
    assert first_in.after == 5
    assert run.in_service.max() == 4  # the booting pair was cancelled before it ever served
    assert run.in_service[-1].item() == 2


def test_too_short_a_cooldown_overshoots_while_servers_boot() -> None:
    offered = np.r_[np.full(30, 1200.0), np.full(150, 2600.0)]
    eager = simulate(offered, 500.0, ThresholdPolicy(cooldown_minutes=1), launch_minutes=5)
    patient = simulate(offered, 500.0, ThresholdPolicy(cooldown_minutes=5), launch_minutes=5)
    needed = math.ceil(2600 / (500 * 0.7))
    assert eager.billed.max() == 20
    assert eager.in_service[-1] > 2 * needed
    assert patient.in_service[-1] <= needed + 2
    assert eager.server_hours > 1.5 * patient.server_hours


def test_target_tracking_settles_near_the_target() -> None:
    policy = TargetTrackingPolicy(target=0.5, in_minutes=15)
    offered = np.r_[np.full(60, 3000.0), np.full(60, 1000.0)]
    run = simulate(offered, 500.0, policy, launch_minutes=2)
    assert run.in_service[59].item() == 12
    assert run.in_service[-1].item() == 4
    first_in = next(e for e in run.events if e.after < e.before and e.minute >= 60)
    assert first_in.minute == 60 + 15 - 1  # fifteen quiet minutes, 60..74, before the first step in


def test_target_tracking_needed_rounds_up_without_float_noise() -> None:
    policy = TargetTrackingPolicy(target=0.7)
    assert policy.needed(np.array([0.7, 0.71]), np.array([10, 10])).tolist() == [10, 11]


traces = st.lists(st.floats(0, 3000), min_size=1, max_size=120)


@settings(max_examples=60)
@given(offered=traces, launch=st.integers(0, 6), cooldown=st.integers(0, 6))
def test_invariants_hold_on_any_trace(offered, launch, cooldown) -> None:
    for policy in (
        ThresholdPolicy(cooldown_minutes=cooldown),
        TargetTrackingPolicy(cooldown_minutes=cooldown),
        RequestTrackingPolicy(per_server=70.0, cooldown_minutes=cooldown),
    ):
        run = simulate(np.array(offered), 100.0, policy, launch_minutes=launch)
        np.testing.assert_allclose(run.backlog, sim.fluid_backlog(offered, run.in_service * 100.0), atol=1e-6)
        assert ((run.utilisation >= 0) & (run.utilisation <= 1 + 1e-12)).all()
        assert ((run.in_service >= 2) & (run.billed <= 20) & (run.billed >= run.in_service)).all()
        assert all(2 <= e.after <= 20 and e.after != e.before for e in run.events)
        waits = run.wait_minutes()
        assert (waits >= 0).all() and run.worst_wait_minutes >= waits.max() - 1e-9


def test_fixed_fleet_for_the_peak() -> None:
    assert servers_for_peak(np.array([100.0, 700.0]), 100.0, 0.7) == 10
    assert servers_for_peak(np.array([100.0, 701.0]), 100.0, 0.7) == 11


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: simulate(np.array([]), 1.0, OUTLINE), "non-empty"),
        (lambda: simulate(np.array([-1.0]), 1.0, OUTLINE), ">= 0"),
        (lambda: simulate(np.array([np.nan]), 1.0, OUTLINE), "finite"),
        (lambda: simulate(np.array([1.0]), 0.0, OUTLINE), "per_server"),
        (lambda: simulate(np.array([1.0]), 1.0, OUTLINE, launch_minutes=-1), "launch_minutes"),
        (lambda: ThresholdPolicy(in_below=0.8), "in_below < out_above"),
        (lambda: ThresholdPolicy(out_step=0), "out_step"),
        (lambda: TargetTrackingPolicy(target=1.5), "target utilisation"),
        (lambda: servers_for_peak(np.array([1.0]), 1.0, 0.0), "target utilisation"),
    ],
)
def test_bad_input_is_explained(call, message) -> None:
    with pytest.raises(ValueError, match=message):
        call()


SALE = np.r_[np.full(30, 400.0), np.full(60, 4200.0)]  # 500 req/s per server: 17 servers at 250 req/s each


def outs(run) -> list[tuple[int, int]]:
    return [(e.before, e.after) for e in run.events if e.after > e.before]


def test_cpu_target_tracking_at_most_doubles_per_step() -> None:
    """CPU cannot read above 100 %, so at a 50 % target one decision can at most double the group."""
    run = simulate(SALE, 500.0, TargetTrackingPolicy(target=0.5), GroupLimits(2, 20, 2), launch_minutes=3)
    steps = outs(run)
    assert steps[:3] == [(2, 4), (4, 8), (8, 16)]
    assert all(after <= 2 * before for before, after in steps)


def test_request_tracking_jumps_to_the_size_the_load_needs() -> None:
    policy = RequestTrackingPolicy(per_server=250.0)
    run = simulate(SALE, 500.0, policy, GroupLimits(2, 20, 2), launch_minutes=3)
    assert outs(run)[0] == (2, 17)
    assert run.events[0].minute == 30  # the first minute of the sale
    assert run.in_service[30 + 1 + 3].item() == 17
    cpu = simulate(SALE, 500.0, TargetTrackingPolicy(target=0.5), GroupLimits(2, 20, 2), launch_minutes=3)
    assert run.worst_wait_minutes < cpu.worst_wait_minutes


def test_request_tracking_needed_and_validation() -> None:
    policy = RequestTrackingPolicy(per_server=100.0)
    assert policy.needed(np.array([0.0, 100.0, 100.5, 1000.0])).tolist() == [0, 1, 2, 10]
    with pytest.raises(ValueError, match="needs the request rate"):
        policy.decide(np.array([0.5]), np.array([4]), 4, 100)
    for bad in (0, -5.0, math.nan, math.inf, "100", True):
        with pytest.raises(ValueError, match="per_server must be"):
            RequestTrackingPolicy(per_server=bad)


def test_wait_is_not_backlog_over_current_capacity() -> None:
    """While capacity ramps up, the backlog drains faster than today's capacity says."""
    run = simulate(SALE, 500.0, ThresholdPolicy(), GroupLimits(2, 20, 2), launch_minutes=3)
    assert run.backlog_minutes().max() > 1.5 * run.worst_wait_minutes
    np.testing.assert_allclose(run.wait_minutes() * 60, sim.fifo_wait(SALE, run.in_service * 500.0))
    assert run.worst_wait_minutes * 60 == pytest.approx(sim.worst_fifo_wait(SALE, run.in_service * 500.0))
    steady = simulate(np.r_[np.full(3, 3000.0), np.zeros(30)], 500.0, ThresholdPolicy(), GroupLimits(4, 4, 4))
    # fixed capacity 2,000/s, 1,000/s too much for 3 minutes: the last of it waits 1.5 minutes
    assert steady.worst_wait_minutes == pytest.approx(1.5)
    assert steady.backlog_minutes().max() == pytest.approx(1.5)


def test_a_policy_without_the_requests_keyword_still_works() -> None:
    class Fixed:
        def decide(self, utilisation, in_service, desired, since_action):
            return 7

    run = simulate(np.full(10, 100.0), 100.0, Fixed(), launch_minutes=0)
    assert run.in_service[-1].item() == 7


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        (object(), "decide"),
        (type("Half", (), {"decide": lambda self, u, s, d, a: d * 1.5})(), "whole number"),
        (type("Nothing", (), {"decide": lambda self, u, s, d, a: None})(), "whole number"),
    ],
)
def test_a_broken_policy_is_explained(policy, message) -> None:
    with pytest.raises(ValueError, match=message):
        simulate(np.full(10, 100.0), 100.0, policy)


def test_desired_replicas_is_the_hpa_rule() -> None:
    from scalekit.autoscale import desired_replicas

    assert desired_replicas(50, 90, 75) == 60  # the Kubernetes documentation's example
    assert desired_replicas(10, 105, 100) == 10  # within the 10 % tolerance
    assert desired_replicas(10, 91, 100) == 10
    assert desired_replicas(10, 105, 100, tolerance=0.0) == 11
    assert desired_replicas(4, 90, 50) == 8
    assert desired_replicas(6, 20, 50) == 3  # rounds up, never down
    assert desired_replicas(10, 0, 100) == 0  # the caller clamps to its minimum
    for bad in (
        {"current": 0},
        {"metric": -1},
        {"metric": math.nan},
        {"target": 0},
        {"target": math.inf},
        {"tolerance": 1.0},
        {"tolerance": "0.1"},
    ):
        with pytest.raises(ValueError):
            desired_replicas(**{"current": 4, "metric": 60.0, "target": 50.0, **bad})


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: simulate(np.ones(3), "2", OUTLINE), "per_server must be a finite number > 0"),
        (lambda: simulate(np.ones(3), math.inf, OUTLINE), "per_server must be a finite number > 0"),
        (lambda: servers_for_peak(np.array([]), 1.0), "non-empty"),
        (lambda: servers_for_peak(np.array([math.nan]), 1.0), "finite"),
        (lambda: servers_for_peak(np.array([1.0]), 0.0), "per_server"),
        (lambda: rescaled_utilisation(math.nan, 4, 6), "utilisation must be a finite number"),
        (lambda: rescaled_utilisation("0.5", 4, 6), "utilisation must be a finite number"),
    ],
)
def test_hostile_numbers_are_explained(call, message) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_numpy_whole_numbers_become_plain_ints() -> None:
    limits = GroupLimits(np.int64(1), np.int64(5), np.int64(2))
    assert limits == GroupLimits(1, 5, 2) and type(limits.desired) is int
    assert simulate(np.ones(3), np.float64(2.0), OUTLINE, limits).in_service.tolist() == [2, 2, 2]


@pytest.mark.parametrize(
    ("attempt", "says"),
    [
        (lambda: ThresholdPolicy(out_above="0.7"), "CPU fraction such as 0.7"),
        (lambda: ThresholdPolicy(in_below=None), "in_below must be a CPU fraction"),
        (lambda: TargetTrackingPolicy(target="0.5"), "target must be a CPU fraction"),
        (lambda: simulate([100.0, 100.0], 500, ThresholdPolicy(), (2, 20, 4)), "GroupLimits"),
        (lambda: simulate([100.0, 100.0], 500, ThresholdPolicy), "not the class"),
    ],
)
def test_garbage_gets_a_sentence_not_a_comparison_error(attempt, says) -> None:
    """Strings, None, a tuple for the limits or the policy class: a ValueError that says what to pass."""
    with pytest.raises(ValueError, match=says):
        attempt()
