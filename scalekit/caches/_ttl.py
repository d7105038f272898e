"""Shared by the Redis cache tiers: TTLs in milliseconds, and the guarded cache fill."""

from __future__ import annotations

import math


def ttl_ms(seconds: float, name: str = "ttl") -> int:
    """``seconds`` as whole milliseconds for Redis ``PX`` (at least 1).

    Raises a ValueError unless ``seconds`` is a finite number > 0: ``inf`` passes a
    plain ``> 0`` check and would only fail later, at the first write to Redis.
    """
    if not (seconds > 0 and math.isfinite(seconds)):
        raise ValueError(f"{name} must be a finite number of seconds > 0, got {seconds}")
    return max(1, round(seconds * 1000))


# Fill the cache (KEYS[1]) with ARGV[2] only if the key's generation counter (KEYS[2]) still
# reads ARGV[1], the value seen before the store was read: a write or delete in between
# bumped it, so the value read from the store may be stale and must not be cached.
# ARGV[3] is the TTL in milliseconds (0 = no expiry). SET NX never overwrites a newer fill.
FILL_IF_UNCHANGED = """
if (redis.call('GET', KEYS[2]) or '') ~= ARGV[1] then return 0 end
if tonumber(ARGV[3]) > 0 then
  return redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3], 'NX') and 1 or 0
end
return redis.call('SET', KEYS[1], ARGV[2], 'NX') and 1 or 0
"""
