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


class LRUCache:
    """A mapping of at most ``capacity`` entries that evicts the least recently used one.

    ``get`` counts ``hits`` and ``misses``; a hit makes the key the most recently used.
    ``put`` of a new key into a full cache evicts the least recently used key first.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = check_capacity(capacity)
        self.hits = 0
        self.misses = 0
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self._touch = self._data.move_to_end
        self._evict_oldest = self._data.popitem

    def get(self, key: Hashable, default: Any = None) -> Any:
        """The value for ``key`` (now the most recently used), or ``default`` on a miss."""
        data = self._data
        if key in data:
            self._touch(key)
            self.hits += 1
            return data[key]
        self.misses += 1
        return default

    def put(self, key: Hashable, value: Any) -> None:
        """Store ``value`` under ``key`` as the most recently used; evict the oldest key if full."""
        data = self._data
        if key in data:
            self._touch(key)
        elif len(data) >= self.capacity:
            self._evict_oldest(last=False)
        data[key] = value

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

    @property
    def hit_ratio(self) -> float:
        """Hits divided by lookups so far (0.0 before the first lookup)."""
        lookups = self.hits + self.misses
        return self.hits / lookups if lookups else 0.0

    def __repr__(self) -> str:
        return f"LRUCache(capacity={self.capacity}, size={len(self)}, hits={self.hits}, misses={self.misses})"


_MISSING = object()
