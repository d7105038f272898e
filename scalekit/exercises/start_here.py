"""Checks for the exercises of notebook 00 (start here)."""

from __future__ import annotations

import numpy as np

from scalekit import models
from scalekit.exercises.feedback import Feedback, check_number, not_answered, wrong


def check_top_keys_share(answer: object, trace: np.ndarray, top: int = 10) -> Feedback:
    """Share of the requests in ``trace`` that ask for the ``top`` most popular keys (ids 0..top-1)."""
    expected = float(np.mean(np.asarray(trace) < top))
    return check_number(
        answer,
        expected,
        what=f"the share of requests for the top {top} keys",
        rel=1e-9,
        hint="Keys are numbered by popularity, so the top 10 are ids 0 to 9: count them in `trace`.",
    )


def check_in_flight(answer: object) -> Feedback:
    """Little's law for 200 requests/s that each take 50 ms."""
    expected = models.littles_law(arrival_rate=200, time_in_system=0.050)
    missing = not_answered(answer)
    if missing is not None:
        return missing
    if isinstance(answer, (int, float)) and answer == 200 * 50:
        return wrong("the units are mixed: 50 ms is 0.05 s, so multiply 200 per second by 0.05 s.")
    return check_number(answer, expected, what="requests in flight", hint="L = λ × W, with W in seconds.")
