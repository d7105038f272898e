"""Checks for the exercises of notebook 02 (vertical vs horizontal scaling)."""

from __future__ import annotations

import math

import numpy as np

from scalekit import models
from scalekit.exercises.feedback import Feedback, correct, not_answered, wrong
from scalekit.exercises.scalability import call_learner, uses_reference
from scalekit.routers import replica_capacity, write_cap

FIT_SEED = 202
SIZES = np.array([1, 2, 4, 6, 8, 12, 16, 24, 32])


def usl_fit_cases(count: int = 25, seed: int = FIT_SEED) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """Seeded ``(sizes, throughput, single)`` load tests: USL curves with 2 % noise.

    Only cases whose plain least-squares solution has σ, κ >= 0 are kept, so any
    correct least-squares method gives the same answer as `models.usl_coefficients`.
    """
    rng = np.random.default_rng(seed)
    cases = []
    while len(cases) < count:
        single = float(np.round(rng.uniform(200, 3000), 0))
        sigma, kappa = rng.uniform(0.0, 0.12), rng.uniform(0.0, 0.003)
        sizes = SIZES[: int(rng.integers(5, SIZES.size + 1))]
        noise = rng.normal(1.0, 0.02, sizes.size)
        throughput = np.round(models.usl_throughput(sizes, single, sigma, kappa) * noise, 1)
        design = np.column_stack([sizes - 1.0, sizes * (sizes - 1.0)])
        raw = np.linalg.lstsq(design, single * sizes / throughput - 1.0, rcond=None)[0]
        if (raw > 0).all():
            cases.append((sizes.copy(), throughput, single))
    return cases


def _pair(value: object) -> tuple[float, float] | None:
    try:
        sigma, kappa = value  # type: ignore[misc]
        return float(sigma), float(kappa)
    except (TypeError, ValueError):
        return None


def check_fit_sigma_kappa(fit_sigma_kappa: object) -> Feedback:
    """Build-it: ``fit_sigma_kappa(sizes, throughput, single)`` against `models.usl_coefficients`."""
    missing = not_answered(fit_sigma_kappa)
    if missing is not None:
        return missing
    if not callable(fit_sigma_kappa):
        return wrong(f"pass the function itself (fit_sigma_kappa, no parentheses), got {fit_sigma_kappa!r}.")
    if uses_reference(fit_sigma_kappa, models.usl_coefficients):
        return wrong(
            "your function calls models.usl_coefficients, the reference the check compares with: "
            "build the matrix and call np.linalg.lstsq yourself."
        )
    for sizes, throughput, single in usl_fit_cases():
        expected = models.usl_coefficients(sizes, throughput, single)
        got, failure = call_learner(fit_sigma_kappa, (sizes.copy(), throughput.copy(), single))
        where = f"for sizes {sizes.tolist()}, throughput {throughput.tolist()} and λ = {single:g}"
        if failure is not None:
            return wrong(f"{where} your function {failure}.")
        if got is None or got is Ellipsis:
            return wrong(f"your function returned {got!r}: finish it so it returns a pair (σ, κ).")
        pair = _pair(got)
        if pair is None or not all(map(math.isfinite, pair)):
            return wrong(f"{where} your function returned {got!r}; return two finite numbers, (σ, κ).")
        close = [
            math.isclose(g, e, rel_tol=1e-4, abs_tol=abs_tol)
            for g, e, abs_tol in zip(pair, expected, (1e-6, 1e-8), strict=True)
        ]
        if all(close):
            continue
        if all(
            math.isclose(g, e, rel_tol=1e-4, abs_tol=1e-8) for g, e in zip(pair, expected[::-1], strict=True)
        ):
            return wrong(f"{where} you return (κ, σ) = {pair[0]:.5f}, {pair[1]:.6f}: swap them, σ first.")
        return wrong(
            f"{where} your function gives σ = {pair[0]:.5f}, κ = {pair[1]:.6f}; least squares on "
            f"λN/X - 1 = σ(N-1) + κN(N-1) gives σ = {expected[0]:.5f}, κ = {expected[1]:.6f}."
        )
    return correct("your fit matches least squares on every generated load test.")


TICKET_DB_CHOICES = {
    "a": "add read replicas",
    "b": "move to a bigger machine of the same instance family in the maintenance window",
    "c": "shard the tickets by event id over several primaries",
    "d": "put the writes on a queue in front of the database",
}
TICKET_DB_UNITS, TICKET_DB_WRITES, TICKET_DB_GROWTH = 4, 0.6, 1.8


def ticket_db_facts() -> dict[str, float]:
    """The numbers behind the ticketing-database exercise, from the course's models."""
    up = models.SCALE_UP
    today = float(up.throughput(TICKET_DB_UNITS))
    units = up.units_for(TICKET_DB_GROWTH * today)
    return {
        "today (req/s)": today,
        "units needed": float(units),
        "family top (units)": up.prices.family_max,
        "price today": float(up.price(TICKET_DB_UNITS)),
        "price then": float(up.price(units)),
        "replica ceiling (x)": write_cap(write_fraction=TICKET_DB_WRITES),
        "8 replicas (x)": replica_capacity(8, write_fraction=TICKET_DB_WRITES).total,
    }


def check_ticket_db_plan(answer: object) -> Feedback:
    """Judgement: the simplest step that lets a saturated, write-heavy 4-unit database grow 1.8x."""
    missing = not_answered(answer)
    if missing is not None:
        return missing
    choice = str(answer).strip().lower()
    if choice not in TICKET_DB_CHOICES:
        return wrong(f"answer with one letter, one of {sorted(TICKET_DB_CHOICES)}; got {answer!r}.")
    facts = ticket_db_facts()
    if choice == "b":
        return correct(
            "the course's scaling model still rises well past the size this needs, the price per unit is "
            "flat inside the family, the window covers the switch, and every query stays on one machine. "
            "Keep the bigger steps for when no machine is big enough."
        )
    reasons = {
        "a": f"replicas copy every write, so with {TICKET_DB_WRITES:.0%} writes no number of them gets past "
        f"{facts['replica ceiling (x)']:.2f}x (8 of them, each replaying every write, give "
        f"{facts['8 replicas (x)']:.2f}x): short of {TICKET_DB_GROWTH:g}x.",
        "c": f"it would work, but a machine of {facts['units needed']:.0f} units, still priced per unit like "
        f"today's, carries {TICKET_DB_GROWTH:g}x; sharding adds a shard key, cross-shard queries and "
        "rebalancing for a load one machine handles. It is the step after the largest machine.",
        "d": "a queue smooths a spike, but this is the sustained peak: writes arriving faster than the "
        "database runs them make the queue, and the wait, grow for as long as the peak lasts.",
    }
    return wrong(reasons[choice])
