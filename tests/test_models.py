"""scalekit.models: closed forms checked against their definitions and known values."""

import math
from fractions import Fraction

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


def test_price_list_is_linear_inside_the_family_then_steeper_then_stops():
    assert models.vertical_cost(1) == pytest.approx(100)
    assert models.vertical_cost(8) == pytest.approx(models.horizontal_cost(8))
    assert models.vertical_cost(48) == pytest.approx(4800)
    per_unit = models.vertical_cost(np.array([48.0, 64.0, 128.0])) / np.array([48.0, 64.0, 128.0])
    assert np.all(np.diff(per_unit) > 0)
    with pytest.raises(ValueError, match="ceiling"):
        models.vertical_cost(129)
    assert models.horizontal_cost(4) == pytest.approx(400)
    assert models.horizontal_cost(4, overhead=50) == pytest.approx(450)
    assert models.horizontal_cost(1, overhead=50) == pytest.approx(100)


def test_scaling_models_agree_with_the_usl_and_their_ceilings():
    up, out = models.SCALE_UP, models.SCALE_OUT
    n = np.arange(1, 65)
    assert np.allclose(up.throughput(n), models.usl_throughput(n, 1000, 0.03, 0.0005))
    assert up.ceiling() == pytest.approx(up.throughput(np.arange(1, 129)).max())
    assert out.ceiling() == pytest.approx(1000 / 0.005)
    with pytest.raises(ValueError, match="128"):
        up.throughput(200)
    for target in (900.0, 4000.0, 8000.0, 12_000.0, 150_000.0):
        units = out.units_for(target)
        assert out.throughput(units) >= target
        assert units == 1 or out.throughput(units - 1) < target
        assert out.price_for(target) == pytest.approx(100 * units)
    units = up.units_for(8000)
    assert up.throughput(units) >= 8000 > up.throughput(units - 1)
    assert math.isinf(up.price_for(20_000))
    with pytest.raises(ValueError, match="cannot reach"):
        up.units_for(20_000)
    with pytest.raises(ValueError):
        up.price_for(float("nan"))


def _k_of_n_exact(k, n, p):
    p = Fraction(p)
    return float(sum(math.comb(n, j) * p**j * (1 - p) ** (n - j) for j in range(k, n + 1)))


@pytest.mark.parametrize(
    "k, n, p",
    [
        (1, 1, 0.5),
        (1, 3, 0.99),
        (2, 3, 0.9),
        (3, 3, 0.9),
        (0, 5, 0.3),
        (450, 500, 0.99),
        (495, 500, 0.99),
        (500, 500, 0.99),
        (1900, 2000, 0.95),
        (1990, 2000, 0.999),
        (7, 40, 0.2),
    ],
)
def test_k_of_n_matches_exact_arithmetic(k, n, p):
    assert models.k_of_n_availability(k, n, p) == pytest.approx(_k_of_n_exact(k, n, p), rel=1e-9, abs=1e-300)


def test_k_of_n_special_cases():
    assert models.k_of_n_availability(1, 7, 0.9) == pytest.approx(models.availability(7, 0.9))
    assert models.k_of_n_availability(7, 7, 0.9) == pytest.approx(0.9**7)
    assert models.k_of_n_availability(3, 5, 0.0) == 0.0
    assert models.k_of_n_availability(5, 5, 1.0) == 1.0
    big = models.k_of_n_availability(4_800, 5_000, 0.97)
    assert 0 < big < 1 and np.isfinite(big)


@given(st.integers(1, 60), st.floats(0.0, 1.0), st.data())
def test_k_of_n_is_a_probability_that_falls_with_k(n, p, data):
    k = data.draw(st.integers(0, n))
    value = models.k_of_n_availability(k, n, p)
    assert 0.0 <= value <= 1.0
    if k < n:
        assert models.k_of_n_availability(k + 1, n, p) <= value + 1e-12


def test_k_of_n_against_scipy():
    stats = pytest.importorskip("scipy.stats")
    for k, n, p in [(450, 500, 0.99), (2_950, 3_000, 0.985), (10, 12, 0.7)]:
        assert models.k_of_n_availability(k, n, p) == pytest.approx(stats.binom.sf(k - 1, n, p), rel=1e-9)


def test_usl_coefficients_recover_sigma_and_kappa_for_a_known_single():
    n = np.array([1, 2, 4, 8, 16])
    x = models.usl_throughput(n, 500, 0.04, 0.001)
    assert models.usl_coefficients(n, x, 500) == pytest.approx((0.04, 0.001), abs=1e-12)


NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize(
    "call",
    [
        lambda: models.amdahl_speedup(1.5, 2),
        lambda: models.amdahl_speedup(NAN, 2),
        lambda: models.amdahl_speedup(0.5, NAN),
        lambda: models.usl_throughput(0, 1, 0, 0),
        lambda: models.usl_throughput(2, NAN, 0, 0),
        lambda: models.usl_throughput(2, 1, NAN, 0),
        lambda: models.usl_throughput(2, 1, 0, -0.1),
        lambda: models.usl_throughput(INF, 1, 0, 0),
        lambda: models.usl_peak(NAN, 0.001),
        lambda: models.usl_peak(0.1, -1),
        lambda: models.usl_coefficients([1, 2, 3], [1, 2, NAN], 1),
        lambda: models.fit_usl([1, 2, 3], [1, INF, 2]),
        lambda: models.fit_usl([1, 2, NAN], [1, 2, 3]),
        lambda: models.erlang_c(1, 1, 0),
        lambda: models.erlang_c(NAN, 1, 2),
        lambda: models.erlang_c(1, 1, NAN),
        lambda: models.mmc_wait(INF, 1, 2),
        lambda: models.mmc_response_time(1, NAN, 2),
        lambda: models.utilisation(-1, 1, 1),
        lambda: models.availability(2, 1.2),
        lambda: models.availability(2, NAN),
        lambda: models.availability(NAN, 0.9),
        lambda: models.downtime_per_year(NAN),
        lambda: models.downtime_per_year(1.5),
        lambda: models.k_of_n_availability(3, 2, 0.9),
        lambda: models.k_of_n_availability(1, 2, NAN),
        lambda: models.k_of_n_availability(1.5, 2, 0.9),
        lambda: models.k_of_n_availability(-1, 2, 0.9),
        lambda: models.servers_needed(10, 1, 0.5),
        lambda: models.servers_needed(100, 10, NAN),
        lambda: models.servers_needed(100, 10, INF),
        lambda: models.servers_needed(NAN, 10, 1.0),
        lambda: models.servers_needed(-5, 10, 1.0),
        lambda: models.littles_law(arrival_rate=NAN, time_in_system=1),
        lambda: models.littles_law(arrival_rate=-1, time_in_system=1),
        lambda: models.littles_law(in_system=INF, time_in_system=1),
        lambda: models.vertical_cost(NAN),
        lambda: models.vertical_cost(-2),
        lambda: models.horizontal_cost(INF),
        lambda: models.horizontal_cost(2, overhead=NAN),
        lambda: models.SCALE_OUT.units_for(NAN),
        lambda: models.SCALE_OUT.units_for(-1),
        lambda: models.SCALE_UP.price(NAN),
        lambda: models.PriceList(unit_price=NAN),
        lambda: models.ScalingModel("x", NAN, 0, one_machine=False),
    ],
)
def test_bad_input_is_a_clear_value_error(call):
    with pytest.raises(ValueError, match=r"must|cannot|ceiling|give|no number"):
        call()


def test_servers_needed_rejects_nan_instead_of_answering():
    with pytest.raises(ValueError, match="finite"):
        models.servers_needed(100, 10, float("nan"))


def test_numpy_scalars_are_numbers_and_strings_are_not():
    assert models.mmc_response_time(np.array(800.0), np.float32(1000), np.int64(1)) == pytest.approx(1 / 200)
    assert models.littles_law(arrival_rate=np.float64(10), time_in_system=0.5) == pytest.approx(5)
    for bad in ("10", True, [1.0]):
        with pytest.raises(ValueError, match="must be a number"):
            models.littles_law(arrival_rate=bad, time_in_system=0.5)


@given(st.floats(0.0, 0.2), st.floats(0.0, 0.01), st.booleans(), st.floats(0.01, 1.2))
def test_units_for_is_the_fewest_units_that_reach_the_target(sigma, kappa, one_machine, share):
    model = models.ScalingModel("m", sigma, kappa, one_machine=one_machine)
    target = share * model.ceiling(100.0)
    try:
        units = model.units_for(target, 100.0)
    except ValueError:
        assert target >= model.ceiling(100.0) * (1 - 1e-9)
        assert math.isinf(model.price_for(target, 100.0))
        return
    assert model.throughput(units, 100.0) >= target * (1 - 1e-9)
    assert units == 1 or model.throughput(units - 1, 100.0) < target
    assert units <= model.max_units


