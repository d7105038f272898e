"""Checks for the exercises of notebook 06 (async processing)."""

from __future__ import annotations

import numpy as np

from scalekit import models, sim
from scalekit.exercises.feedback import Feedback, check_number, correct, not_answered, wrong


def longest_wait(rates: np.ndarray, capacity: float) -> float:
    """The longest FIFO wait in seconds when ``rates`` (jobs/s, one per second) meet ``capacity`` jobs/s.

    A job that arrives behind a backlog of B jobs waits about B / capacity seconds.
    """
    if capacity <= 0:
        raise ValueError(f"capacity must be > 0 jobs per second, got {capacity}")
    backlog = sim.fluid_backlog(np.asarray(rates, dtype=float), capacity, step=1.0)
    return float(backlog.max() / capacity) if backlog.size else 0.0


def workers_needed(rates: np.ndarray, per_worker: float, max_wait: float, *, limit: int = 100_000) -> int:
    """The fewest workers (``per_worker`` jobs/s each) that keep every job's wait within ``max_wait`` s."""
    if per_worker <= 0 or max_wait < 0:
        raise ValueError(f"need per_worker > 0 and max_wait >= 0, got {per_worker} and {max_wait}")
    for workers in range(1, limit + 1):
        if longest_wait(rates, workers * per_worker) <= max_wait:
            return workers
    raise ValueError(f"no pool of up to {limit} workers keeps the wait within {max_wait} s")


def check_workers(answer: object, rates: np.ndarray, per_worker: float, max_wait: float) -> Feedback:
    """Is ``answer`` the smallest worker count whose longest wait stays within ``max_wait``?"""
    missing = not_answered(answer)
    if missing is not None:
        return missing
    if isinstance(answer, bool) or not isinstance(answer, (int, np.integer)) or answer < 1:
        return wrong(f"a worker count is a whole number >= 1, got {answer!r}.")
    expected = workers_needed(rates, per_worker, max_wait)
    waited = longest_wait(rates, int(answer) * per_worker)
    if answer == expected:
        return correct(
            f"{expected} workers keep the longest wait at {waited:.0f} s (limit {max_wait:.0f} s)."
        )
    if answer < expected:
        return wrong(
            f"with {answer} workers the longest wait is {waited:.0f} s, over the {max_wait:.0f} s limit."
        )
    return wrong(
        f"{answer} workers work (longest wait {waited:.0f} s), but fewer would too: find the smallest count."
    )


def check_littles_wait(answer: object, in_queue: float, arrival_rate: float) -> Feedback:
    """Mean time in queue from Little's law, ``W = L / λ``."""
    expected = models.littles_law(in_system=in_queue, arrival_rate=arrival_rate)
    return check_number(
        answer,
        expected,
        what="the mean wait in seconds",
        hint="Little's law L = λ W links the average number waiting, the arrival rate and the wait.",
    )


def time_to_dead_letter(base_backoff: float, max_backoff: float, max_attempts: int) -> float:
    """Seconds of backoff a job that always fails spends before the dead-letter list (no jitter)."""
    return float(sum(min(max_backoff, base_backoff * 2 ** (n - 1)) for n in range(1, max_attempts)))


def check_time_to_dead_letter(
    answer: object, base_backoff: float, max_backoff: float, max_attempts: int
) -> Feedback:
    """Total backoff before a poison job is dead-lettered: attempts 1 .. max_attempts-1 each wait."""
    return check_number(
        answer,
        time_to_dead_letter(base_backoff, max_backoff, max_attempts),
        what="the total backoff in seconds",
        hint=f"There are {max_attempts - 1} waits (none after the last), each doubling up to the cap.",
    )
