"""Cache-aside (lazy loading): the application checks Redis first and fills it on a miss.

Reads go cache -> (miss) store -> cache. Writes go to the store and then *delete* the
cached copy, so the next read loads the new value. Misses are cached too ("negative
caching", with their own short TTL), so a flood of requests for ids that do not exist
does not reach the database; an insert deletes that negative entry like any write.

A read that misses races with writes: it may read the old row, then a writer updates
the store and deletes the entry, and only then does the reader fill Redis, with the
old row, for the whole TTL (or with "not found" for a product just inserted). So each
product has a *generation* counter in Redis that every write and delete bumps along
with the delete. A reader notes the generation before it reads the store and fills
Redis only if it has not moved (one Lua script checks and sets atomically); memcache
solves the same race with leases.

Staleness bound: ``ttl``. A writer that dies between the store write and the
invalidation (a killed process, Redis unreachable at that moment) leaves the old entry
in Redis until its TTL ends; nothing else corrects it. Keep ``ttl`` as short as the
data may be stale (write-through caps the same window with a write lease instead). A Redis
that restarts without persistence forgets the generations too, so a read in flight
across the restart may cache the row it read: the same bound, ``ttl``, applies.

What this needs from Redis: nothing durable. Redis holds only copies; the store is the
truth. If Redis restarts empty, reads miss and refill, at the cost of database load.
"""

from __future__ import annotations

import json
import time
from typing import Any

import redis

from scalekit.caches._ttl import FILL_IF_UNCHANGED, INVALIDATE, check_prefix, ttl_ms
from scalekit.caches.store import ProductStore, check_key
from scalekit.clock import Clock


class CacheAside:
    """Products cached in Redis under ``<prefix>:product:<id>`` in front of a :class:`ProductStore`.

    With ``clock=None`` Redis expires entries itself (``SET ... PX``). With a clock
    (e.g. a :class:`~scalekit.clock.SimClock`) the expiry time is stored with the value
    and checked on read, so simulated time decides what is fresh. Generations live
    under ``<prefix>:gen:<id>`` (one small counter per product ever written). On Redis
    Cluster, put a hash tag in the prefix (e.g. ``"{products}"``) so a product's two
    keys share a slot.
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
        if isinstance(negative_ttl, bool) or not isinstance(negative_ttl, (int, float)):
            raise ValueError(f"negative_ttl must be a number of seconds, got {negative_ttl!r}")
        if not negative_ttl >= 0:
            raise ValueError(
                f"negative_ttl must be >= 0 seconds (0 turns negative caching off), got {negative_ttl}"
            )
        if negative_ttl > 0:
            ttl_ms(negative_ttl, "negative_ttl")
        self.cache, self.store, self.prefix = cache, store, check_prefix(cache, prefix, "cache-aside")
        self.ttl, self.negative_ttl, self.clock = float(ttl), float(negative_ttl), clock
        self._fill_script = cache.register_script(FILL_IF_UNCHANGED)
        self._invalidate = cache.register_script(INVALIDATE)
        self.hits = self.misses = self.negative_hits = 0
        self.fills_refused = 0

    def key(self, key: int) -> str:
        """The Redis key that caches product ``key``."""
        return f"{self.prefix}:product:{key}"

    def generation_key(self, key: int) -> str:
        """The Redis key counting the writes and deletes of product ``key``."""
        return f"{self.prefix}:gen:{key}"

    def get(self, key: int) -> dict[str, Any] | None:
        """Product ``key`` from the cache, or from the store on a miss (then cached).

        The fill is skipped if a write or delete of ``key`` happened while this read
        was at the store (see :attr:`fills_refused`): the value may already be old.
        """
        key = check_key(key)
        with self.cache.pipeline(transaction=False) as snapshot:
            snapshot.get(self.key(key))
            snapshot.get(self.generation_key(key))
            raw, generation = snapshot.execute()
        entry = _entry(raw)
        if entry is not None and ("exp" not in entry or self._now() < entry["exp"]):
            if entry["v"] is None:
                self.negative_hits += 1
            else:
                self.hits += 1
            return entry["v"]
        self.misses += 1
        value = self.store.get(key)
        if value is not None:
            self._fill(key, value, self.ttl, generation)
        elif self.negative_ttl > 0:
            self._fill(key, None, self.negative_ttl, generation)
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
        """Drop the cached entry for ``key`` and bump its generation; True if there was an entry."""
        key = check_key(key)
        return bool(self._invalidate(keys=[self.key(key), self.generation_key(key)]))

    def hit_ratio(self) -> float:
        """Fraction of reads answered by Redis (negative hits count as hits)."""
        total = self.hits + self.negative_hits + self.misses
        return (self.hits + self.negative_hits) / total if total else 0.0

    def _fill(self, key: int, value: dict[str, Any] | None, ttl: float, generation: str | None) -> None:
        if self.clock is None:
            payload, px = json.dumps({"v": value}), ttl_ms(ttl)
        else:
            payload, px = json.dumps({"v": value, "exp": self._now() + ttl}), 0
        filled = self._fill_script(
            keys=[self.key(key), self.generation_key(key)],
            args=[_text(generation), payload, px, "1"],
        )
        if not filled:
            self.fills_refused += 1

    def _now(self) -> float:
        return self.clock.now() if self.clock is not None else time.time()


def _entry(raw: str | bytes | None) -> dict[str, Any] | None:
    """The cached entry, or None if there is none or it is not one this class wrote (a miss that
    the next fill overwrites, rather than an error on every read until the TTL ends)."""
    if raw is None:
        return None
    try:
        entry = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(entry, dict) or "v" not in entry:
        return None
    if "exp" in entry and not isinstance(entry["exp"], (int, float)):
        return None
    return entry


def _text(value: str | bytes | None) -> str:
    if value is None:
        return ""
    return value.decode() if isinstance(value, bytes) else value
