"""scalekit.sim: the simulation agrees with the closed forms and with SimPy."""

import numpy as np
import pytest
import simpy

from scalekit import models, sim


def test_lindley_by_hand():
    run = sim.fifo_pool(np.array([0.0, 1.0, 1.5, 10.0]), np.array([2.0, 2.0, 1.0, 1.0]), servers=1)
    assert run.waits.tolist() == [0.0, 1.0, 2.5, 0.0]


@pytest.mark.parametrize(("rate", "mu", "c"), [(0.5, 1, 1), (0.8, 1, 1), (8, 1, 10), (30, 4, 9)])
def test_mmc_simulation_matches_erlang_c(rate, mu, c):
    run = sim.mmc(rate, mu, c, requests=200_000, seed=42)
    assert run.mean_response == pytest.approx(models.mmc_response_time(rate, mu, c), rel=0.06)


def test_in_system_at_counts_requests_inside_by_hand():
    run = sim.fifo_pool(np.array([0.0, 1.0, 1.5]), np.array([2.0, 2.0, 1.0]))  # finish at 2, 4, 5
    assert run.in_system_at(np.array([0.5, 1.2, 2.5, 4.5, 6.0])).tolist() == [1, 2, 2, 1, 0]


def test_littles_law_holds_on_a_simulated_run():
    run = sim.mmc(5, 1, 8, requests=100_000, seed=3)
    horizon = run.arrivals[-1]
    sampled_l = run.in_system_at(np.linspace(0.1 * horizon, 0.9 * horizon, 20_000)).mean()
    assert sampled_l == pytest.approx(5 * models.mmc_response_time(5, 1, 8), rel=0.03)
    assert sampled_l == pytest.approx(5 * run.mean_response, rel=0.03)


def test_matches_simpy_request_by_request():
    rng = np.random.default_rng(9)
    arrivals = np.cumsum(rng.exponential(0.3, 500))
    service = rng.exponential(0.8, 500)
    ours = sim.fifo_pool(arrivals, service, servers=3)

    env = simpy.Environment()
    pool = simpy.Resource(env, capacity=3)
    waits = np.zeros(500)

    def customer(i):
        yield env.timeout(arrivals[i])
        with pool.request() as slot:
            yield slot
            waits[i] = env.now - arrivals[i]
            yield env.timeout(service[i])

    for i in range(500):
        env.process(customer(i))
    env.run()
    assert np.allclose(ours.waits, waits)


def test_fluid_backlog_grows_under_overload_and_drains_after():
    arrivals = np.array([5.0, 15.0, 15.0, 5.0, 5.0, 5.0])
    backlog = sim.fluid_backlog(arrivals, 10.0, step=1.0)
    assert backlog.tolist() == [0.0, 5.0, 10.0, 5.0, 0.0, 0.0]
    assert sim.fluid_backlog(arrivals, np.array([20.0] * 6)).max() == 0.0


@pytest.mark.parametrize(
    ("rates", "capacity", "step", "message"),
    [
        ([1.0, float("nan"), 1.0], 0.5, 1.0, "finite numbers"),
        ([1.0, float("inf")], float("inf"), 1.0, "finite numbers"),
        ([1.0, 2.0], 0.5, float("nan"), "step must be > 0"),
        ([1.0, -2.0], 0.5, 1.0, ">= 0"),
    ],
)
def test_fluid_backlog_refuses_what_it_cannot_compute(rates, capacity, step, message):
    """NaN once read as an empty queue: ``max(0.0, nan)`` is 0.0."""
    with pytest.raises(ValueError, match=message):
        sim.fluid_backlog(np.array(rates), capacity, step=step)


def test_bad_input():
    with pytest.raises(ValueError, match="sorted"):
        sim.fifo_pool(np.array([1.0, 0.0]), np.array([1.0, 1.0]))
    with pytest.raises(ValueError, match="server count"):
        sim.fifo_pool(np.array([0.0]), np.array([1.0]), servers=0)


def _evenly_spaced_arrivals(rates: np.ndarray, step: float) -> np.ndarray:
    """Requests arriving at each step's rate, spread evenly over the step."""
    times = []
    for index, rate in enumerate(rates):
        count = round(float(rate) * step)
        times.extend(index * step + (np.arange(count) + 0.5) * step / max(count, 1))
    return np.asarray(times)


def _waits_at_varying_capacity(arrivals: np.ndarray, capacity: np.ndarray, step: float) -> np.ndarray:
    """One server working at ``capacity[t]`` requests per second, requests served in order."""
    boundaries = np.arange(len(capacity) + 1) * step
    work_done = np.concatenate([[0.0], np.cumsum(capacity * step)])
    waits, free_at = np.empty_like(arrivals), 0.0
    for index, arrive in enumerate(arrivals):
        start = max(arrive, free_at)
        waits[index] = start - arrive
        free_at = np.interp(np.interp(start, boundaries, work_done) + 1.0, work_done, boundaries)
    return waits


def test_fifo_wait_by_hand():
    rates = np.array([10.0, 30.0, 30.0, 10.0, 0.0, 0.0])
    assert sim.fifo_wait(rates, 20.0, step=1.0).tolist() == [0.0, 0.0, 0.5, 1.0, 0.5, 0.0]
    assert sim.worst_fifo_wait(rates, 20.0, step=1.0) == 1.0


def test_fifo_wait_matches_a_fifo_server_at_constant_capacity():
    rng = np.random.default_rng(11)
    rates = rng.choice([40.0, 80.0, 160.0], size=12)
    arrivals = _evenly_spaced_arrivals(rates, 1.0)
    run = sim.fifo_pool(arrivals, np.full(arrivals.size, 1 / 100), servers=1)
    fluid = sim.fifo_wait(rates, 100.0, step=1.0, at=arrivals)
    np.testing.assert_allclose(run.waits, fluid, atol=0.03)
    assert sim.worst_fifo_wait(rates, 100.0, step=1.0) == pytest.approx(run.waits.max(), abs=0.03)


def test_fifo_wait_follows_ramping_capacity_and_is_below_backlog_over_capacity():
    rates = np.full(20, 100.0)
    capacity = np.linspace(20.0, 200.0, 20)
    arrivals = _evenly_spaced_arrivals(rates, 1.0)
    reference = _waits_at_varying_capacity(arrivals, capacity, 1.0)
    fluid = sim.fifo_wait(rates, capacity, step=1.0, at=arrivals)
    np.testing.assert_allclose(fluid, reference, atol=0.05)
    backlog_over_capacity = (sim.fluid_backlog(rates, capacity, step=1.0) / capacity).max()
    assert sim.worst_fifo_wait(rates, capacity, step=1.0) < backlog_over_capacity


def test_fifo_wait_serves_leftover_work_at_the_last_capacity():
    assert sim.fifo_wait(np.array([0.0, 30.0]), np.array([10.0, 10.0]), step=1.0, at=[2.0]).tolist() == [2.0]
    assert sim.fifo_wait(np.array([0.0, 30.0]), np.array([10.0, 0.0]), step=1.0, at=[2.0])[0] == np.inf


@pytest.mark.parametrize(
    ("rates", "capacity", "step", "at"),
    [
        ([], 1.0, 1.0, None),
        ([1.0, np.nan], 1.0, 1.0, None),
        ([1.0], -1.0, 1.0, None),
        ([1.0], 1.0, 0.0, None),
        ([1.0], 1.0, 1.0, [5.0]),
    ],
)
def test_fifo_wait_refuses_bad_input(rates, capacity, step, at):
    with pytest.raises(ValueError):
        sim.fifo_wait(np.asarray(rates, dtype=float), capacity, step=step, at=at)
