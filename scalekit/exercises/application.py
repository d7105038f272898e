"""Checks for the exercises of notebook 04 (application scaling patterns)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from scalekit.autoscale import desired_replicas, rescaled_utilisation
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


def check_scale_out_utilisation(answer: object) -> Feedback:
    """CPU (a fraction) after 4 servers at 80 % scale out by 2, with the same load."""
    missing = not_answered(answer)
    if missing is not None:
        return missing
    value = _fraction(answer)
    if isinstance(value, Feedback):
        return value
    expected = rescaled_utilisation(0.80, 4, 6)
    if math.isclose(value, 0.80 * 6 / 4, rel_tol=0.01):
        return wrong(
            "you multiplied by 6/4: more servers means each one does less, so divide by the new count."
        )
    outside = _outside(value)
    if outside is not None:
        return outside
    if math.isclose(value, expected, rel_tol=0.01):
        return correct(
            "the same busy work is now shared by more servers, so each one is busy less of the time."
        )
    if math.isclose(value, 0.80 - 2 * 0.10, rel_tol=0.01) or math.isclose(value, 0.8 / 2, rel_tol=0.01):
        return wrong("CPU does not drop by a fixed amount per server: the busy work 4 × 0.80 is shared by 6.")
    direction = "high" if value > expected else "low"
    return wrong(
        f"{value:.4g} is too {direction}. The load is the same, so the busy work "
        "4 × 0.80 is now spread over 6 servers."
    )


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
    if not isinstance(answer, str) or answer not in SESSION_DESIGNS:
        return wrong(f"answer with one of {sorted(SESSION_DESIGNS)}, got {answer!r}.")
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
