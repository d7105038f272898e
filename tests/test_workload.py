"""scalekit.workload: seeded, shaped the way real traffic is."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scalekit import workload


def test_same_seed_same_trace_and_no_global_state():
    np.random.seed(0)
    a = workload.zipf_trace(100, 1000, 1.0, seed=7)
    np.random.random(10)
    b = workload.zipf_trace(100, 1000, 1.0, seed=7)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, workload.zipf_trace(100, 1000, 1.0, seed=8))


def test_unseeded_call_is_refused():
    with pytest.raises(ValueError, match="seed"):
        workload.zipf_trace(10, 10)


@given(st.integers(1, 300), st.floats(0, 2.5))
def test_zipf_popularity_is_a_decreasing_distribution(n, s):
    p = workload.zipf_popularity(n, s)
    assert p.shape == (n,) and np.isclose(p.sum(), 1.0)
    assert (np.diff(p) <= 1e-15).all()


def test_zipf_trace_matches_its_popularity():
    n = 50
    trace = workload.zipf_trace(n, 200_000, 1.1, seed=1)
    assert trace.min() >= 0 and trace.max() < n
    observed = np.bincount(trace, minlength=n) / trace.size
    assert np.abs(observed - workload.zipf_popularity(n, 1.1)).max() < 0.005


def test_poisson_arrivals_have_the_asked_rate():
    times = workload.poisson_arrivals(200.0, 500.0, seed=3)
    assert (np.diff(times) >= 0).all() and times.max() < 500
    assert abs(times.size / 500.0 - 200.0) < 3
    gaps = np.diff(times)
    assert abs(gaps.std() / gaps.mean() - 1.0) < 0.02  # exponential gaps: CV = 1


def test_diurnal_traffic_has_days_a_peak_and_a_spike():
    rps = workload.diurnal_traffic(3, base_rps=1000, spike_multiplier=10, seed=5)
    assert rps.shape == (3 * 24 * 60,)
    day0 = rps[: 24 * 60]
    assert 800 < day0.mean() < 1200
    assert np.argmax(day0) // 60 in range(18, 23)
    assert rps.max() > 8 * day0.max() / 1.6 * 0.9
    assert rps[: 2 * 24 * 60].max() < 2000


def test_follower_counts_have_a_heavy_tail():
    counts = workload.follower_counts(100_000, exponent=2.1, seed=11)
    assert counts.min() >= 1
    assert np.median(counts) <= 3
    assert counts.max() > 1000
    top_share = np.sort(counts)[-1000:].sum() / counts.sum()
    assert top_share > 0.3  # the top 1% hold a large share of all follows


def test_follower_graph_has_no_self_follows_or_duplicates():
    counts = np.array([0, 3, 1, 2, 5])
    followee, follower = workload.follower_graph(counts, seed=2)
    assert (followee != follower).all()
    pairs = set(zip(followee.tolist(), follower.tolist(), strict=True))
    assert len(pairs) == followee.size
    assert (np.bincount(followee, minlength=5) <= np.minimum(counts, 4)).all()


@pytest.mark.parametrize(
    "call",
    [
        lambda: workload.zipf_popularity(0),
        lambda: workload.zipf_popularity(5, -1),
        lambda: workload.poisson_arrivals(0, 10, seed=1),
        lambda: workload.diurnal_traffic(1, daily_swing=1.5, seed=1),
        lambda: workload.follower_counts(10, exponent=1, seed=1),
    ],
)
def test_bad_input_is_a_clear_value_error(call):
    with pytest.raises(ValueError, match="must"):
        call()
