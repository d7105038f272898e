"""Checks for the exercises of notebook 02 (vertical vs horizontal scaling)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from scalekit import models
from scalekit.exercises.feedback import Feedback, correct, not_answered, wrong

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


def _call(function: Callable, args: tuple) -> tuple[object, str | None]:
    try:
        return function(*args), None
    except Exception as error:  # the learner's code may fail in any way; say how
        return None, f"{type(error).__name__}: {error}"


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
    for sizes, throughput, single in usl_fit_cases():
        expected = models.usl_coefficients(sizes, throughput, single)
        got, failure = _call(fit_sigma_kappa, (sizes.copy(), throughput.copy(), single))
        where = f"for sizes {sizes.tolist()}, throughput {throughput.tolist()} and λ = {single:g}"
        if failure is not None:
            return wrong(f"{where} your function raised {failure}.")
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


ORDER_DB_CHOICES = {
    "a": "add read replicas",
    "b": "move to the largest machine in the family",
    "c": "shard the orders by customer id over several primaries",
    "d": "add app servers in front of the database",
}
ORDER_DB_UNITS, ORDER_DB_WRITES, ORDER_DB_GROWTH = 8, 0.7, 3.0


def check_order_db_plan(answer: object) -> Feedback:
    """Judgement: how an order database with 70 % writes on 8 units grows 3x."""
    missing = not_answered(answer)
    if missing is not None:
        return missing
    choice = str(answer).strip().lower()
    if choice not in ORDER_DB_CHOICES:
        return wrong(f"answer with one letter, one of {sorted(ORDER_DB_CHOICES)}; got {answer!r}.")
    if choice == "c":
        return correct(
            "only splitting the data multiplies write capacity: each shard's primary takes only its "
            "customers' writes. Sharding costs cross-shard queries and a key that is hard to change, "
            "which is why it comes last, and here it is needed."
        )
    up = models.SCALE_UP
    best_gain = up.ceiling() / up.throughput(ORDER_DB_UNITS)
    reasons = {
        "a": f"replicas copy every write, so with {ORDER_DB_WRITES:.0%} writes no number of them gets past "
        f"1 / {ORDER_DB_WRITES} = {1 / ORDER_DB_WRITES:.2f}x: the primary still runs every write.",
        "b": f"under the course's scaling model a bigger machine gives at most {best_gain:.1f}x the "
        f"throughput of {ORDER_DB_UNITS} units (contention and coherency flatten the curve), short of "
        f"{ORDER_DB_GROWTH:g}x; it is a fine stopgap, not the plan.",
        "d": "the app servers are not the bottleneck: more of them send the same writes to the same "
        "database, and the queue in front of it only grows.",
    }
    return wrong(reasons[choice])
