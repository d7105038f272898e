"""Checks of notebook 02's exercises: right answers pass, typical wrong ones never do."""

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


def test_library_fit_passes():
    assert ex.check_fit_sigma_kappa(models.usl_coefficients).ok


@pytest.mark.parametrize(
    "function, says",
    [
        (fit_swapped, "swap them"),
        (fit_without_minus_one, "least squares"),
        (fit_wrong_design, "least squares"),
        (fit_two_points, "least squares"),
        (fit_stub, "returned None"),
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


def test_order_db_plan():
    assert ex.check_order_db_plan("c").ok
    for choice, says in (("a", "1.43x"), ("b", "at most"), ("d", "not the bottleneck"), ("z", "one letter")):
        feedback = ex.check_order_db_plan(choice)
        assert not feedback.ok and says in feedback.message
