"""Cache-aside (lazy loading): the application checks Redis first and fills it on a miss.

Reads go cache -> (miss) store -> cache. Writes go to the store and then *delete* the
cached copy, so the next read loads the new value. Misses are cached too ("negative
caching", with their own short TTL), so a flood of requests for ids that do not exist
does not reach the database; an insert deletes that negative entry like any write.
"""

from __future__ import annotations

import json
import time
from typing import Any

import redis

from scalekit.caches._ttl import ttl_ms
from scalekit.caches.store import ProductStore
from scalekit.clock import Clock


class CacheAside:
    """Products cached in Redis under ``<prefix>:product:<id>`` in front of a :class:`ProductStore`.

    With ``clock=None`` Redis expires entries itself (``SET ... PX``). With a clock
    (e.g. a :class:`~scalekit.clock.SimClock`) the expiry time is stored with the value
    and checked on read, so simulated time decides what is fresh.
    """

    def __init__(
        self,
        cache: redis.Redis,
        store: ProductStore,
        *,
        prefix: str = "aside",
        ttl: float = 3600.0,
        negative_ttl: float = 30.0,
        clock: Clock | None = None,
    ) -> None:
        ttl_ms(ttl)
        if not negative_ttl >= 0:
            raise ValueError(
                f"negative_ttl must be >= 0 seconds (0 turns negative caching off), got {negative_ttl}"
            )
        if negative_ttl > 0:
            ttl_ms(negative_ttl, "negative_ttl")
        self.cache, self.store, self.prefix = cache, store, prefix
        self.ttl, self.negative_ttl, self.clock = float(ttl), float(negative_ttl), clock
        self.hits = self.misses = self.negative_hits = 0

    def key(self, key: int) -> str:
        """The Redis key that caches product ``key``."""
        return f"{self.prefix}:product:{key}"

    def get(self, key: int) -> dict[str, Any] | None:
        """Product ``key`` from the cache, or from the store on a miss (then cached)."""
        raw = self.cache.get(self.key(key))
        entry = json.loads(raw) if raw is not None else None
        if entry is not None and ("exp" not in entry or self._now() < entry["exp"]):
            if entry["v"] is None:
                self.negative_hits += 1
            else:
                self.hits += 1
            return entry["v"]
        self.misses += 1
        value = self.store.get(key)
        if value is not None:
            self._fill(key, value, self.ttl)
        elif self.negative_ttl > 0:
            self._fill(key, None, self.negative_ttl)
        return value

    def put(self, key: int, value: dict[str, Any]) -> None:
        """Write product ``key`` to the store, then drop the cached copy (and any negative entry)."""
        self.store.put(key, value)
        self.invalidate(key)

    def delete(self, key: int) -> None:
        """Delete product ``key`` from the store, then from the cache."""
        self.store.delete(key)
        self.invalidate(key)

    def invalidate(self, key: int) -> bool:
        """Drop the cached entry for ``key``; True if there was one."""
        return bool(self.cache.delete(self.key(key)))

    def hit_ratio(self) -> float:
        """Fraction of reads answered by Redis (negative hits count as hits)."""
        total = self.hits + self.negative_hits + self.misses
        return (self.hits + self.negative_hits) / total if total else 0.0

    def _fill(self, key: int, value: dict[str, Any] | None, ttl: float) -> None:
        if self.clock is None:
            self.cache.set(self.key(key), json.dumps({"v": value}), px=ttl_ms(ttl))
        else:
            self.cache.set(self.key(key), json.dumps({"v": value, "exp": self._now() + ttl}))

    def _now(self) -> float:
        return self.clock.now() if self.clock is not None else time.time()
