"""A TTL cache: entries expire ``ttl`` seconds after they were written.

Expiry bounds staleness: whatever the source of truth does, a reader sees a value at
most ``ttl`` seconds old. On top of that the cache holds at most ``capacity`` entries
and evicts the least recently used one when full, after first dropping expired ones.
Time comes from a clock argument, so tests and notebooks use a
:class:`~scalekit.clock.SimClock` and get exact, repeatable expiry. In production use
``cachetools.TTLCache``, or Redis ``SET key value EX ttl`` for a cache shared by processes.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

from scalekit.caches.lru import check_capacity
from scalekit.clock import Clock, RealClock


class TTLCache:
    """At most ``capacity`` entries, each readable until ``ttl`` seconds after its last ``put``.

    An entry written at time ``t`` is a hit while ``clock.now() < t + ttl`` and a miss
    from then on; reading does not extend its life. ``ttl=0`` caches nothing: every ``get`` misses.
    Not thread-safe (nor is cachetools'): threads that share one hold a :class:`threading.Lock`
    around each call, or a racing eviction raises ``KeyError`` or "mutated during iteration".
    """

    def __init__(self, capacity: int, ttl: float, clock: Clock | None = None) -> None:
        self.capacity = check_capacity(capacity)
        if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or not ttl >= 0:
            raise ValueError(f"ttl must be a number of seconds >= 0, got {ttl!r}")
        self.ttl = float(ttl)
        self.clock: Clock = clock if clock is not None else RealClock()
        self.hits = 0
        self.misses = 0
        self._data: OrderedDict[Hashable, tuple[Any, float]] = OrderedDict()
        self._expiry: OrderedDict[Hashable, float] = OrderedDict()

    def get(self, key: Hashable, default: Any = None) -> Any:
        """The value for ``key`` if it has not expired (now the most recently used), else ``default``."""
        entry = self._data.get(key)
        if entry is not None:
            value, expires_at = entry
            if self.clock.now() < expires_at:
                self._data.move_to_end(key)
                self.hits += 1
                return value
            self._remove(key)
        self.misses += 1
        return default

    def put(self, key: Hashable, value: Any) -> None:
        """Store ``value`` under ``key`` for ``ttl`` seconds from now, evicting if the cache is full."""
        now = self.clock.now()
        self._remove(key)
        self._drop_expired(now)
        if len(self._data) >= self.capacity:
            oldest, _ = self._data.popitem(last=False)
            del self._expiry[oldest]
        expires_at = now + self.ttl
        self._data[key] = (value, expires_at)
        self._expiry[key] = expires_at

    def delete(self, key: Hashable) -> bool:
        """Remove ``key``; return whether a live (unexpired) entry was there."""
        entry = self._data.get(key)
        self._remove(key)
        return entry is not None and self.clock.now() < entry[1]

    def expire(self) -> int:
        """Drop every expired entry now; return how many were dropped."""
        return self._drop_expired(self.clock.now())

    def __len__(self) -> int:
        """The number of live entries (expired ones are dropped first)."""
        self.expire()
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        """Whether ``key`` has a live entry. Looking does not count as a use."""
        entry = self._data.get(key)  # type: ignore[call-overload]
        return entry is not None and self.clock.now() < entry[1]

    def keys(self) -> list[Hashable]:
        """The live keys, least recently used first."""
        self.expire()
        return list(self._data)

    @property
    def hit_ratio(self) -> float:
        """Hits divided by lookups so far (0.0 before the first lookup)."""
        lookups = self.hits + self.misses
        return self.hits / lookups if lookups else 0.0

    def _remove(self, key: Hashable) -> None:
        if self._data.pop(key, None) is not None:
            del self._expiry[key]

    def _drop_expired(self, now: float) -> int:
        """Every entry lives exactly ``ttl``, so the earliest-written entries expire first."""
        dropped = 0
        expiry = self._expiry
        while expiry:
            key, expires_at = next(iter(expiry.items()))
            if now < expires_at:
                break
            del expiry[key]
            del self._data[key]
            dropped += 1
        return dropped

    def __repr__(self) -> str:
        return (
            f"TTLCache(capacity={self.capacity}, ttl={self.ttl:g}, size={len(self._data)}, "
            f"hits={self.hits}, misses={self.misses})"
        )
