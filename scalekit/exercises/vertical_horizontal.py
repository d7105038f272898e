"""Checks for the exercises of notebook 02 (vertical vs horizontal scaling)."""

from __future__ import annotations

import numpy as np

from scalekit import models
from scalekit.exercises.feedback import Feedback, check_number, correct, not_answered, wrong


def check_usl_peak(answer: object, sizes: np.ndarray, throughput: np.ndarray) -> Feedback:
    """Node count where the USL fitted to (sizes, throughput) peaks."""
    _, sigma, kappa = models.fit_usl(sizes, throughput)
    peak = models.usl_peak(sigma, kappa)
    return check_number(
        answer,
        peak,
        what="the peak of the fitted curve",
        rel=0.5 / peak,  # within half a unit: 13 or 13.3 are both right for a peak at 13.26
        hint="Fit with models.fit_usl, then N* = sqrt((1 - σ) / κ) (models.usl_peak).",
    )


def _whole_number(answer: object) -> Feedback | None:
    missing = not_answered(answer)
    if missing is not None:
        return missing
    if isinstance(answer, bool) or not isinstance(answer, (int, np.integer)):
        return wrong(f"a number of servers is a whole number (an int), got {answer!r}.")
    if answer < 1:
        return wrong(f"a fleet needs at least one server, got {answer}.")
    return None


def check_servers_for_four_nines(answer: object) -> Feedback:
    """Fewest servers, each up 99.5 % of the time, for at least 99.99 % availability."""
    problem = _whole_number(answer)
    if problem is not None:
        return problem
    n = int(answer)
    reached = models.availability(n, 0.995)
    if reached < 0.9999:
        return wrong(f"{n} servers give {reached:.5%}, short of 99.99 %.")
    if n > 1 and models.availability(n - 1, 0.995) >= 0.9999:
        return wrong(f"{n} servers are enough, but so are {n - 1}: find the fewest.")
    fewer = models.availability(n - 1, 0.995) if n > 1 else 0.0
    return correct(f"{n} servers give {reached:.6%}; {n - 1} would give {fewer:.5%}.")


def check_rolling_upgrade_servers(answer: object) -> Feedback:
    """Fewest 1,000 req/s servers that keep 3,000 req/s at <= 5 ms mean while one is being upgraded."""
    problem = _whole_number(answer)
    if problem is not None:
        return problem
    expected = models.servers_needed(3000, 1000, 0.005) + 1
    n = int(answer)
    if n == expected:
        during = models.mmc_response_time(3000, 1000, n - 1) * 1000
        return correct(f"{n} servers: with one out, {n - 1} still answer in {during:.2f} ms on average.")
    if n < expected:
        return wrong(f"with {n} servers an upgrade leaves {n - 1}, too few for 3,000 req/s under 5 ms.")
    return wrong(f"{n} servers work, but fewer would too: one spare above what the load needs is enough.")
