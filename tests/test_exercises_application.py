"""Notebook 04's exercise checks: right answers pass, typical wrong ones are explained, never "Correct"."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scalekit.exercises import application as ex


def hpa(current, metric, target, tolerance=0.1):
    ratio = metric / target
    if abs(1 - ratio) <= tolerance:
        return current
    return math.ceil(current * ratio)


def no_tolerance(current, metric, target, tolerance=0.1):
    return math.ceil(current * metric / target)


def rounds(current, metric, target, tolerance=0.1):
    ratio = metric / target
    return current if abs(1 - ratio) <= tolerance else round(current * ratio)


def upside_down(current, metric, target, tolerance=0.1):
    ratio = target / metric
    return current if abs(1 - ratio) <= tolerance else math.ceil(current * ratio)


def fixed_tolerance(current, metric, target, tolerance=0.1):
    return hpa(current, metric, target)


def float_count(current, metric, target, tolerance=0.1):
    ratio = metric / target
    return current if abs(1 - ratio) <= tolerance else current * ratio


def only_scales_out(current, metric, target, tolerance=0.1):
    return max(current, hpa(current, metric, target, tolerance))


def strict_band(current, metric, target, tolerance=0.1):
    """A ratio exactly on the edge of the band must not change the count; this one changes it."""
    ratio = metric / target
    return current if abs(1 - ratio) < tolerance else math.ceil(current * ratio)


def round_half_up(current, metric, target, tolerance=0.1):
    """Right for every fractional product; one too many when the product is an odd whole number."""
    ratio = metric / target
    return current if abs(1 - ratio) <= tolerance else round(current * ratio + 0.5)


def int_plus_one(current, metric, target, tolerance=0.1):
    ratio = metric / target
    return current if abs(1 - ratio) <= tolerance else int(current * ratio) + 1


def crashes(current, metric, target, tolerance=0.1):
    raise ZeroDivisionError("oops")


def stub(current, metric, target, tolerance=0.1): ...


def verdict(feedback) -> str:
    return repr(feedback)


def test_hpa_build_it_accepts_the_rule() -> None:
    feedback = ex.check_desired_replicas(hpa)
    assert feedback and verdict(feedback).startswith("Correct")


@pytest.mark.parametrize(
    ("func", "says"),
    [
        (no_tolerance, "within the tolerance"),
        (rounds, "round up"),
        (upside_down, "upside down"),
        (fixed_tolerance, "not a fixed 0.1"),
        (float_count, "whole number"),
        (only_scales_out, "returned"),
        (strict_band, "exactly on the edge"),
        (round_half_up, "already whole"),
        (int_plus_one, "already whole"),
        (crashes, "raised ZeroDivisionError"),
        (stub, "not finished"),
        (None, "define desired_replicas"),
        (..., "define desired_replicas"),
        (hpa(4, 90, 50), "pass the function itself"),
    ],
)
def test_hpa_build_it_explains_wrong_versions(func, says) -> None:
    feedback = ex.check_desired_replicas(func)
    assert not feedback
    assert verdict(feedback).startswith("Not yet") and says in verdict(feedback)


def test_ramp_wait_matches_the_fluid_fifo_simulation() -> None:
    """The closed form agrees with sim.fifo_wait on a trace: a burst, then capacity that ramps."""
    from scalekit import sim

    arrivals = np.r_[60_000.0, np.full(99, 1_000.0)]  # per second: a burst, then a steady stream
    capacity = np.r_[np.full(30, 1_000.0), np.full(70, 3_000.0)]
    simulated = sim.fifo_wait(arrivals, capacity, step=1.0, at=np.array([1.0]))[0]
    # at t = 1 s, 59,000 requests are ahead; the new servers join 29 s later
    assert math.isclose(ex.ramp_wait(59_000, 1_000, 29, 3_000), simulated, rel_tol=1e-9)
    assert ex.ramp_wait(10_000, 1_000, 30, 3_000) == 10.0  # done before anyone joins


def test_ramp_wait() -> None:
    right = ex.ramp_wait(**{k: ex.RAMP[k] for k in ("backlog", "now", "joins_at", "later")})
    assert ex.check_ramp_wait(right)
    assert ex.check_ramp_wait(np.float64(right))
    assert f"{right:g}" not in verdict(ex.check_ramp_wait(right))
    for wrong, says in [
        (right / 60, "minutes"),
        (60, "divides the backlog by the capacity of the moment"),
        (20, "new servers working from the start"),
        (30, "the queue ahead of the request is not empty yet"),
        (45, "arrive after this one queue behind it"),
        (50, "arrive after this one queue behind it"),
        (right - 5, "too short"),
        (right + 7, "too long"),
        ("soon", "number of seconds"),
        (True, "number"),
        (-1, ">= 0"),
        (math.nan, "finite"),
        (..., "replace the `...`"),
    ]:
        feedback = ex.check_ramp_wait(wrong)
        assert not feedback and says in verdict(feedback), (wrong, feedback)


def test_sticky_loss() -> None:
    assert ex.check_sticky_loss(0.2)
    assert ex.check_sticky_loss(0.199)
    assert "0.2" not in verdict(ex.check_sticky_loss(0.2))
    for wrong, says in [
        (20, "fraction"),
        (0, "die with it"),
        (0.8, "server survived"),
        (0.25, "only the dead server"),
        (1 / 3, "only the dead server"),
        (None, "replace the `...`"),
    ]:
        feedback = ex.check_sticky_loss(wrong)
        assert not feedback and says in verdict(feedback), (wrong, feedback)


def test_session_design_judgement_explains_every_wrong_choice() -> None:
    right = ex.check_session_design("redis")
    assert right and "redis" not in verdict(right).lower()
    reasons = {
        "sticky_memory": "rolling restart",
        "signed_cookie": "4 KB",
        "database": "busiest component",
    }
    for choice, reason in reasons.items():
        feedback = ex.check_session_design(choice)
        assert not feedback and reason in verdict(feedback)
    assert set(reasons) | {"redis"} == set(ex.SESSION_DESIGNS)
    assert "one of" in verdict(ex.check_session_design("memcached"))
    assert "one of" in verdict(ex.check_session_design(3))


def test_session_design_reads_the_choice_whatever_its_case() -> None:
    assert ex.check_session_design(" Redis ")
    assert "rolling restart" in verdict(ex.check_session_design("Sticky memory"))
    assert "4 KB" in verdict(ex.check_session_design("signed-cookie"))
