"""Write-through: every write updates the store and the cache before it returns.

The store is written first. If it fails, the exception reaches the caller and the
cache is untouched, so Redis never holds a value the database does not have. (The
outline's diagram draws cache-then-database; in that order a failed database write
would leave the cache serving a value that was never saved.) Reads are then almost
always hits, at the price of a slower write: two Redis calls around the database write.

Writers and readers run concurrently, so each product also has a *generation*
counter in Redis, bumped by every write and delete. A writer notes the generation
before it writes the store and caches its value only if nobody else wrote in
between (otherwise it drops the cached copy); a reader that missed caches what it
read from the store only if the generation did not move while it read. Either way a
slow writer or reader can never put an older value over a newer one.

A writer can also die between the store and Redis (a killed process), when nothing is
left to correct the cache. So before it touches the store, a write takes a short
*write lease* in Redis: it caps the cached entry's remaining life at the lease, and no
reader fills the entry while a write is in flight. If the writer completes, it
publishes the new value as usual and gives the lease back; if it dies, the old entry
and the lease expire together and the next read loads what the store kept.

What this needs from Redis: nothing durable. A write returns only after the store has
it, so a Redis that restarts empty loses copies, not data (and the generations restart
too, which only makes the next fills wait for a fresh read).
"""

from __future__ import annotations

import json
from typing import Any

import redis

from scalekit.caches._ttl import FILL_IF_UNCHANGED, INVALIDATE, check_prefix, ttl_ms
from scalekit.caches.store import ProductStore, check_key, check_product, encode_product

# Begin a write: bump the generation (KEYS[2]), count one more writer in flight on the lease
# (KEYS[3], which expires ARGV[1] ms after the latest begin), and cap the cached entry's
# (KEYS[1]) remaining life at the lease. Returns the generation.
_BEGIN = """
local generation = redis.call('INCR', KEYS[2])
redis.call('INCR', KEYS[3])
redis.call('PEXPIRE', KEYS[3], ARGV[1])
local left = redis.call('PTTL', KEYS[1])
if left == -1 or left > tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return generation
"""
# One writer in flight fewer on the lease KEYS[3]; gone when none is left.
_RELEASE = """
local function release(lease)
  if redis.call('DECR', lease) <= 0 then redis.call('DEL', lease) end
end
"""
_PUBLISH = (
    _RELEASE
    + """
release(KEYS[3])
local unchanged = redis.call('GET', KEYS[2]) == ARGV[1]
redis.call('INCR', KEYS[2])
if not unchanged then
  redis.call('DEL', KEYS[1])
  return 0
end
if tonumber(ARGV[3]) > 0 then redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
else redis.call('SET', KEYS[1], ARGV[2]) end
return 1
"""
)


_FINISH_DELETE = (
    _RELEASE
    + """
release(KEYS[3])
redis.call('INCR', KEYS[2])
return redis.call('DEL', KEYS[1])
"""
)
_ABANDON = (
    _RELEASE
    + """
release(KEYS[1])
return 1
"""
)


class WriteThrough:
    """Products cached in Redis under ``<prefix>:product:<id>``, written through to a :class:`ProductStore`.

    ``ttl=None`` keeps entries until they are overwritten or deleted; a number of
    seconds lets Redis expire rarely read products. Generations live under
    ``<prefix>:gen:<id>`` (one small counter per product ever written) and write leases
    under ``<prefix>:writing:<id>``. ``write_lease`` (seconds) must exceed the longest
    store write: if a writer dies or Redis fails after the store write, a stale cached
    value lives at most that long. On Redis Cluster the prefix needs a hash tag (e.g.
    ``"{products}"``) so a product's keys share a slot: an untagged prefix is a
    ValueError here, before anything is written.
    """

    def __init__(
        self,
        cache: redis.Redis,
        store: ProductStore,
        *,
        prefix: str = "through",
        ttl: float | None = None,
        write_lease: float = 30.0,
    ) -> None:
        self._px = 0 if ttl is None else ttl_ms(ttl)
        self._lease_ms = ttl_ms(write_lease, "write_lease")
        self.cache, self.store, self.ttl = cache, store, ttl
        self.prefix = check_prefix(cache, prefix, "write-through")
        self._begin = cache.register_script(_BEGIN)
        self._publish = cache.register_script(_PUBLISH)
        self._finish_delete = cache.register_script(_FINISH_DELETE)
        self._abandon = cache.register_script(_ABANDON)
        self._invalidate = cache.register_script(INVALIDATE)
        self._fill = cache.register_script(FILL_IF_UNCHANGED)
        self.hits = self.misses = 0

    def key(self, key: int) -> str:
        """The Redis key that caches product ``key``."""
        return f"{self.prefix}:product:{key}"

    def generation_key(self, key: int) -> str:
        """The Redis key counting writes to product ``key``."""
        return f"{self.prefix}:gen:{key}"

    def lease_key(self, key: int) -> str:
        """The Redis key that marks a write to product ``key`` in flight (it expires by itself)."""
        return f"{self.prefix}:writing:{key}"

    def put(self, key: int, value: dict[str, Any]) -> None:
        """Save product ``key`` in the store, then in the cache.

        A store error reaches the caller and leaves the cached value as it was (its
        remaining life capped at ``write_lease``, as for every write).

        If another write to ``key`` ran meanwhile, the cached copy is dropped instead
        (the next read loads whichever write the store kept). ``value`` may be any
        mapping; it is checked and serialised before either tier is touched, so a
        value that cannot be saved or cached changes nothing.
        """
        key = check_key(key)
        payload = encode_product(value)
        before = self._begin_write(key)
        try:
            self.store.put(key, value)
        except Exception:
            self._abandon(keys=[self.lease_key(key)])
            raise
        self._publish(
            keys=[self.key(key), self.generation_key(key), self.lease_key(key)],
            args=[before, payload, self._px],
        )

    def delete(self, key: int) -> None:
        """Delete product ``key`` from the store, then from the cache."""
        key = check_key(key)
        self._begin_write(key)
        try:
            self.store.delete(key)
        except Exception:
            self._abandon(keys=[self.lease_key(key)])
            raise
        self._finish_delete(keys=[self.key(key), self.generation_key(key), self.lease_key(key)])

    def get(self, key: int) -> dict[str, Any] | None:
        """Product ``key``: from Redis, or from the store (then cached) if Redis lacks it."""
        key = check_key(key)
        raw = self.cache.get(self.key(key))
        cached = _product(raw)
        if cached is not None:
            self.hits += 1
            return cached
        if raw is not None:  # not a product this class wrote: drop it, then read through
            self._invalidate(keys=[self.key(key), self.generation_key(key)])
        self.misses += 1
        generation = self.cache.get(self.generation_key(key)) or ""
        value = self.store.get(key)
        if value is not None:
            self._fill(
                keys=[self.key(key), self.generation_key(key), self.lease_key(key)],
                args=[generation, encode_product(value), self._px],
            )
        return value

    def _begin_write(self, key: int) -> int:
        keys = [self.key(key), self.generation_key(key), self.lease_key(key)]
        return int(self._begin(keys=keys, args=[self._lease_ms]))


def _product(raw: str | bytes | None) -> dict[str, Any] | None:
    """The cached product, or None if there is none or the entry is not a product."""
    if raw is None:
        return None
    try:
        value = json.loads(raw)
        check_product(value)
    except ValueError:
        return None
    return value
