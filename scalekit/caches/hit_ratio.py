"""LRU hit ratio at every cache size at once, and Che's approximation of it.

Mattson's observation (1970): LRU is a *stack algorithm*. Picture all keys in a
stack ordered by last use; a request for a key at depth ``d`` (its *stack distance*:
how many distinct keys were used since its previous request, itself included) hits
in every LRU cache of capacity ``>= d`` and misses in every smaller one. So one
pass that computes each request's stack distance gives the hit ratio for every size.

Che's approximation (2002) needs no trace at all: with independent requests and
popularities ``p``, a key stays cached for about a fixed *characteristic time* ``T``
after its last request, where ``T`` solves ``sum(1 - exp(-p * T)) = capacity``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from scalekit.caches.lru import LRUCache, check_capacity

COLD = np.iinfo(np.int64).max
"""Stack distance of a key's first request: it misses in a cache of any size."""


def stack_distances(trace: Sequence[object] | np.ndarray) -> np.ndarray:
    """Each request's LRU stack distance (``COLD`` for a key's first request).

    The distance of request ``i`` whose key was last requested at ``p`` is one plus
    the number of positions ``j`` in ``(p, i)`` holding the *latest* request of their
    key before ``i`` (their next request comes after ``i``). Counting those for all
    ``i`` at once is a 2-D range count: all such ``j < i`` (easy: every request
    whose next request is after ``i``) minus those ``j <= p`` (done with numpy over a
    merge-sort tree, ``log2(n)`` levels of sorted blocks). O(n log^2 n), vectorised.
    """
    keys = _as_key_ids(trace)
    n = keys.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(keys, kind="stable")
    same_key = keys[order[1:]] == keys[order[:-1]]
    previous = np.full(n, -1, dtype=np.int64)
    following = np.full(n, n, dtype=np.int64)
    previous[order[1:][same_key]] = order[:-1][same_key]
    following[order[:-1][same_key]] = order[1:][same_key]

    repeat = np.flatnonzero(previous >= 0)
    open_before = repeat - np.searchsorted(np.sort(following), repeat, side="right")
    between = open_before - _count_greater_in_prefix(following, previous[repeat] + 1, repeat)
    distances = np.full(n, COLD, dtype=np.int64)
    distances[repeat] = between + 1
    return distances


def lru_hit_ratio_curve(
    trace: Sequence[object] | np.ndarray, sizes: Sequence[int] | np.ndarray, *, warmup: int = 0
) -> np.ndarray:
    """The hit ratio of an LRU cache of each capacity in ``sizes`` on ``trace``, exactly.

    Equal to simulating :class:`~scalekit.caches.LRUCache` once per size, but from one
    pass over the trace. The first ``warmup`` requests fill the cache without being
    counted, so the result estimates the steady state.
    """
    sizes_array = np.asarray(sizes)
    if sizes_array.size and (not np.issubdtype(sizes_array.dtype, np.integer) or (sizes_array < 0).any()):
        raise ValueError(f"cache sizes must be whole numbers >= 0, got {sizes!r}")
    distances = stack_distances(trace)
    counted = _counted(distances.size, warmup)
    distances = distances[warmup:]
    finite = np.sort(distances[distances != COLD])
    hits = np.searchsorted(finite, sizes_array, side="right")
    return hits / counted


def simulate_lru(trace: Sequence[object] | np.ndarray, capacity: int, *, warmup: int = 0) -> float:
    """The hit ratio of one :class:`LRUCache` of ``capacity`` replaying ``trace`` (get, on miss put)."""
    check_capacity(capacity)
    keys = _python_keys(list(trace) if not hasattr(trace, "__len__") else trace)
    counted = _counted(len(keys), warmup)
    cache = LRUCache(capacity)
    get, put = cache.get, cache.put
    for key in keys[:warmup]:
        if get(key) is None:
            put(key, True)
    cache.reset_counts()
    for key in keys[warmup:]:
        if get(key) is None:
            put(key, True)
    return cache.hits / counted


def che_hit_ratio(popularity: Sequence[float] | np.ndarray, capacity: float) -> float:
    """Che's approximation of the steady-state LRU hit ratio for independent requests.

    ``popularity[k]`` is the probability that a request is for key ``k`` (normalised
    here). The characteristic time ``T`` (in requests) solves
    ``sum(1 - exp(-p*T)) = capacity`` by bisection; the hit ratio is
    ``sum(p * (1 - exp(-p*T)))``.
    """
    p = np.asarray(popularity, dtype=float)
    if p.ndim != 1 or p.size == 0 or (p < 0).any() or not np.isfinite(p).all() or p.sum() <= 0:
        raise ValueError("popularity must be a non-empty 1-D array of probabilities >= 0 with a positive sum")
    if not capacity >= 0:
        raise ValueError(f"capacity must be >= 0, got {capacity!r}")
    p = p[p > 0] / p.sum()
    if capacity == 0:
        return 0.0
    if capacity >= p.size:
        return 1.0
    characteristic = characteristic_time(p, capacity)
    return float(np.sum(p * -np.expm1(-p * characteristic)))


