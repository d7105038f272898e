"""Benchmark: scalekit's LRUCache against cachetools and functools, and the one-pass curve.

One Zipf(0.9) trace of 1e6 requests over 1e5 keys, capacity 1e4. Each cache replays
the same access pattern, "get, on miss put" (for functools.lru_cache: a call of a
cached identity function, which does the same inside). Then the hit ratio at every
cache size from stack distances, against one single-size simulation. Best of several
repeats; ratios are measured in this run. Run: .venv/bin/python benchmarks/bench_caches.py
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable

import cachetools
import numpy as np

from scalekit.caches import LRUCache, lru_hit_ratio_curve, simulate_lru
from scalekit.workload import zipf_trace

N_KEYS = 100_000
N_REQUESTS = 1_000_000
CAPACITY = 10_000
REPEATS = 3


def replay_scalekit(keys: list[int]) -> int:
    cache = LRUCache(CAPACITY)
    get, put = cache.get, cache.put
    for key in keys:
        if get(key) is None:
            put(key, key)
    return cache.hits


def replay_cachetools(keys: list[int]) -> int:
    cache = cachetools.LRUCache(CAPACITY)
    get = cache.get
    misses = 0
    for key in keys:
        if get(key) is None:
            cache[key] = key
            misses += 1
    return len(keys) - misses


def replay_functools(keys: list[int]) -> int:
    @functools.lru_cache(maxsize=CAPACITY)
    def identity(key: int) -> int:
        return key

    for key in keys:
        identity(key)
    return identity.cache_info().hits


def best_time(func: Callable[[], object]) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(REPEATS):
        started = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - started)
    return best, result


def main() -> None:
    trace = zipf_trace(N_KEYS, N_REQUESTS, 0.9, seed=2024)
    keys = trace.tolist()
    sizes = np.arange(0, N_KEYS + 1)
    rows = []
    timings = {}
    for name, func in [
        ("scalekit LRUCache", lambda: replay_scalekit(keys)),
        ("cachetools.LRUCache", lambda: replay_cachetools(keys)),
        ("functools.lru_cache", lambda: replay_functools(keys)),
        ("single-size simulation", lambda: simulate_lru(trace, CAPACITY)),
        ("all-sizes curve (stack distances)", lambda: lru_hit_ratio_curve(trace, sizes)),
    ]:
        seconds, result = best_time(func)
        timings[name] = seconds
        if isinstance(result, np.ndarray):
            detail = f"hit ratio at {CAPACITY}: {result[CAPACITY]:.4f} (one of {len(sizes):,} sizes)"
        elif isinstance(result, float):
            detail = f"hit ratio {result:.4f}"
        else:
            detail = f"hits {result}"
        rows.append((name, seconds, N_REQUESTS / seconds, detail))

    cache_hits = {rows[i][3] for i in range(3)}
    if len(cache_hits) != 1:
        raise AssertionError(f"the three LRU implementations disagree on hits: {cache_hits}")
    print(f"Zipf(0.9): {N_REQUESTS:,} requests, {N_KEYS:,} keys, capacity {CAPACITY:,}, best of {REPEATS}")
    print(f"{'':36s}{'seconds':>9s}{'requests/s':>14s}  result")
    for name, seconds, rate, detail in rows:
        print(f"{name:36s}{seconds:9.3f}{rate:14,.0f}  {detail}")
    ours = timings["scalekit LRUCache"]
    versus_cachetools = timings["cachetools.LRUCache"] / ours
    versus_functools = timings["functools.lru_cache"] / ours
    print()
    print(f"LRUCache speed / cachetools.LRUCache   = {versus_cachetools:5.2f}x  (target >= 2)")
    print(f"LRUCache speed / functools.lru_cache   = {versus_functools:5.2f}x  (target >= 0.5)")
    curve_ratio = timings["all-sizes curve (stack distances)"] / timings["single-size simulation"]
    print(f"all-sizes curve time / one simulation  = {curve_ratio:5.2f}x  (target <= 10)")


if __name__ == "__main__":
    main()
