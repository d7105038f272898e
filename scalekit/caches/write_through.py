"""Write-through: every write updates the store and the cache before it returns.

The store is written first. If it fails, the exception reaches the caller and the
cache is untouched, so Redis never holds a value the database does not have. (The
outline's diagram draws cache-then-database; in that order a failed database write
would leave the cache serving a value that was never saved.) Reads are then almost
always hits, at the price of a slower write: two round trips instead of one.
"""

from __future__ import annotations

import json
from typing import Any

import redis

from scalekit.caches._ttl import ttl_ms
from scalekit.caches.store import ProductStore


class WriteThrough:
    """Products cached in Redis under ``<prefix>:product:<id>``, written through to a :class:`ProductStore`.

    ``ttl=None`` keeps entries until they are overwritten or deleted; a number of
    seconds lets Redis expire rarely read products.
    """

    def __init__(
        self, cache: redis.Redis, store: ProductStore, *, prefix: str = "through", ttl: float | None = None
    ) -> None:
        self._px = None if ttl is None else ttl_ms(ttl)
        self.cache, self.store, self.prefix, self.ttl = cache, store, prefix, ttl
        self.hits = self.misses = 0

    def key(self, key: int) -> str:
        """The Redis key that caches product ``key``."""
        return f"{self.prefix}:product:{key}"

    def put(self, key: int, value: dict[str, Any]) -> None:
        """Save product ``key`` in the store, then in the cache; a store error leaves the cache alone."""
        payload = json.dumps(value)
        self.store.put(key, value)
        self.cache.set(self.key(key), payload, px=self._px)

    def delete(self, key: int) -> None:
        """Delete product ``key`` from the store, then from the cache."""
        self.store.delete(key)
        self.cache.delete(self.key(key))

    def get(self, key: int) -> dict[str, Any] | None:
        """Product ``key``: from Redis, or from the store (then cached) if Redis lacks it."""
        raw = self.cache.get(self.key(key))
        if raw is not None:
            self.hits += 1
            return json.loads(raw)
        self.misses += 1
        value = self.store.get(key)
        if value is not None:
            self.cache.set(self.key(key), json.dumps(value), px=self._px, nx=True)
        return value
