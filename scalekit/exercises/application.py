"""Checks for the exercises of notebook 04 (application scaling patterns)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from scalekit.autoscale import desired_replicas
from scalekit.exercises.feedback import Feedback, correct, not_answered, wrong

SESSION_DESIGNS: dict[str, str] = {
    "redis": (
        "a shared in-memory store survives every restart, keeps the session reads off the database, "
        "holds a large cart, and deleting one key ends a session at once"
    ),
    "sticky_memory": (
        "every rolling restart throws away the sessions of the server it restarts (the rolling deploy "
        "above logged out nearly every user), and pinning users to servers rules out the better "
        "balancing policies"
    ),
    "signed_cookie": (
        "browsers only promise about 4 KB per cookie (RFC 6265), so a 40 kB cart does not fit and would "
        "travel with every request; and a signed cookie stays valid until it expires, so support cannot "
        "end one session without keeping a server-side deny list, which is shared state again"
    ),
    "database": (
        "it survives restarts and a row can be deleted, but every request would read (and, with a "
        "sliding expiry, write) the busiest component you have; a session store exists to take that "
        "load off the database"
    ),
}


def _fraction(answer: object) -> float | Feedback:
    """The answer as a float, or the feedback that explains why it is not one."""
    if isinstance(answer, bool):
        return wrong(f"give a number, not {answer!r}.")
    try:
        value = float(answer)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return wrong(f"give a number between 0 and 1, got {type(answer).__name__} {answer!r}.")
    if not math.isfinite(value):
        return wrong(f"give a finite number between 0 and 1, got {value}.")
    return value


def _outside(value: float) -> Feedback | None:
    if not 0 <= value <= 1:
        return wrong(f"give a fraction between 0 and 1 (0.5 for 50 %), not {value:g}.")
    return None


RAMP = {"backlog": 60_000, "now": 1_000.0, "joins_at": 30.0, "later": 3_000.0, "arrivals": 1_000.0}


def ramp_wait(backlog: float, now: float, joins_at: float, later: float) -> float:
    """Seconds a request that joins a FIFO queue behind ``backlog`` waits while capacity ramps.

    The servers in service complete ``now`` requests per second until ``joins_at``
    seconds, then ``later`` per second. Requests that arrive afterwards queue behind
    it, so they do not count.
    """
    done_before = now * joins_at
    if backlog <= done_before:
        return backlog / now
    return joins_at + (backlog - done_before) / later


def check_ramp_wait(answer: object) -> Feedback:
    """Wait of a request that arrives behind a backlog while booted servers are about to join."""
    missing = not_answered(answer)
    if missing is not None:
        return missing
    value = _number(answer)
    if isinstance(value, Feedback):
        return value
    backlog, now, joins_at, later, arrivals = (
        RAMP[k] for k in ("backlog", "now", "joins_at", "later", "arrivals")
    )
    expected = ramp_wait(backlog, now, joins_at, later)

    def near(x: float) -> bool:
        return math.isclose(value, x, rel_tol=0.01)

    if near(expected):
        return correct(
            "first come, first served: only the work ahead of the request counts, done at the capacity "
            "of each moment, slow until the new servers join and fast after."
        )
    if near(expected / 60):
        return wrong("that looks like minutes: the question asks for seconds.")
    if near(backlog / now):
        return wrong(
            "that divides the backlog by the capacity of the moment: the size of the backlog, not the wait. "
            f"After {joins_at:g} s the new servers drain what is left {later / now:g} times faster."
        )
    if near(backlog / later):
        return wrong(
            f"that has the new servers working from the start; for the first {joins_at:g} s only the "
            "servers in service now work through the queue."
        )
    if near(joins_at):
        return wrong(
            f"at {joins_at:g} s the new servers join, but the queue ahead of the request is not empty yet: "
            "how much of it is left then, and how long does the larger group take to finish it?"
        )
    with_arrivals = {
        backlog / (later - arrivals),
        joins_at + (backlog - now * joins_at) / (later - arrivals),
        (backlog + arrivals * joins_at) / later,
        joins_at + (backlog + arrivals * joins_at - now * joins_at) / later,
    }
    if any(near(x) for x in with_arrivals):
        return wrong(
            "requests that arrive after this one queue behind it (first come, first served), so they "
            "do not delay it: count only the backlog ahead of it."
        )
    direction = "long" if value > expected else "short"
    return wrong(
        f"{value:g} s is too {direction}. Work through the backlog in two parts: what the current "
        f"servers finish in the first {joins_at:g} s, then the rest at the larger capacity."
    )


def _number(answer: object) -> float | Feedback:
    """The answer as a finite float, or the feedback that explains why it is not one."""
    if isinstance(answer, bool):
        return wrong(f"give a number, not {answer!r}.")
    try:
        value = float(answer)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return wrong(f"give a number of seconds, got {type(answer).__name__} {answer!r}.")
    if not math.isfinite(value) or value < 0:
        return wrong(f"a wait is a finite number of seconds >= 0, got {value:g}.")
    return value


def check_sticky_loss(answer: object, servers: int = 5) -> Feedback:
    """Share of logged-in users who must log in again when one of ``servers`` sticky servers dies."""
    missing = not_answered(answer)
    if missing is not None:
        return missing
    value = _fraction(answer)
    if isinstance(value, Feedback):
        return value
    outside = _outside(value)
    if outside is not None:
        return outside
    if value == 0:
        return wrong(
            "with sticky in-memory sessions the dead server's sessions die with it: "
            "the balancer cannot move them anywhere."
        )
    if math.isclose(value, (servers - 1) / servers, rel_tol=0.02):
        return wrong(
            "that is the share of users whose server survived: they keep their sessions. Who loses theirs?"
        )
    if math.isclose(value, 1 / servers, rel_tol=0.02):
        return correct("only the dead server's users lose their sessions; a table moves nobody else.")
    return wrong(
        f"{value:.4g} is not it. Sticky routing spreads users evenly, so each of the {servers} servers "
        "holds about the same share of sessions, and only the dead server's share is lost."
    )


def check_session_design(answer: object) -> Feedback:
    """Judgement: where a shop with large carts, daily deploys and a busy database keeps sessions."""
    missing = not_answered(answer)
    if missing is not None:
        return missing
    choice = answer.strip().lower().replace("-", "_").replace(" ", "_") if isinstance(answer, str) else None
    if choice not in SESSION_DESIGNS:
        return wrong(f"answer with one of {sorted(SESSION_DESIGNS)}, got {answer!r}.")
    answer = choice
    reason = SESSION_DESIGNS[answer]
    if answer == "redis":
        return correct(reason + ".")
    return wrong(f"{answer!r}: {reason}. Which design meets all three needs?")


def _hpa_cases(seed: int = 2026) -> list[tuple[int, float, float, float | None]]:
    """Hand-picked cases first (each catches a typical slip), then seeded random ones.

    Random cases stay clear of the exact tolerance edges and of products that land on a
    whole number, where float rounding (not the rule) would decide.
    """
    cases: list[tuple[int, float, float, float | None]] = [
        (10, 105.0, 100.0, None),  # within tolerance: no change
        (10, 93.0, 100.0, None),  # within tolerance below the target
        (4, 90.0, 50.0, None),  # 7.2 -> 8: round up
        (6, 20.0, 50.0, None),  # 2.4 -> 3 on the way down: still round up
        (10, 105.0, 100.0, 0.0),  # tolerance given: no dead band
        (8, 30.0, 60.0, 0.05),  # half the target: half the pods
        (3, 0.95, 0.5, None),  # a CPU fraction as the metric
        (10, 125.0, 100.0, 0.25),  # exactly on the edge of the band (exact in binary): no change
        (10, 75.0, 100.0, 0.25),  # the lower edge: no change either
        (10, 50.0, 100.0, None),  # 5.0 exactly: ceil leaves a whole number alone
        (6, 150.0, 100.0, None),  # 9.0 exactly, an odd count (round(x + 0.5) gives 10)
    ]
    rng = np.random.default_rng(seed)
    while len(cases) < 120:
        current = int(rng.integers(1, 60))
        target = float(rng.choice([0.5, 0.7, 50.0, 70.0, 250.0, 1000.0]))
        ratio = float(rng.uniform(0.2, 3.0))
        tolerance = None if rng.random() < 0.6 else float(rng.choice([0.0, 0.05, 0.2]))
        slack = 0.1 if tolerance is None else tolerance
        metric = round(ratio * target, 3)
        exact = metric / target * current
        if abs(abs(1 - metric / target) - slack) < 1e-6 or abs(exact - round(exact)) < 1e-6:
            continue
        cases.append((current, metric, target, tolerance))
    return cases


def check_desired_replicas(func: Callable[..., object]) -> Feedback:
    """Build-it: the learner's ``desired_replicas(current, metric, target, tolerance=0.1)``.

    Compared with :func:`scalekit.autoscale.desired_replicas` on hand-picked and
    seeded cases; the first disagreement is shown with a hint about its likely cause.
    """
    if func is None or func is Ellipsis:
        return wrong(
            "define desired_replicas(current, metric, target, tolerance=0.1) and run the cell again."
        )
    if not callable(func):
        return wrong(f"pass the function itself (desired_replicas, no brackets), got {type(func).__name__}.")
    for current, metric, target, tolerance in _hpa_cases():
        args = (current, metric, target) if tolerance is None else (current, metric, target, tolerance)
        call = f"desired_replicas({', '.join(f'{a:g}' for a in args)})"
        expected = desired_replicas(*args)
        try:
            got = func(*args)
        except Exception as error:
            return wrong(f"{call} raised {type(error).__name__}: {error}.")
        if got is None or got is Ellipsis:
            return wrong(f"{call} returned {got!r}: the function body is not finished yet.")
        if isinstance(got, bool) or not isinstance(got, (int, np.integer)):
            if isinstance(got, float) and got.is_integer():
                hint = "return an int (a replica count), e.g. with math.ceil."
            else:
                hint = "a replica count is a whole number: round the product up with math.ceil."
            return wrong(f"{call} returned {got!r}; {hint}")
        if int(got) == expected:
            continue
        return wrong(
            f"{call} returned {int(got)}, the HPA rule gives {expected}. {_hpa_hint(args, int(got))}"
        )
    return correct(
        "your function agrees with the HPA rule on 120 cases, tolerance band and rounding included."
    )


def _hpa_hint(args: tuple, got: int) -> str:
    current, metric, target = args[:3]
    tolerance = args[3] if len(args) > 3 else 0.1
    ratio = metric / target
    raw = ratio * current
    if abs(1 - ratio) <= tolerance:
        edge = " (a ratio exactly on the edge counts as within: change only when it is further away)"
        on_edge = math.isclose(abs(1 - ratio), tolerance)
        return (
            f"Metric / target = {ratio:.3g} is within the tolerance of 1, so the count should not change"
            f"{edge if on_edge else ''}."
        )
    if got == current and len(args) > 3 and abs(1 - ratio) <= 0.1:
        return f"Use the tolerance you are given ({tolerance:g} here), not a fixed 0.1."
    if got == current:
        return f"Metric / target = {ratio:.3g} is outside the tolerance band, so the count must change."
    if float(raw).is_integer() and got != raw:
        return (
            f"{current} × {ratio:.3g} = {raw:g} is already whole; rounding up leaves a whole number as it is."
        )
    if got in (round(raw), math.floor(raw)):
        return (
            f"{current} × {ratio:.3g} = {raw:.3g}: round up (math.ceil), or the pods end up above the target."
        )
    if got == math.ceil(current * target / metric):
        return "The ratio is upside down: metric / target, so a busier fleet gets more replicas."
    return "desired = ceil(current × metric / target), unless metric / target is within tolerance of 1."
