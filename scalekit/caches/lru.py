"""A least-recently-used (LRU) cache: keep the ``capacity`` most recently used keys.

An :class:`~collections.OrderedDict` remembers the order keys were last used: a hit
moves its key to the back, and a put into a full cache drops the key at the front.
Both are O(1). In production use :func:`functools.lru_cache` (to memoise a function)
or ``cachetools.LRUCache`` (a mapping); this one is short enough to read in a minute
and is tested against cachetools.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Iterator
from numbers import Integral
from typing import Any


def check_capacity(capacity: int) -> int:
    """Return ``capacity`` if it is a whole number >= 1, else raise a ``ValueError`` that says so."""
    if isinstance(capacity, bool) or not isinstance(capacity, Integral) or capacity < 1:
        raise ValueError(f"cache capacity must be a whole number >= 1, got {capacity!r}")
    return int(capacity)


_MISSING = object()


class LRUCache:
    """A mapping of at most ``capacity`` entries that evicts the least recently used one.

    ``get`` counts ``hits`` and ``misses``; a hit makes the key the most recently used.
    ``put`` of a new key into a full cache evicts the least recently used key.

    ``get`` and ``put`` are built in ``__init__`` as closures over local names rather
    than written as methods: a cache sits on the hot path, and local names are the
    cheapest lookups in CPython (``benchmarks/bench_caches.py`` measures about 20-30 %
    over plain methods). The price: a subclass cannot override ``get``/``put`` (wrap
    the cache instead), and copies are made by replaying the entries (``__copy__``).

    Not thread-safe, like cachetools' caches: threads racing on one cache can push it past
    ``capacity`` or raise ``KeyError``. Threads that share one must hold a
    :class:`threading.Lock` around each call (``functools.lru_cache`` locks by itself).
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        overridden = {"get", "put", "reset_counts"} & set(vars(cls))
        if overridden:
            raise TypeError(
                f"{cls.__name__} overrides {sorted(overridden)}, but LRUCache builds those per instance "
                "for speed, so the override would be ignored: wrap an LRUCache instead of subclassing it"
            )

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity = check_capacity(capacity)
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        data = self._data
        touch, evict_oldest = data.move_to_end, data.popitem
        hits = misses = 0

        def get(key: Hashable, default: Any = None) -> Any:
            """The value for ``key`` (now the most recently used), or ``default`` on a miss."""
            nonlocal hits, misses
            if key in data:
                touch(key)
                hits += 1
                return data[key]
            misses += 1
            return default

        def put(key: Hashable, value: Any) -> None:
            """Store ``value`` under ``key`` as the most recently used; evict the oldest key if full."""
            if key in data:
                touch(key)
            elif len(data) >= capacity:
                evict_oldest(False)  # popitem(last=False); a keyword argument costs time here
            data[key] = value

        def counts() -> tuple[int, int]:
            return hits, misses

        def reset_counts() -> None:
            set_counts(0, 0)

        def set_counts(new_hits: int, new_misses: int) -> None:
            nonlocal hits, misses
            hits, misses = new_hits, new_misses

        self.get = get
        self.put = put
        self._counts = counts
        self.reset_counts = reset_counts
        self._set_counts = set_counts

    @property
    def capacity(self) -> int:
        """The most entries the cache holds."""
        return self._capacity

    @property
    def hits(self) -> int:
        """Lookups that found their key (since creation or :meth:`reset_counts`)."""
        return self._counts()[0]

    @property
    def misses(self) -> int:
        """Lookups that did not find their key."""
        return self._counts()[1]

    @property
    def hit_ratio(self) -> float:
        """Hits divided by lookups so far (0.0 before the first lookup)."""
        hits, misses = self._counts()
        return hits / (hits + misses) if hits + misses else 0.0

    def delete(self, key: Hashable) -> bool:
        """Remove ``key``; return whether it was there."""
        return self._data.pop(key, _MISSING) is not _MISSING

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        """Whether ``key`` is cached. Looking does not count as a use."""
        return key in self._data

    def keys(self) -> list[Hashable]:
        """The cached keys, least recently used first."""
        return list(self._data)

    def items(self) -> Iterator[tuple[Hashable, Any]]:
        """``(key, value)`` pairs, least recently used first."""
        return iter(list(self._data.items()))

    def __copy__(self) -> LRUCache:
        """A new cache with the same entries (in the same order) and counters."""
        twin = type(self)(self._capacity)
        twin._data.update(self._data)
        hits, misses = self._counts()
        twin._set_counts(hits, misses)
        return twin

    def __deepcopy__(self, memo: dict[int, Any]) -> LRUCache:
        import copy

        twin = type(self)(self._capacity)
        for key, value in self._data.items():
            twin._data[copy.deepcopy(key, memo)] = copy.deepcopy(value, memo)
        twin._set_counts(*self._counts())
        return twin

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self._capacity, list(self._data.items()), *self._counts()))

    def __repr__(self) -> str:
        hits, misses = self._counts()
        return f"LRUCache(capacity={self.capacity}, size={len(self)}, hits={hits}, misses={misses})"


def _rebuild(cls: type[LRUCache], capacity: int, items: list[tuple[Hashable, Any]], hits: int, misses: int):
    cache = cls(capacity)
    cache._data.update(items)
    cache._set_counts(hits, misses)
    return cache
