"""Checks for the exercises of notebook 05 (caching)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from scalekit.caches import OUTLINE_HIERARCHY, CacheHierarchy, CacheLevel, TTLCache, lru_hit_ratio_curve
from scalekit.clock import SimClock
from scalekit.exercises.feedback import Feedback, check_number, correct, not_answered, wrong


def _curve(trace: Sequence[int] | np.ndarray, warmup: int) -> np.ndarray:
    sizes = np.arange(0, np.unique(np.asarray(trace)).size + 1)
    return lru_hit_ratio_curve(trace, sizes, warmup=warmup)


def smallest_size_for(trace: Sequence[int] | np.ndarray, target: float, *, warmup: int = 0) -> int | None:
    """The smallest LRU capacity whose hit ratio on ``trace`` (after ``warmup``) reaches ``target``."""
    reached = np.flatnonzero(_curve(trace, warmup) >= target)
    return int(reached[0]) if reached.size else None


def check_cache_size(
    answer: object, trace: Sequence[int] | np.ndarray, target: float = 0.9, *, warmup: int = 0
) -> Feedback:
    """Is ``answer`` the smallest LRU capacity that reaches ``target`` hit ratio on ``trace``?"""
    missing = not_answered(answer)
    if missing is not None:
        return missing
    if isinstance(answer, bool) or not isinstance(answer, (int, np.integer)):
        return wrong(f"a cache size is a whole number of entries (an int), got {answer!r}.")
    size = int(answer)
    if size < 0:
        return wrong(f"a cache size cannot be negative, got {size}.")
    curve = _curve(trace, warmup)
    reached = np.flatnonzero(curve >= target)
    if not reached.size:
        return wrong(f"no size reaches {target:.0%} on this trace: first requests always miss.")
    expected = int(reached[0])
    ratio = curve[min(size, curve.size - 1)]
    if size == expected:
        return correct(
            f"{size:,} entries give a {ratio:.2%} hit ratio; {size - 1:,} give only {curve[size - 1]:.2%}."
        )
    if size < expected:
        return wrong(f"{size:,} entries give a {ratio:.2%} hit ratio, short of {target:.0%}.")
    return wrong(
        f"{size:,} entries reach {ratio:.2%}, but a smaller cache also reaches {target:.0%}: "
        "find the first size where the curve crosses the target."
    )


def cdn_outage_db_load(total_rps: float = 10_000) -> float:
    """Database requests per second in the outline's hierarchy when the CDN answers nothing."""
    levels = list(OUTLINE_HIERARCHY.levels)
    levels[1] = CacheLevel(levels[1].name, 0.0, levels[1].latency_ms)
    return float(CacheHierarchy(levels).load_rps(total_rps)[-1])


def check_cdn_outage(answer: object) -> Feedback:
    """Database load (req/s) at 10,000 req/s when the CDN's hit ratio drops to 0."""
    return check_number(
        answer,
        cdn_outage_db_load(),
        what="the database load in requests per second",
        hint="Keep the browser (60%) and Redis (80% of what reaches it) hit ratios; "
        "only the CDN's becomes 0. What fraction of requests now reaches the database?",
    )


def ttl_misses(period: float = 25.0, ttl: float = 60.0, duration: float = 600.0) -> int:
    """Misses of a key read every ``period`` s for ``duration`` s via a ``TTLCache`` (get, on miss put)."""
    clock = SimClock()
    cache = TTLCache(1, ttl, clock=clock)
    for when in np.arange(0.0, duration, period):
        clock.advance_to(float(when))
        if cache.get("hot") is None:
            cache.put("hot", "value")
    return cache.misses


def check_ttl_misses(answer: object) -> Feedback:
    """Misses in 10 minutes for a key read every 25 s with a 60 s TTL."""
    missing = not_answered(answer)
    if missing is not None:
        return missing
    if isinstance(answer, bool) or not isinstance(answer, (int, np.integer)):
        return wrong(f"a number of misses is a whole number (an int), got {answer!r}.")
    expected = ttl_misses()
    reads = len(np.arange(0.0, 600.0, 25.0))
    if int(answer) == expected:
        return correct(f"{expected} of the {reads} reads miss: each refill then serves the next two reads.")
    if int(answer) == 1:
        return wrong("the TTL is counted from the put, not from the last read: reads do not extend it.")
    return wrong(
        f"{answer} is not it: there are {reads} reads (t = 0, 25, ..., 575 s); an entry put at t is "
        "a hit while now < t + 60."
    )
