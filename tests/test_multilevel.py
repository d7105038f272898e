"""The multi-level cache model reproduces the outline's numbers; the simulation agrees with it."""

from __future__ import annotations

import numpy as np
import pytest

from scalekit.caches import OUTLINE_HIERARCHY, CacheHierarchy, CacheLevel


def test_outline_shares_become_conditional_hit_ratios() -> None:
    assert OUTLINE_HIERARCHY.hit_ratios == pytest.approx([0.60, 0.75, 0.80, 1.0])
    assert OUTLINE_HIERARCHY.shares() == pytest.approx([0.60, 0.30, 0.08, 0.02])
    assert OUTLINE_HIERARCHY.reach() == pytest.approx([1.0, 0.40, 0.10, 0.02])


def test_outline_numbers_7_4_ms_and_200_requests_per_second() -> None:
    assert OUTLINE_HIERARCHY.mean_latency_ms() == pytest.approx(7.4)
    assert OUTLINE_HIERARCHY.mean_latency_ms() != pytest.approx(5.0, abs=0.5)
    assert OUTLINE_HIERARCHY.load_rps(10_000)[-1] == pytest.approx(200.0)
    assert OUTLINE_HIERARCHY.origin_reduction() == pytest.approx(50.0)


def test_cumulative_latency_charges_the_misses_on_the_way_down() -> None:
    # 0.3*20 + 0.08*(20+5) + 0.02*(20+5+50)
    assert OUTLINE_HIERARCHY.mean_latency_ms(cumulative=True) == pytest.approx(9.5)


@pytest.mark.parametrize("cumulative", [False, True])
def test_seeded_simulation_agrees_with_model(cumulative: bool) -> None:
    result = OUTLINE_HIERARCHY.simulate(200_000, cumulative=cumulative, seed=5)
    shares = OUTLINE_HIERARCHY.shares()
    spread = np.sqrt(shares * (1 - shares) / 200_000)
    assert np.all(np.abs(result.shares - shares) < 4 * spread)
    expected = OUTLINE_HIERARCHY.mean_latency_ms(cumulative=cumulative)
    assert result.mean_latency_ms == pytest.approx(expected, rel=0.02)
    again = OUTLINE_HIERARCHY.simulate(200_000, cumulative=cumulative, seed=5)
    assert again.served.tolist() == result.served.tolist()


def test_changing_one_levels_hit_ratio_changes_only_what_is_below_it() -> None:
    worse_redis = CacheHierarchy(
        [
            CacheLevel("browser", 0.6, 0),
            CacheLevel("CDN", 0.75, 20),
            CacheLevel("Redis", 0.5, 5),
            CacheLevel("database", 1.0, 50),
        ]
    )
    assert worse_redis.shares()[:2] == pytest.approx([0.6, 0.3])
    assert worse_redis.load_rps(10_000)[-1] == pytest.approx(500.0)


def test_a_level_that_reaches_nobody_gets_zero_share() -> None:
    hierarchy = CacheHierarchy.from_shares(["all", "never", "db"], [1.0, 0.0, 0.0], [1, 2, 3])
    assert hierarchy.shares() == pytest.approx([1.0, 0.0, 0.0])
    assert hierarchy.origin_reduction() == float("inf")


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: CacheHierarchy.from_shares(["a", "b"], [0.6, 0.3], [0, 1]), "add up to 1"),
        (lambda: CacheHierarchy.from_shares(["a", "b"], [1.2, -0.2], [0, 1]), "add up to 1"),
        (lambda: CacheHierarchy.from_shares(["a"], [0.5, 0.5], [0, 1]), "one entry per level"),
        (lambda: CacheHierarchy([CacheLevel("a", 0.5, 1)]), "must answer every request"),
        (lambda: CacheHierarchy([]), "at least one level"),
        (lambda: CacheLevel("a", 1.5, 1), r"hit ratio of 'a' must be in \[0, 1\]"),
        (lambda: CacheLevel("a", 0.5, -1), "latency of 'a'"),
        (lambda: OUTLINE_HIERARCHY.simulate(0, seed=1), "n_requests"),
        (lambda: OUTLINE_HIERARCHY.simulate(10), "seed"),
        (lambda: OUTLINE_HIERARCHY.load_rps(-1), "total_rps"),
    ],
)
def test_bad_input_is_a_clear_error(build, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()


@pytest.mark.parametrize(
    ("hit_ratio", "latency_ms"), [("0.5", 5.0), (True, 5.0), (0.5, "5"), (0.5, float("inf")), (0.5, None)]
)
def test_a_level_that_is_not_numbers_is_a_value_error(hit_ratio, latency_ms):
    """A text hit ratio raised Python's "'<=' not supported"; an infinite latency was accepted."""
    with pytest.raises(ValueError, match="'x'"):
        CacheLevel("x", hit_ratio, latency_ms)


@pytest.mark.parametrize("total_rps", [float("inf"), float("nan"), -1, "100"])
def test_load_needs_a_finite_request_rate(total_rps):
    with pytest.raises(ValueError, match="total_rps must be a finite number"):
        OUTLINE_HIERARCHY.load_rps(total_rps)
