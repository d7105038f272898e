"""Checks for the exercises of notebook 01 (what is scalability)."""

from __future__ import annotations

import numpy as np

from scalekit import models
from scalekit.exercises.feedback import Feedback, check_number, correct, not_answered, wrong


def check_concurrency(answer: object) -> Feedback:
    """Little's law: 2,000 requests/s with a mean of 150 ms each."""
    expected = models.littles_law(arrival_rate=2000, time_in_system=0.150)
    return check_number(
        answer, expected, what="requests in flight", hint="Little's law: L = λ W, with W in seconds (0.150)."
    )


def check_black_friday_servers(answer: object) -> Feedback:
    """Fewest servers (100 req/s each, M/M/c) for 10,000 req/s with mean response <= 20 ms."""
    expected = models.servers_needed(10_000, 100, 0.020)
    missing = not_answered(answer)
    if missing is not None:
        return missing
    if isinstance(answer, bool) or not isinstance(answer, (int, np.integer)):
        return wrong(f"a number of servers is a whole number (an int), got {answer!r}.")
    answer = int(answer)
    if answer == expected:
        return correct(
            f"{answer} servers keep the mean response at "
            f"{models.mmc_response_time(10_000, 100, answer) * 1000:.2f} ms; one fewer would not."
        )
    if answer < expected:
        if answer <= 100:
            return wrong(
                f"{answer} servers cannot even keep up: 10,000 req/s needs more than 100 at 100 req/s each."
            )
        latency = models.mmc_response_time(10_000, 100, answer) * 1000
        return wrong(f"with {answer} servers the mean response is {latency:.2f} ms, above the 20 ms target.")
    return wrong(f"{answer} servers meet the target, but fewer would too: look for the smallest count.")


def check_knee_utilisation(answer: object) -> Feedback:
    """Utilisation at which an M/M/1 server's mean response is 10x its service time."""
    missing = not_answered(answer)
    if missing is not None:
        return missing
    return check_number(
        answer,
        0.9,
        what="the utilisation",
        rel=0.005,
        hint="For M/M/1, W = S / (1 - ρ); solve S / (1 - ρ) = 10 S for ρ (a fraction, not a percentage).",
    )