def test_a_fleet_never_reaches_its_asymptote():
    with pytest.raises(ValueError, match="cannot reach"):
        models.SCALE_OUT.units_for(models.SCALE_OUT.ceiling())


@pytest.mark.parametrize(
    "call",
    [
        lambda: models.amdahl_speedup(0.5, "4"),
        lambda: models.amdahl_speedup(0.5, True),
        lambda: models.amdahl_speedup(0.5, []),
        lambda: models.usl_throughput("3", 1000, 0.1, 0.0),
        lambda: models.usl_throughput([True, False], 1000, 0.1, 0.0),
        lambda: models.availability("2", 0.9),
        lambda: models.availability(0.5, 0.9),
        lambda: models.availability([1, 2.5], 0.9),
        lambda: models.downtime_per_year("0.9"),
        lambda: models.downtime_per_year(True),
        lambda: models.vertical_cost("2"),
        lambda: models.horizontal_cost(True),
        lambda: models.horizontal_cost(2.5),
        lambda: models.SCALE_OUT.price(np.array([1.0, 1.5])),
        lambda: models.fit_usl([1, 2, 3], ["a", 2, 3]),
        lambda: models.usl_throughput(4, 1000, 1.5, 0.0),
        lambda: models.usl_peak(1.5, 0.01),
        lambda: models.usl_throughput(1e308, 1000, 0.1, 0.1),
        lambda: models.usl_throughput(10, 1e308, 0.0, 0.0),
        lambda: models.littles_law(arrival_rate=1e308, time_in_system=1e308),
        lambda: models.k_of_n_availability(1, 1e300, 0.9),
        lambda: models.k_of_n_availability(1, 10**9 + 1, 0.9),
        lambda: models.erlang_c(1, 1, 1e300),
        lambda: models.mmc_response_time(1, 1, 10**12),
    ],
)
def test_garbage_is_refused_in_a_sentence(call):
    """Text, booleans, empty input, fractional replicas, σ past 1, overflow and absurd sizes."""
    with pytest.raises(ValueError, match=r"must|too large"):
        call()


def test_erlang_c_for_huge_pools_is_fast_and_right():
    """The recurrence starts near the offered load, so a billion servers take no time."""
    assert models.erlang_c(1, 1, 10**9) == 0.0
    assert 0.99 < models.erlang_c(10**9 - 10, 1, 10**9) < 1.0
    # the shortened recurrence agrees with the full one where both can run
    a, c = 29_500.0, 30_000
    full = 1.0
    for k in range(1, c + 1):
        full = a * full / (k + a * full)
    assert models.erlang_c(a, 1, c) == pytest.approx(c * full / (c - a * (1 - full)), rel=1e-12)


def test_servers_needed_gallops_instead_of_walking():
    """A million requests a second need about a million servers: found by bisection, quickly."""
    c = models.servers_needed(1e6, 1.0, 1.01)
    assert models.mmc_response_time(1e6, 1.0, c) <= 1.01 < models.mmc_response_time(1e6, 1.0, c - 1)


def test_mmc_wait_does_not_overflow_on_huge_rates():
    expected = models.mmc_response_time(1, 1, 2) / 1e308
    assert models.mmc_response_time(1e308, 1e308, 2) == pytest.approx(expected)


def test_k_of_n_for_a_billion_parts_is_fast_and_a_probability():
    value = models.k_of_n_availability(999_000_000, 10**9, 0.999)
    assert 0.4 < value < 0.6


def test_messages_about_huge_targets_stay_short():
    with pytest.raises(ValueError) as raised:
        models.SCALE_OUT.units_for(1e300)
    assert len(str(raised.value)) < 120


@pytest.mark.parametrize(
    "throughput", [[1000, 1000, 1000], [1000, 900, 700], [1000, 500, 200], [1000, 1900, 3500]]
)
def test_fit_usl_on_flat_or_falling_throughput_keeps_sigma_a_share(throughput):
    """Flat data means σ = 1; the fit must say so, not fail on its own candidate σ > 1."""
    single, sigma, kappa = models.fit_usl([1, 2, 4], throughput)
    assert 0.0 <= sigma <= 1.0 and kappa >= 0.0
    fitted = models.usl_throughput(np.array([1, 2, 4]), single, sigma, kappa)
    assert np.allclose(fitted, throughput, rtol=0.25)
