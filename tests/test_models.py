"""scalekit.models: closed forms checked against their definitions and known values."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scalekit import models


def test_littles_law_solves_for_any_one_of_three():
    assert models.littles_law(arrival_rate=100, time_in_system=0.05) == pytest.approx(5)
    assert models.littles_law(in_system=5, time_in_system=0.05) == pytest.approx(100)
    assert models.littles_law(in_system=5, arrival_rate=100) == pytest.approx(0.05)
    with pytest.raises(ValueError, match="exactly two"):
        models.littles_law(arrival_rate=1)


def test_amdahl_ceiling():
    assert models.amdahl_speedup(0.95, 1) == pytest.approx(1)
    assert models.amdahl_speedup(0.95, 1e9) == pytest.approx(20, rel=1e-6)
    assert models.amdahl_speedup(1.0, 8) == pytest.approx(8)


def test_usl_reduces_to_linear_and_amdahl():
    n = np.array([1, 2, 4, 8])
    assert np.allclose(models.usl_throughput(n, 10, 0, 0), 10 * n)
    sigma = 0.1  # USL with kappa = 0 is Amdahl with p = 1 - sigma
    assert np.allclose(models.usl_throughput(n, 1, sigma, 0), models.amdahl_speedup(1 - sigma, n))


def test_usl_peak_is_where_throughput_is_highest():
    n = np.arange(1, 200)
    x = models.usl_throughput(n, 1.0, 0.02, 0.0005)
    assert n[np.argmax(x)] == round(models.usl_peak(0.02, 0.0005))


@given(st.floats(0, 0.3), st.floats(0, 0.01), st.floats(10, 5000))
def test_fit_usl_recovers_its_parameters(sigma, kappa, single):
    n = np.array([1, 2, 3, 4, 6, 8, 12, 16, 24, 32])
    fitted = models.fit_usl(n, models.usl_throughput(n, single, sigma, kappa))
    assert fitted[0] == pytest.approx(single, rel=1e-3)
    assert fitted[1] == pytest.approx(sigma, abs=1e-3)
    assert fitted[2] == pytest.approx(kappa, abs=1e-4)


def test_availability_of_replicas():
    assert models.availability(1, 0.99) == pytest.approx(0.99)
    assert models.availability(3, 0.99) == pytest.approx(0.999999)
    assert models.downtime_per_year(0.999) == pytest.approx(525.96, rel=1e-3)


def test_erlang_c_known_values():
    # M/M/1: P(wait) = rho; textbook M/M/c value for a = 8, c = 10.
    assert models.erlang_c(0.7, 1, 1) == pytest.approx(0.7)
    assert models.erlang_c(8, 1, 10) == pytest.approx(0.4092, abs=1e-4)
    assert models.erlang_c(12, 1, 10) == 1.0


def test_server_counts_may_be_whole_floats():
    assert models.erlang_c(8, 1, 10.0) == models.erlang_c(8, 1, 10)
    with pytest.raises(ValueError, match="whole number"):
        models.erlang_c(8, 1, 10.5)


def test_mm1_response_time_formula():
    # W = 1 / (mu - lambda) for M/M/1
    assert models.mmc_response_time(80, 100, 1) == pytest.approx(1 / 20)
    assert math.isinf(models.mmc_wait(100, 100, 1))


@given(st.floats(0.1, 500), st.floats(0.5, 50), st.floats(1.05, 10))
def test_servers_needed_is_the_fewest_that_meet_the_target(arrivals, mu, factor):
    target = factor / mu
    c = models.servers_needed(arrivals, mu, target)
    assert models.mmc_response_time(arrivals, mu, c) <= target
    if c > 1:
        assert models.mmc_response_time(arrivals, mu, c - 1) > target


def test_cost_curves():
    assert models.vertical_cost(1) == pytest.approx(100)
    assert models.vertical_cost(8) > models.horizontal_cost(8)
    assert models.horizontal_cost(4) == pytest.approx(400)


@pytest.mark.parametrize(
    "call",
    [
        lambda: models.amdahl_speedup(1.5, 2),
        lambda: models.usl_throughput(0, 1, 0, 0),
        lambda: models.erlang_c(1, 1, 0),
        lambda: models.availability(2, 1.2),
        lambda: models.servers_needed(10, 1, 0.5),
    ],
)
def test_bad_input_is_a_clear_value_error(call):
    with pytest.raises(ValueError):
        call()
