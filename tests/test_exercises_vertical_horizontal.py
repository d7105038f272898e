"""Checks of notebook 02's exercises: right answers pass, typical wrong ones never do."""

import re

import numpy as np
import pytest

from scalekit import models
from scalekit.exercises import vertical_horizontal as ex


def fit_right(sizes, throughput, single):
    n = np.asarray(sizes, dtype=float)
    target = single * n / np.asarray(throughput) - 1
    design = np.column_stack([n - 1, n * (n - 1)])
    sigma, kappa = np.linalg.lstsq(design, target, rcond=None)[0]
    return sigma, kappa


def fit_swapped(sizes, throughput, single):
    sigma, kappa = fit_right(sizes, throughput, single)
    return kappa, sigma


def fit_without_minus_one(sizes, throughput, single):
    n = np.asarray(sizes, dtype=float)
    design = np.column_stack([n - 1, n * (n - 1)])
    return tuple(np.linalg.lstsq(design, single * n / np.asarray(throughput), rcond=None)[0])


def fit_wrong_design(sizes, throughput, single):
    n = np.asarray(sizes, dtype=float)
    design = np.column_stack([n, n * n])
    return tuple(np.linalg.lstsq(design, single * n / np.asarray(throughput) - 1, rcond=None)[0])


def fit_two_points(sizes, throughput, single):
    """Solves exactly through the first two tested sizes: right on noiseless data only."""
    n = np.asarray(sizes[1:3], dtype=float)
    design = np.column_stack([n - 1, n * (n - 1)])
    return tuple(np.linalg.solve(design, single * n / np.asarray(throughput[1:3]) - 1))


def fit_stub(sizes, throughput, single): ...


def test_right_fit_passes():
    feedback = ex.check_fit_sigma_kappa(fit_right)
    assert feedback.ok and repr(feedback).startswith("Correct")


def fit_calls_the_reference(sizes, throughput, single):
    return models.usl_coefficients(sizes, throughput, single)


def fit_polynomial(sizes, throughput, single):
    """A quadratic with an intercept: close, but not the USL's least squares."""
    n = np.asarray(sizes, dtype=float)
    kappa, sigma_plus, _ = np.polyfit(n, single * n / np.asarray(throughput) - 1, 2)
    return sigma_plus + kappa, kappa


def fit_all_parameters(sizes, throughput, single):
    """Fits λ too, so σ and κ answer a different question."""
    return models.fit_usl(sizes, throughput)[1:]


@pytest.mark.parametrize(
    "function, says",
    [
        (fit_swapped, "swap them"),
        (fit_without_minus_one, "least squares"),
        (fit_wrong_design, "least squares"),
        (fit_two_points, "least squares"),
        (fit_stub, "returned None"),
        (fit_calls_the_reference, "calls models.usl_coefficients"),
        (models.usl_coefficients, "calls models.usl_coefficients"),
        (fit_polynomial, "least squares"),
        (fit_all_parameters, "least squares"),
        (lambda sizes, x, single: 0.1, "two finite numbers"),
        (..., "replace"),
    ],
)
def test_wrong_fits_fail(function, says):
    feedback = ex.check_fit_sigma_kappa(function)
    assert not feedback.ok and says in feedback.message


def test_two_point_fit_is_right_on_clean_data_so_the_noise_matters():
    n = np.array([1, 2, 4, 8])
    x = models.usl_throughput(n, 1000, 0.05, 0.001)
    assert fit_two_points(n, x, 1000) == pytest.approx((0.05, 0.001))


def test_ticket_db_plan_right_answer_does_not_restate_it():
    feedback = ex.check_ticket_db_plan("b")
    assert feedback.ok and not re.search(r"(?<![\w.])b(?!\w)", feedback.message)
    assert ex.check_ticket_db_plan(" B ").ok


@pytest.mark.parametrize(
    "choice, says",
    [("a", "1.67x"), ("c", "9 units"), ("d", "sustained"), ("z", "one letter"), (..., "replace")],
)
def test_ticket_db_plan_explains_each_wrong_choice(choice, says):
    feedback = ex.check_ticket_db_plan(choice)
    assert not feedback.ok and says in feedback.message


def test_ticket_db_facts_make_the_bigger_machine_the_simplest_fit():
    facts = ex.ticket_db_facts()
    assert facts["units needed"] <= facts["family top (units)"]
    assert facts["price then"] / facts["units needed"] == facts["price today"] / ex.TICKET_DB_UNITS
    assert facts["replica ceiling (x)"] < ex.TICKET_DB_GROWTH