def che_size_for_hit_ratio(popularity: Sequence[float] | np.ndarray, target: float) -> float:
    """The cache capacity (in entries, fractional) that Che's approximation says reaches ``target``.

    Both the capacity ``sum(1 - exp(-p*T))`` and the hit ratio ``sum(p * (1 - exp(-p*T)))``
    grow with the characteristic time ``T``, so a bisection on ``T`` finds the size.
    """
    p = np.asarray(popularity, dtype=float)
    if p.ndim != 1 or p.size == 0 or (p < 0).any() or not np.isfinite(p).all() or p.sum() <= 0:
        raise ValueError("popularity must be a non-empty 1-D array of probabilities >= 0 with a positive sum")
    if not 0 <= target < 1:
        raise ValueError(f"target hit ratio must be in [0, 1) (1 needs every key cached), got {target!r}")
    p = p[p > 0] / p.sum()

    def hit_ratio(t: float) -> float:
        return float(np.sum(p * -np.expm1(-p * t)))

    _, high = _bracket_root(hit_ratio, target)
    return float(np.sum(-np.expm1(-p * high)))


def characteristic_time(popularity: np.ndarray, capacity: float) -> float:
    """The ``T`` with ``sum(1 - exp(-p*T)) = capacity``: how long an unrequested key survives."""
    p = np.asarray(popularity, dtype=float)
    if not 0 < capacity < np.count_nonzero(p):
        raise ValueError(f"capacity must be between 0 and the number of keys ({p.size}), got {capacity!r}")

    def occupancy(t: float) -> float:
        return float(np.sum(-np.expm1(-p * t)))

    low, high = _bracket_root(occupancy, capacity)
    return 0.5 * (low + high)


def _bracket_root(increasing: Callable[[float], float], target: float) -> tuple[float, float]:
    """A tight ``(low, high)`` with ``increasing(low) < target <= increasing(high)`` (double, then bisect)."""
    low, high = 0.0, 1.0
    while increasing(high) < target:
        low, high = high, high * 2.0
    for _ in range(200):
        middle = 0.5 * (low + high)
        if increasing(middle) < target:
            low = middle
        else:
            high = middle
        if high - low <= 1e-12 * high:
            break
    return low, high


def _count_greater_in_prefix(values: np.ndarray, ends: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """For each query ``q``: how many ``j < ends[q]`` have ``values[j] > thresholds[q]``.

    Level ``L`` of the merge-sort tree holds ``values`` sorted within blocks of
    ``2**L`` positions, packed as ``block << shift | value`` in one sorted int64 array.
    The prefix ``[0, end)`` is the union of one block per set bit of ``end``; in each
    such block a binary search counts the values above the threshold.
    """
    n = values.size
    shift = int(n + 1).bit_length()
    low_bits = (1 << shift) - 1
    counts = np.zeros(ends.size, dtype=np.int64)
    packed = (np.arange(n, dtype=np.int64) << shift) | values
    level = 0
    while (1 << level) <= n:
        bit = (ends >> level) & 1 == 1
        if bit.any():
            block = (ends[bit] >> level) - 1
            block_end = np.minimum((block + 1) << level, n)
            above = np.searchsorted(packed, (block << shift) | thresholds[bit], side="right")
            counts[bit] += block_end - above
        level += 1
        if (1 << level) <= n:
            packed = ((packed >> (shift + 1)) << shift) | (packed & low_bits)
            packed.sort(kind="stable")
    return counts


def _as_trace(trace: Sequence[object] | np.ndarray) -> np.ndarray:
    """``trace`` as a 1-D array of keys, or a ValueError that says what is wrong with it."""
    if not hasattr(trace, "__len__"):
        trace = list(trace)  # a generator or other iterable of keys
    array = np.asarray(trace)
    if array.ndim != 1:
        raise ValueError(f"a trace must be a 1-D sequence of keys, got shape {array.shape}")
    if np.issubdtype(array.dtype, np.floating) and np.isnan(array).any():
        raise ValueError("a trace key cannot be NaN (NaN is not equal to itself, so it is no key)")
    return array


def _python_keys(trace: Sequence[object] | np.ndarray) -> list[object]:
    """The keys as an :class:`LRUCache` sees them: a list keeps its own objects, so 1 and "1"
    stay two keys (numpy would turn both into the string "1")."""
    array = _as_trace(trace)
    if isinstance(trace, np.ndarray) or array.dtype.kind in "iub":
        return array.tolist()
    return list(trace)


def _as_key_ids(trace: Sequence[object] | np.ndarray) -> np.ndarray:
    if not hasattr(trace, "__len__"):
        trace = list(trace)
    array = _as_trace(trace)
    if array.size and np.issubdtype(array.dtype, np.integer):
        return array.astype(np.int64, copy=False)
    if not isinstance(trace, np.ndarray):
        ids: dict[object, int] = {}
        return np.fromiter((ids.setdefault(key, len(ids)) for key in trace), dtype=np.int64, count=len(trace))
    return np.unique(array, return_inverse=True)[1].astype(np.int64).ravel()


def _counted(n: int, warmup: int) -> int:
    if n == 0:
        raise ValueError("the trace is empty: a hit ratio needs at least one request")
    if isinstance(warmup, bool) or not isinstance(warmup, (int, np.integer)) or not 0 <= warmup < n:
        raise ValueError(
            f"warmup must be a whole number in [0, {n}) for a trace of {n} requests, got {warmup!r}"
        )
    return n - int(warmup)
