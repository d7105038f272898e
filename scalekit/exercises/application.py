"""Checks for the exercises of notebook 04 (application scaling patterns)."""

from __future__ import annotations

import math

from scalekit.autoscale import rescaled_utilisation
from scalekit.exercises.feedback import Feedback, check_number, correct, not_answered, wrong

PATH_SERVICES = {"gateway": 0.9999, "user": 0.999, "post": 0.999, "comment": 0.999}


def check_scale_out_utilisation(answer: object) -> Feedback:
    """CPU (a fraction) after 4 servers at 80 % scale out by 2, with the same load."""
    missing = not_answered(answer)
    if missing is not None:
        return missing
    if isinstance(answer, (int, float)) and not isinstance(answer, bool) and 1 < answer <= 100:
        return wrong(f"give the utilisation as a fraction between 0 and 1 (e.g. 0.5 for 50 %), not {answer}.")
    return check_number(
        answer,
        rescaled_utilisation(0.80, 4, 6),
        what="the CPU utilisation after scaling out",
        hint="The load is the same, so the busy work 4 × 0.80 is now spread over 6 servers.",
    )


def check_sticky_loss(answer: object, servers: int = 5) -> Feedback:
    """Share of logged-in users who must log in again when one of ``servers`` sticky servers dies."""
    missing = not_answered(answer)
    if missing is not None:
        return missing
    if isinstance(answer, (int, float)) and not isinstance(answer, bool) and 1 < answer <= 100:
        return wrong(f"give the share as a fraction between 0 and 1, not {answer}.")
    if answer == 0:
        return wrong(
            "with sticky in-memory sessions the dead server's sessions die with it: "
            "the balancer cannot move them anywhere."
        )
    return check_number(
        answer,
        1 / servers,
        what="the share of users who lose their session",
        rel=0.02,
        hint=f"Sticky routing spreads users evenly, so each of the {servers} servers holds about "
        "the same share of sessions, and only the dead server's share is lost.",
    )


def path_availability(services: dict[str, float] = PATH_SERVICES) -> float:
    """Availability of a request that needs every one of ``services`` up (independent failures)."""
    return math.prod(services.values())


def check_path_availability(answer: object) -> Feedback:
    """Availability of a page that needs the gateway and the user, post and comment services."""
    missing = not_answered(answer)
    if missing is not None:
        return missing
    try:
        value = float(answer)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return wrong(f"an availability is a number between 0 and 1, got {answer!r}.")
    if not 0 <= value <= 1:
        return wrong(f"an availability is a fraction between 0 and 1 (0.999 for 99.9 %), got {value}.")
    expected = path_availability()
    down, expected_down = 1 - value, 1 - expected
    if math.isclose(down, expected_down, rel_tol=0.01):
        minutes = expected_down * 365.25 * 24 * 60
        return correct(f"the page is up {value:.4%} of the time: about {minutes:,.0f} minutes down a year.")
    if value >= min(PATH_SERVICES.values()):
        return wrong(
            f"{value:.4%} is at least as good as the weakest service alone: a page that needs several "
            "services fails when any one of them fails, so multiply their availabilities."
        )
    return wrong(
        f"{value:.4%} is too low: multiply the four availabilities, one factor per service the page needs."
    )
