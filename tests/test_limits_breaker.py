"""The circuit breaker's state machine on a SimClock, and the worker pool it protects."""

from __future__ import annotations

import numpy as np
import pytest

from scalekit.clock import SimClock
from scalekit.limits.breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker
from scalekit.limits.pool import CALL_FAILED, OK, SKIPPED, simulate_pool


def _breaker(**kwargs) -> tuple[SimClock, CircuitBreaker]:
    clock = SimClock()
    return clock, CircuitBreaker(clock, **{"failure_threshold": 3, "reset_timeout": 10.0, **kwargs})


def test_opens_after_threshold_failures_in_a_row_only():
    _clock, breaker = _breaker()
    for outcome in (False, False, True, False, False):
        assert breaker.allow()
        breaker.record(outcome)
    assert breaker.state == CLOSED
    breaker.record(False)
    assert breaker.state == OPEN
    assert not breaker.allow()


def test_open_refuses_until_reset_timeout_then_lets_one_probe_through():
    clock, breaker = _breaker(probes=1)
    for _ in range(3):
        breaker.record(False)
    clock.advance(9.999)
    assert breaker.state == OPEN and not breaker.allow()
    clock.advance(0.001)
    assert breaker.state == HALF_OPEN
    assert breaker.allow()
    assert not breaker.allow(), "only one probe at a time"


def test_successful_probes_close_a_failed_one_reopens_for_a_full_timeout():
    clock, breaker = _breaker(probes=2)
    for _ in range(3):
        breaker.record(False)
    clock.advance(10)
    assert breaker.allow() and breaker.allow() and not breaker.allow()
    breaker.record(True)
    assert breaker.state == HALF_OPEN
    breaker.record(False)
    assert breaker.state == OPEN
    clock.advance(9.5)
    assert breaker.state == OPEN
    clock.advance(0.5)
    assert breaker.allow() and breaker.allow()
    breaker.record(True)
    breaker.record(True)
    assert breaker.state == CLOSED
    assert [(t.at, t.before, t.after) for t in breaker.transitions] == [
        (0.0, CLOSED, OPEN),
        (10.0, OPEN, HALF_OPEN),
        (10.0, HALF_OPEN, OPEN),
        (20.0, OPEN, HALF_OPEN),
        (20.0, HALF_OPEN, CLOSED),
    ]


def test_late_results_while_open_change_nothing():
    clock, breaker = _breaker()
    for _ in range(3):
        breaker.record(False)
    breaker.record(True)
    clock.advance(5)
    assert breaker.state == OPEN


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"failure_threshold": 0}, "failure_threshold"),
        ({"reset_timeout": 0}, "reset_timeout"),
        ({"probes": 1.5}, "probes"),
    ],
)
def test_bad_settings_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        CircuitBreaker(SimClock(), **kwargs)


def _pool(timeout=None, breaker=None, seed=3):
    rng = np.random.default_rng(seed)
    arrivals = np.cumsum(rng.exponential(1 / 100, 9000))
    arrivals = arrivals[arrivals < 80]
    calls = rng.random(arrivals.size) < 0.3

    def sick(t):
        return 20 <= t < 50

    return simulate_pool(
        arrivals,
        calls,
        workers=20,
        work=0.05,
        dependency=lambda t: 30.0 if sick(t) else 0.05,
        sick=sick,
        patience=2.0,
        timeout=timeout,
        breaker=breaker,
    )


def test_a_hanging_dependency_takes_the_whole_pool_down_without_a_timeout():
    run = _pool()
    assert run.share_answered(0, 20) == 1.0
    assert run.share_answered(25, 50) < 0.1
    never_call = run.outcome == OK
    assert run.answered_in_time[never_call & (run.arrivals > 25) & (run.arrivals < 50)].mean() < 0.1


def test_short_timeout_and_breaker_keep_answering_and_the_breaker_saves_worker_time():
    short = _pool(timeout=0.2)
    clock = SimClock()
    guarded = _pool(timeout=1.0, breaker=CircuitBreaker(clock, failure_threshold=5, reset_timeout=5.0))
    assert short.share_answered(25, 50) > 0.99
    assert guarded.share_answered(25, 50) > 0.99
    during = (guarded.arrivals > 25) & (guarded.arrivals < 50)
    assert (guarded.outcome[during] == SKIPPED).sum() > 0.9 * (short.outcome[during] == CALL_FAILED).sum()
    assert np.percentile(guarded.response[during], 99) < np.percentile(short.response[during], 99)
    assert (guarded.outcome[guarded.arrivals > 60] == OK).mean() > 0.99


def test_pool_refuses_a_breaker_on_real_time():
    from scalekit.clock import RealClock

    with pytest.raises(ValueError, match="SimClock"):
        simulate_pool(
            np.array([0.0]),
            np.array([True]),
            workers=1,
            work=0.1,
            dependency=lambda t: 0.1,
            sick=lambda t: False,
            patience=1.0,
            breaker=CircuitBreaker(RealClock()),
        )


def test_in_half_open_a_late_answer_to_an_old_call_is_not_a_probe():
    clock, breaker = _breaker()
    for _ in range(4):
        assert breaker.allow()
    for _ in range(3):
        breaker.record(False)
    clock.advance(10)
    assert breaker.state == HALF_OPEN
    breaker.record(True)
    assert breaker.state == HALF_OPEN, "the fourth call started while closed; no probe has answered"
    assert breaker.allow() and not breaker.allow()
    breaker.record(True)
    assert breaker.state == CLOSED


def test_a_probe_that_never_reports_counts_as_failed_after_reset_timeout():
    clock, breaker = _breaker()
    for _ in range(3):
        breaker.record(False)
    clock.advance(10)
    assert breaker.allow(), "the probe goes out, and its caller never reports"
    clock.advance(9.9)
    assert breaker.state == HALF_OPEN and not breaker.allow()
    clock.advance(0.1)
    assert breaker.state == OPEN
    clock.advance(10)
    assert breaker.allow(), "a new probe may go"
    breaker.record(True)
    assert breaker.state == CLOSED
    assert [t.after for t in breaker.transitions] == [OPEN, HALF_OPEN, OPEN, HALF_OPEN, CLOSED]


def test_a_clock_that_steps_back_keeps_the_circuit_open_no_shorter():
    clock, breaker = _breaker()
    clock.advance(100)
    for _ in range(3):
        breaker.record(False)
    clock._now = 95.0  # a wall clock stepped back by NTP
    assert breaker.state == OPEN and not breaker.allow()
    clock.advance_to(110.0)
    assert breaker.state == HALF_OPEN


def test_threads_asking_at_once_in_half_open_share_the_probes():
    import sys
    import threading

    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for _ in range(400):
            clock, breaker = _breaker(failure_threshold=1, reset_timeout=1.0, probes=2)
            breaker.record(False)
            clock.advance(1.0)
            answers: list[bool] = []
            start = threading.Barrier(8)

            def ask(breaker=breaker, answers=answers, start=start):
                start.wait()
                answers.append(breaker.allow())

            threads = [threading.Thread(target=ask) for _ in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert sum(answers) == 2
    finally:
        sys.setswitchinterval(switch)
