"""Checks for the exercises of notebook 01 (what is scalability)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable

import numpy as np

from scalekit import models
from scalekit.exercises.feedback import Feedback, correct, not_answered, wrong

FLEET_SEED = 101


def fleet_cases(count: int = 40, seed: int = FLEET_SEED) -> list[tuple[float, float, float]]:
    """Seeded ``(arrival_rate, per_server, max_response)`` cases for the fleet-sizing exercise.

    Loads from a trickle to thousands of servers' worth, targets from just above the
    service time (where the queue must stay short) to five times it.
    """
    rng = np.random.default_rng(seed)
    cases = [(10.0, 100.0, 0.05), (2_350.0, 100.0, 0.015), (10_000.0, 100.0, 0.020)]
    while len(cases) < count:
        per_server = float(rng.choice([50.0, 100.0, 250.0, 1000.0]))
        arrival = float(np.round(per_server * rng.uniform(0.2, 60.0), 1))
        target = float(np.round(rng.uniform(1.05, 5.0) / per_server, 5))
        cases.append((arrival, per_server, target))
    return cases


TIME_LIMIT = 10.0
"""Seconds a learner's function may run on one case before the check gives up on it."""


class _TooSlow(Exception):
    pass


def call_learner(function: Callable, args: tuple, seconds: float | None = None) -> tuple[object, str | None]:
    """``function(*args)`` and None, or None and what went wrong, in words.

    A loop that never ends (a condition the wrong way round) is stopped after ``seconds``
    where the platform allows it (SIGALRM, main thread), and reported instead of hanging.
    """
    seconds = TIME_LIMIT if seconds is None else seconds
    limited = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if limited:

        def stop(signum: int, frame: object) -> None:
            raise _TooSlow

        previous_timer = signal.getitimer(signal.ITIMER_REAL)  # someone else's alarm, if any
        previous = signal.signal(signal.SIGALRM, stop)
        signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return function(*args), None
    except _TooSlow:
        return None, f"did not finish within {seconds:g} s (a loop whose condition never turns false?)"
    except Exception as error:  # the learner's code may fail in any way; say how
        return None, f"raised {type(error).__name__}: {error}"
    finally:
        if limited:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
            if previous_timer[0] > 0:
                signal.setitimer(signal.ITIMER_REAL, *previous_timer)


def uses_reference(function: Callable, reference: Callable) -> bool:
    """True when the learner hands in the reference itself, or a function that calls it by name."""
    if function is reference:
        return True
    code = getattr(function, "__code__", None)
    return code is not None and reference.__name__ in code.co_names


def check_fleet_for(fleet_for: object) -> Feedback:
    """Build-it: ``fleet_for(arrival_rate, per_server, max_response)`` against `models.servers_needed`."""
    missing = not_answered(fleet_for)
    if missing is not None:
        return missing
    if not callable(fleet_for):
        return wrong(f"pass the function itself (fleet_for, no parentheses), got {fleet_for!r}.")
    if uses_reference(fleet_for, models.servers_needed):
        return wrong(
            "your function calls models.servers_needed, the reference the check compares with: "
            "write the search yourself with models.mmc_response_time."
        )
    for arrival, per_server, target in fleet_cases():
        args = (arrival, per_server, target)
        expected = models.servers_needed(arrival, per_server, target)
        got, failure = call_learner(fleet_for, args)
        where = f"fleet_for({arrival:g}, {per_server:g}, {target:g})"
        if failure is not None:
            return wrong(f"{where} {failure}.")
        if got is None or got is Ellipsis:
            return wrong(f"{where} returned {got!r}: finish the function so it returns a number of servers.")
        if isinstance(got, bool) or not isinstance(got, (int, np.integer)):
            return wrong(f"{where} returned {got!r}; a number of servers is a whole number (an int).")
        got = int(got)
        if got == expected:
            continue
        if got < 1 or got * per_server <= arrival:
            return wrong(
                f"{where} returned {got}: {got} x {per_server:g} = {got * per_server:g} req/s of capacity "
                f"cannot even keep up with {arrival:g} req/s, so the queue grows without bound."
            )
        mean_ms = models.mmc_response_time(arrival, per_server, got) * 1000
        if got < expected:
            return wrong(
                f"{where} returned {got}, but with {_servers(got)} the mean response is {mean_ms:.2f} ms, "
                f"above the {target * 1000:g} ms target."
            )
        fewer_ms = models.mmc_response_time(arrival, per_server, got - 1) * 1000
        return wrong(
            f"{where} returned {got}, but with {_servers(got - 1)} the mean response is already "
            f"{fewer_ms:.2f} ms, within the {target * 1000:g} ms target: return the fewest."
        )
    return correct("your function sizes every one of the generated fleets exactly as the M/M/c model does.")


def _servers(count: int) -> str:
    return "1 server" if count == 1 else f"{count} servers"


SALE_PLANS = {
    "a": "keep the fleet sized for the normal daily peak and let the queue absorb the sale",
    "b": "rely on reactive autoscaling alone, as in the figure above",
    "c": "schedule the fleet up to the forecast sale peak before the doors open, and keep autoscaling on",
    "d": "run a fleet sized for the sale peak every day of the year",
}


def check_sale_plan(answer: object) -> Feedback:
    """Judgement: the plan for a sale whose date and time are known in advance."""
    missing = not_answered(answer)
    if missing is not None:
        return missing
    choice = str(answer).strip().lower()
    if choice not in SALE_PLANS:
        return wrong(f"answer with one letter, one of {sorted(SALE_PLANS)}; got {answer!r}.")
    reasons = {
        "a": "a fleet sized for the normal peak is overloaded for hours during a sale several times "
        "that peak; a queue only delays the work, so requests wait hours and time out.",
        "b": "reactive autoscaling sees the sale only after it starts, and new servers take minutes to "
        "take traffic: the first buyers pile up behind a fleet several times too small. It is the right "
        "safety net, not the plan for a load you can forecast.",
        "d": "it survives the sale, but it pays for several times the server-hours the traffic needs "
        "on every ordinary day: the bill the outline's 'pay only for what you use' warns about.",
    }
    if choice == "c":
        return correct(
            "a known peak is scaled for ahead of time (scheduled scaling), and reactive autoscaling "
            "covers the error in the forecast, so nobody waits for servers to boot."
        )
    return wrong(reasons[choice])
