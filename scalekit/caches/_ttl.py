"""Shared by the Redis cache tiers: TTLs in milliseconds, the guarded cache fill, cluster prefixes."""

from __future__ import annotations

import math
from numbers import Real

import redis
from redis.cluster import RedisCluster

from scalekit.routers.slots import has_hash_tag

# Longest TTL accepted: about 31 years. Redis refuses an expiry whose absolute time overflows
# (SET ... PX 1e300 is "invalid expire time"), and by then the store may have been written.
MAX_TTL = 1e9


def ttl_ms(seconds: float, name: str = "ttl") -> int:
    """``seconds`` as whole milliseconds for Redis ``PX`` (at least 1).

    Raises a ValueError unless ``seconds`` is a finite number > 0 and at most
    :data:`MAX_TTL`: ``inf`` or ``1e300`` pass a plain ``> 0`` check and would only
    fail later, at the first write to Redis.
    """
    if isinstance(seconds, bool) or not isinstance(seconds, Real):
        raise ValueError(f"{name} must be a number of seconds, got {seconds!r}")
    if not (seconds > 0 and math.isfinite(seconds)):
        raise ValueError(f"{name} must be a finite number of seconds > 0, got {seconds}")
    if seconds > MAX_TTL:
        raise ValueError(
            f"{name} must be at most {MAX_TTL:.0e} seconds (about 31 years; Redis cannot expire later), "
            f"got {seconds}"
        )
    return max(1, round(seconds * 1000))


def check_wait(seconds: float, name: str = "timeout") -> float:
    """``seconds`` as a float if it is a finite number >= 0, else a ValueError.

    A wait of ``nan`` never compares as over, and ``inf`` on a simulated clock never
    ends: both would loop forever, so they are refused up front.
    """
    if isinstance(seconds, bool) or not isinstance(seconds, Real):
        raise ValueError(f"{name} must be a number of seconds, got {seconds!r}")
    if not (seconds >= 0 and math.isfinite(seconds)):
        raise ValueError(f"{name} must be a finite number of seconds >= 0, got {seconds}")
    return float(seconds)


def check_prefix(client: redis.Redis, prefix: str, what: str) -> str:
    """Return ``prefix`` if ``what``'s keys can live under it on ``client``, else a ValueError.

    The Lua scripts of the cache tiers touch several keys of one product at once; on
    Redis Cluster they must share a hash slot, which only a ``{hash tag}`` in the
    prefix guarantees. Checked before anything is written, so an untagged prefix
    fails here rather than with CROSSSLOT after the database already changed.
    """
    if not isinstance(prefix, str) or not prefix:
        raise ValueError(f"{what} prefix must be a non-empty string, got {prefix!r}")
    if isinstance(client, RedisCluster) and not has_hash_tag(prefix):
        raise ValueError(
            f"on Redis Cluster the {what} prefix needs a {{hash tag}} so each product's keys share "
            f"a slot, e.g. '{{{prefix}}}', got {prefix!r}"
        )
    return prefix


# Fill the cache (KEYS[1]) with ARGV[2] only if the key's generation counter (KEYS[2]) still
# reads ARGV[1], the value seen before the store was read: a write or delete in between
# bumped it, so the value read from the store may be stale and must not be cached.
# ARGV[3] is the TTL in milliseconds (0 = no expiry). SET NX never overwrites a newer fill,
# unless ARGV[4] is '1': then the entry is replaced (an unchanged generation means no write
# happened since the read, so the value read is current; cache-aside uses this to refill
# an entry that expired on a simulated clock but is still in Redis). An optional KEYS[3] is a
# write lease: while it exists a writer is between the store and Redis, and nothing is filled.
FILL_IF_UNCHANGED = """
if (redis.call('GET', KEYS[2]) or '') ~= ARGV[1] then return 0 end
if KEYS[3] and redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
local nx = ARGV[4] ~= '1'
if tonumber(ARGV[3]) > 0 then
  if nx then return redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3], 'NX') and 1 or 0 end
  return redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) and 1 or 0
end
if nx then return redis.call('SET', KEYS[1], ARGV[2], 'NX') and 1 or 0 end
return redis.call('SET', KEYS[1], ARGV[2]) and 1 or 0
"""

# Bump a product's generation (KEYS[2]) and drop its cached copy (KEYS[1]), atomically.
INVALIDATE = """
redis.call('INCR', KEYS[2])
return redis.call('DEL', KEYS[1])
"""
