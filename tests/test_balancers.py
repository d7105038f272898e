"""Load balancers: each policy's choice, the dispatch simulation, and the policies compared."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scalekit import models, sim
from scalekit.routers.balancers import (
    POLICIES,
    LeastConnections,
    PowerOfTwoChoices,
    RandomChoice,
    RoundRobin,
    dispatch,
    make_balancer,
    simulate_balancer,
)

active_lists = st.lists(st.integers(0, 20), min_size=1, max_size=12)


def test_round_robin_cycles_and_follows_a_resized_pool() -> None:
    balancer = RoundRobin()
    assert [balancer.pick([0] * 3) for _ in range(7)] == [0, 1, 2, 0, 1, 2, 0]
    assert [balancer.pick([5, 0]) for _ in range(3)] == [1, 0, 1]


@given(active=active_lists)
def test_least_connections_picks_the_first_least_busy(active) -> None:
    assert LeastConnections().pick(active) == active.index(min(active))


@settings(max_examples=50)
@given(active=active_lists, seed=st.integers(0, 2**16))
def test_power_of_two_never_beats_a_less_busy_candidate_it_drew(active, seed) -> None:
    rng = np.random.default_rng(seed)
    picked = PowerOfTwoChoices(rng=rng).pick(active)
    replay = np.random.default_rng(seed)
    n = len(active)
    if n == 1:
        assert picked == 0
        return
    first = int(replay.integers(n))
    second = int(replay.integers(n - 1))
    second += second >= first
    assert picked in (first, second)
    assert active[picked] == min(active[first], active[second])


@given(a=st.integers(0, 9), b=st.integers(0, 9), seed=st.integers(0, 1000))
def test_power_of_two_with_two_servers_is_least_connections(a, b, seed) -> None:
    picked = PowerOfTwoChoices(seed=seed).pick([a, b])
    if a != b:
        assert picked == (0 if a < b else 1)


def test_random_policies_are_seeded_and_spread_evenly() -> None:
    picks = [RandomChoice(seed=3).pick([0] * 4) for _ in range(5)]
    assert len(set(picks)) == 1
    balancer = RandomChoice(seed=3)
    counts = np.bincount([balancer.pick([0] * 4) for _ in range(8000)], minlength=4)
    assert counts.min() > 1800 and counts.max() < 2200
    two = PowerOfTwoChoices(seed=4)
    counts = np.bincount([two.pick([0] * 4) for _ in range(8000)], minlength=4)
    assert counts.min() > 1800 and counts.max() < 2200


def test_least_connections_sees_which_server_is_free() -> None:
    arrivals = np.array([0.0, 0.5, 2.0])
    work = np.array([10.0, 1.0, 1.0])  # request 0 ties up server 0 until t=10
    by_count = dispatch(LeastConnections(), arrivals, work, 2)
    blind = dispatch(RoundRobin(), arrivals, work, 2)
    assert by_count.server.tolist() == [0, 1, 1]
    assert by_count.waits.tolist() == [0.0, 0.0, 0.0]
    assert blind.server.tolist() == [0, 1, 0]
    assert blind.waits.tolist() == [0.0, 0.0, 8.0]


def test_speeds_scale_the_time_a_request_takes() -> None:
    run = dispatch(RoundRobin(), np.array([0.0, 0.0]), np.array([1.0, 1.0]), 2, speeds=[1.0, 0.25])
    assert run.service.tolist() == [1.0, 4.0]
    assert run.response.tolist() == [1.0, 4.0]


@settings(max_examples=40)
@given(
    gaps=st.lists(st.floats(0, 5), min_size=1, max_size=40),
    sizes=st.data(),
    policy=st.sampled_from(POLICIES),
)
def test_one_server_is_a_plain_fifo_queue(gaps, sizes, policy) -> None:
    arrivals = np.cumsum(gaps)
    work = np.array(sizes.draw(st.lists(st.floats(0, 5), min_size=len(gaps), max_size=len(gaps))))
    run = dispatch(make_balancer(policy, seed=1), arrivals, work, 1)
    np.testing.assert_allclose(run.waits, sim.fifo_pool(arrivals, work, 1).waits)


def test_every_policy_sees_the_same_stream() -> None:
    runs = simulate_balancer(300, 100, 4, requests=2000, seed=5)
    assert list(runs) == list(POLICIES)
    first = runs["round robin"]
    for run in runs.values():
        np.testing.assert_array_equal(run.arrivals, first.arrivals)
        np.testing.assert_array_equal(run.service, first.service)
    assert first.requests_per_server(4).tolist() == [500] * 4


def test_policies_rank_as_queueing_theory_says() -> None:
    runs = simulate_balancer(3200, 1000, 4, requests=40_000, seed=11)
    mean = {name: run.mean_response for name, run in runs.items()}
    random_model = models.mmc_response_time(800, 1000, 1)
    shared_queue = models.mmc_response_time(3200, 1000, 4)
    assert mean["random"] == pytest.approx(random_model, rel=0.1)
    assert (
        shared_queue < mean["least connections"] < mean["power of two"] < mean["round robin"] < mean["random"]
    )
    assert mean["least connections"] < 1.2 * shared_queue


def test_round_robin_overloads_a_slow_server_that_least_connections_protects() -> None:
    runs = simulate_balancer(3000, 1000, 4, requests=20_000, speeds=[1, 1, 1, 0.5], seed=2)
    assert runs["round robin"].mean_response > 50 * runs["least connections"].mean_response
    share_slow = runs["least connections"].requests_per_server(4)[3] / 20_000
    assert share_slow < 0.2


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: dispatch(RoundRobin(), np.array([1.0, 0.0]), np.array([1.0, 1.0]), 2), "sorted"),
        (lambda: dispatch(RoundRobin(), np.array([0.0]), np.array([1.0, 1.0]), 2), "equal length"),
        (lambda: dispatch(RoundRobin(), np.array([0.0]), np.array([-1.0]), 2), ">= 0"),
        (lambda: dispatch(RoundRobin(), np.array([0.0]), np.array([1.0]), 0), "server count"),
        (lambda: dispatch(RoundRobin(), np.array([0.0]), np.array([1.0]), 2, speeds=[1, 0]), "speeds"),
        (lambda: dispatch(RoundRobin(), np.array([0.0]), np.array([1.0]), 2, speeds=[1]), "speeds"),
        (lambda: make_balancer("fastest"), "unknown balancer"),
        (lambda: RoundRobin().pick([]), "pool is empty"),
        (lambda: LeastConnections().pick([]), "pool is empty"),
        (lambda: simulate_balancer(0, 1, 2, seed=1), "rates must be finite numbers > 0"),
        (lambda: simulate_balancer(1, 1, 2, requests=0, seed=1), "requests"),
        (lambda: simulate_balancer(1, 1, 2), "seed"),
    ],
)
def test_bad_input_is_explained(call, message) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_a_balancer_that_picks_a_missing_server_is_caught() -> None:
    class OffByOne:
        name = "off by one"

        def pick(self, active):
            return len(active)

    with pytest.raises(ValueError, match="picked server 2"):
        dispatch(OffByOne(), np.array([0.0]), np.array([1.0]), 2)


def test_hostile_streams_and_pickers_are_refused() -> None:
    import math

    for arrivals, work in (([0.0, math.nan], [1.0, 1.0]), ([0.0, 1.0], [1.0, math.inf])):
        with pytest.raises(ValueError, match="finite"):
            dispatch(RoundRobin(), np.array(arrivals), np.array(work), 2)
    with pytest.raises(ValueError, match="speeds must be 2 positive numbers"):
        dispatch(RoundRobin(), np.array([0.0]), np.array([1.0]), 2, speeds=[1.0, math.inf])
    for rate in (math.nan, math.inf, "100", True):
        with pytest.raises(ValueError, match="rates must be finite numbers > 0"):
            simulate_balancer(rate, 1000, 2, requests=5, seed=1)

    class FloatPicker:
        name = "float picker"

        def pick(self, active):
            return 1.0

    with pytest.raises(ValueError, match=r"picked server 1\.0"):
        dispatch(FloatPicker(), np.array([0.0]), np.array([1.0]), 2)


def test_round_robin_shared_by_threads_hands_out_every_turn_once() -> None:
    import threading
    from collections import Counter

    balancer = RoundRobin()
    picks: list[int] = []
    lock = threading.Lock()

    def work() -> None:
        mine = [balancer.pick([0, 0, 0, 0]) for _ in range(2_000)]
        with lock:
            picks.extend(mine)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Counter(picks) == {0: 2_000, 1: 2_000, 2: 2_000, 3: 2_000}


def test_garbage_arguments_get_a_sentence() -> None:
    with pytest.raises(ValueError, match="list of names"):
        simulate_balancer(300, 100, 4, requests=100, policies="random", seed=1)
    with pytest.raises(ValueError, match="server count"):
        dispatch(RoundRobin(), np.array([0.0]), np.array([1.0]), float("nan"))
    with pytest.raises(TypeError, match="in-flight count"):
        LeastConnections().pick(None)
