"""Checks of notebook 01's exercises: right answers pass, typical wrong ones never do."""

import math

import numpy as np
import pytest

from scalekit import models
from scalekit.exercises import scalability as ex


def fleet_right(arrival_rate, per_server, max_response):
    servers = math.floor(arrival_rate / per_server) + 1
    while models.mmc_response_time(arrival_rate, per_server, servers) > max_response:
        servers += 1
    return servers


def fleet_one_too_many(arrival_rate, per_server, max_response):
    return fleet_right(arrival_rate, per_server, max_response) + 1


def fleet_by_utilisation(arrival_rate, per_server, max_response):
    return math.ceil(arrival_rate / (per_server * 0.7))  # a rule of thumb, not the target


def fleet_just_stable(arrival_rate, per_server, max_response):
    return math.floor(arrival_rate / per_server) + 1


def fleet_float(arrival_rate, per_server, max_response):
    return float(fleet_right(arrival_rate, per_server, max_response))


def fleet_stub(arrival_rate, per_server, max_response): ...


def fleet_crashes(arrival_rate, per_server, max_response):
    raise ZeroDivisionError("oops")


def test_fleet_for_accepts_a_right_implementation():
    feedback = ex.check_fleet_for(fleet_right)
    assert feedback.ok and repr(feedback).startswith("Correct")


def test_fleet_for_accepts_numpy_integers():
    def numpy_count(arrival_rate, per_server, max_response):
        return np.int64(fleet_right(arrival_rate, per_server, max_response))

    assert ex.check_fleet_for(numpy_count).ok


def fleet_queue_time_only(arrival_rate, per_server, max_response):
    """Compares the time in queue (mmc_wait) with the target, forgetting the service itself."""
    servers = math.floor(arrival_rate / per_server) + 1
    while models.mmc_wait(arrival_rate, per_server, servers) > max_response:
        servers += 1
    return servers


def fleet_milliseconds(arrival_rate, per_server, max_response):
    return fleet_right(arrival_rate, per_server, max_response * 1000)


def fleet_never_stops(arrival_rate, per_server, max_response):
    servers = math.floor(arrival_rate / per_server) + 1
    while models.mmc_response_time(arrival_rate, per_server, servers) < max_response:  # the wrong way round
        servers += 1
    return servers


def fleet_calls_the_reference(arrival_rate, per_server, max_response):
    return models.servers_needed(arrival_rate, per_server, max_response)


def fleet_always_one(arrival_rate, per_server, max_response):
    return 1


@pytest.mark.parametrize(
    "function, says",
    [
        (fleet_one_too_many, "return the fewest"),
        (fleet_by_utilisation, "fleet_for("),
        (fleet_just_stable, "above the"),
        (fleet_float, "whole number"),
        (fleet_stub, "returned None"),
        (fleet_crashes, "ZeroDivisionError"),
        (fleet_queue_time_only, "above the"),
        (fleet_milliseconds, "fleet_for("),
        (fleet_never_stops, "did not finish"),
        (fleet_calls_the_reference, "calls models.servers_needed"),
        (models.servers_needed, "calls models.servers_needed"),
        (fleet_always_one, "cannot even keep up"),
        (..., "replace the `...`"),
        (42, "the function itself"),
    ],
)
def test_fleet_for_rejects_wrong_implementations(function, says, monkeypatch):
    monkeypatch.setattr(ex, "TIME_LIMIT", 1.0)
    feedback = ex.check_fleet_for(function)
    assert not feedback.ok
    assert repr(feedback).startswith("Not yet") and says in feedback.message


def test_fleet_cases_are_seeded_and_varied():
    cases = ex.fleet_cases()
    assert cases == ex.fleet_cases()
    needed = [models.servers_needed(*case) for case in cases]
    assert min(needed) == 1 and max(needed) > 100


def test_a_wrong_rule_that_fits_the_obvious_case_still_fails():
    def only_the_example(arrival_rate, per_server, max_response):
        return 1 if arrival_rate < per_server else fleet_right(arrival_rate, per_server, max_response) - 1

    assert not ex.check_fleet_for(only_the_example).ok


def test_sale_plan_right_answer():
    feedback = ex.check_sale_plan("c")
    assert feedback.ok and "c)" not in feedback.message
    assert ex.check_sale_plan(" C ").ok


@pytest.mark.parametrize(
    "answer, says",
    [("a", "hours"), ("b", "minutes"), ("d", "server-hours"), ("e", "one letter"), (..., "replace")],
)
def test_sale_plan_explains_each_wrong_choice(answer, says):
    feedback = ex.check_sale_plan(answer)
    assert not feedback.ok and says in feedback.message


def test_a_slow_learner_function_is_stopped_and_the_alarm_is_restored():
    import signal
    import time

    before = signal.getsignal(signal.SIGALRM)
    started = time.monotonic()
    got, failure = ex.call_learner(lambda: time.sleep(30), (), seconds=0.2)
    assert got is None and "did not finish" in failure
    assert time.monotonic() - started < 5
    assert signal.getsignal(signal.SIGALRM) is before
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_fleet_for_feedback_says_1_server_not_1_servers():
    def one_too_many(arrival_rate, per_server, max_response):
        servers = int(arrival_rate // per_server) + 1
        while models.mmc_response_time(arrival_rate, per_server, servers) > max_response:
            servers += 1
        return servers + 1

    message = ex.check_fleet_for(one_too_many).message
    assert "with 1 server the mean response is already" in message and "1 servers" not in message
