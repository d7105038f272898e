"""One-pass LRU hit-ratio curves (Mattson) against direct simulation, and Che's approximation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scalekit.caches import (
    COLD,
    che_hit_ratio,
    che_size_for_hit_ratio,
    lru_hit_ratio_curve,
    simulate_lru,
    stack_distances,
)
from scalekit.workload import zipf_popularity, zipf_trace


def test_stack_distances_of_a_small_trace_by_hand() -> None:
    # a at 3 saw {b, c} since its last use -> 3; b at 4 saw {c, a} -> 3; b at 5 -> 1; a at 7 saw {b, d} -> 3
    got = stack_distances(["a", "b", "c", "a", "b", "b", "d", "a"])
    assert got.tolist() == [COLD, COLD, COLD, 3, 3, 1, COLD, 3]


@settings(max_examples=200)
@given(trace=st.lists(st.integers(0, 12), min_size=1, max_size=80))
def test_curve_equals_direct_simulation_at_every_size(trace: list[int]) -> None:
    sizes = np.arange(1, 15)
    expected = [simulate_lru(trace, int(size)) for size in sizes]
    assert lru_hit_ratio_curve(trace, sizes).tolist() == expected


@pytest.mark.parametrize("exponent", [0.6, 0.9, 1.2])
def test_curve_equals_simulation_on_a_zipf_trace_with_warmup(exponent: float) -> None:
    trace = zipf_trace(2_000, 30_000, exponent, seed=7)
    sizes = [1, 10, 100, 500, 1_999, 2_000]
    curve = lru_hit_ratio_curve(trace, sizes, warmup=5_000)
    assert curve.tolist() == [simulate_lru(trace, size, warmup=5_000) for size in sizes]
    assert np.all(np.diff(curve) >= 0)


def test_size_zero_hits_nothing_and_a_cache_of_all_keys_misses_only_first_requests() -> None:
    trace = zipf_trace(50, 1_000, 1.0, seed=3)
    zero, everything = lru_hit_ratio_curve(trace, [0, 50])
    assert zero == 0.0
    assert everything == (trace.size - np.unique(trace).size) / trace.size


@pytest.mark.parametrize(("exponent", "capacity"), [(0.7, 200), (0.9, 500), (1.1, 100)])
def test_che_within_one_percent_of_simulation_after_warmup(exponent: float, capacity: int) -> None:
    n_keys = 5_000
    trace = zipf_trace(n_keys, 300_000, exponent, seed=11)
    simulated = lru_hit_ratio_curve(trace, [capacity], warmup=50_000)[0]
    predicted = che_hit_ratio(zipf_popularity(n_keys, exponent), capacity)
    assert predicted == pytest.approx(simulated, rel=0.01)


def test_che_edges_and_normalisation() -> None:
    popularity = zipf_popularity(100, 1.0)
    assert che_hit_ratio(popularity, 0) == 0.0
    assert che_hit_ratio(popularity, 100) == 1.0
    assert che_hit_ratio(popularity * 7, 10) == pytest.approx(che_hit_ratio(popularity, 10))
    uniform = np.full(100, 0.01)
    assert che_hit_ratio(uniform, 25) == pytest.approx(0.25)


@pytest.mark.parametrize("target", [0.5, 0.9, 0.99])
def test_che_size_for_hit_ratio_inverts_che_hit_ratio(target: float) -> None:
    popularity = zipf_popularity(2_000, 0.9)
    size = che_size_for_hit_ratio(popularity, target)
    assert 0 < size < 2_000
    assert che_hit_ratio(popularity, size) == pytest.approx(target, rel=1e-6)
    assert che_hit_ratio(popularity, size * 0.9) < target


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: lru_hit_ratio_curve([1, 2], [-1]), "sizes must be whole numbers >= 0"),
        (lambda: lru_hit_ratio_curve([1, 2], [1.5]), "sizes must be whole numbers >= 0"),
        (lambda: lru_hit_ratio_curve([1, 2], [1], warmup=2), "warmup must be"),
        (lambda: lru_hit_ratio_curve([[1, 2]], [1]), "1-D"),
        (lambda: simulate_lru([1, 2], 0), "capacity"),
        (lambda: che_hit_ratio([], 1), "popularity"),
        (lambda: che_hit_ratio([0.5, -0.1], 1), "popularity"),
        (lambda: che_hit_ratio([0.5, 0.5], -1), "capacity must be >= 0"),
        (lambda: che_size_for_hit_ratio([0.5, 0.5], 1.0), "target hit ratio must be in"),
    ],
)
def test_bad_input_is_a_clear_error(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_hostile_traces_are_clear_errors_or_work():
    """An empty trace said "warmup must be in [0, 0)"; a generator said "got shape ()"; NaN keys made
    the one-pass curve (NaN equal to NaN) disagree with the simulation (NaN unequal to itself)."""
    with pytest.raises(ValueError, match="the trace is empty"):
        lru_hit_ratio_curve([], [1, 2])
    with pytest.raises(ValueError, match="the trace is empty"):
        simulate_lru([], 1)
    with pytest.raises(ValueError, match="cannot be NaN"):
        lru_hit_ratio_curve([1.0, float("nan"), float("nan")], [1, 2])
    with pytest.raises(ValueError, match="cannot be NaN"):
        simulate_lru([1.0, float("nan"), float("nan")], 1)
    keys = [1, 2, 1, 3, 1]
    assert list(stack_distances(key for key in keys)) == list(stack_distances(keys))
    assert simulate_lru((key for key in keys), 2) == simulate_lru(keys, 2)
    assert len(stack_distances([])) == 0


def test_keys_of_different_types_stay_different_keys_as_in_lru_cache():
    """numpy turned [1, "1"] into two equal strings: the curve saw one key where LRUCache sees two."""
    trace = [1, "1", 1, "1", 2, 1]
    curve = lru_hit_ratio_curve(trace, [1, 2, 3])
    assert list(curve) == [simulate_lru(trace, size) for size in (1, 2, 3)]
    assert curve[1] == 2 / 6
