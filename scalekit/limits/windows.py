"""Window counters: at most ``limit`` requests per ``window`` seconds.

A **fixed window** counts requests per calendar window (``[0, 60)``, ``[60, 120)``, ...)
and starts again from zero at each boundary: cheap (one counter), but a client that
spends its limit at the end of one window and again at the start of the next gets up
to twice the limit through in one window's length. A **sliding log** keeps the time of
every request in the last ``window`` seconds (a sorted set), so no stretch of ``window``
seconds ever holds more than ``limit``; it costs memory per request.
"""

from __future__ import annotations

import math
from collections import deque

import redis

from scalekit.clock import Clock
from scalekit.limits.base import Decision, RedisLimiter, check_cost, check_positive

_FIXED = """
local now, window, limit, cost, idle_ms = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]),
    tonumber(ARGV[4]), tonumber(ARGV[5])
local index = math.floor(now / window)
local state = redis.call('HMGET', KEYS[1], 'index', 'count')
local count = 0
if tonumber(state[1]) == index then
  count = tonumber(state[2])
end
local ends = (index + 1) * window
if count + cost > limit then
  return {0, string.format('%.17g', ends - now), string.format('%.17g', limit - count)}
end
count = count + cost
redis.call('HSET', KEYS[1], 'index', string.format('%.17g', index), 'count', count)
redis.call('PEXPIRE', KEYS[1], math.ceil((ends - now) * 1000) + idle_ms)
return {1, '0', string.format('%.17g', limit - count)}
"""

_SLIDING = """
local now, window, limit, cost, idle_ms = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]),
    tonumber(ARGV[4]), tonumber(ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.17g', now - window))
local count = redis.call('ZCARD', KEYS[1])
if count + cost > limit then
  local nth = count + cost - limit - 1
  local oldest = redis.call('ZRANGE', KEYS[1], nth, nth, 'WITHSCORES')
  local wait = tonumber(oldest[2]) + window - now
  return {0, string.format('%.17g', wait), string.format('%.17g', limit - count)}
end
for _ = 1, cost do
  local seq = redis.call('INCR', KEYS[2])
  redis.call('ZADD', KEYS[1], string.format('%.17g', now), seq)
end
local ttl = math.ceil(window * 1000) + idle_ms
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
return {1, '0', string.format('%.17g', limit - count - cost)}
"""


class FixedWindowModel:
    """Fixed window counter in plain Python for one client (the Redis version's reference)."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = _check_limit(limit)
        self.window = check_positive("window", window)
        self.index: float | None = None
        self.count = 0

    def check(self, now: float, cost: int = 1) -> Decision:
        """Count the request in the window that holds ``now`` if the window has room."""
        check_cost(cost, self.limit, "limit")
        index = math.floor(float(now) / self.window)
        if index != self.index:
            self.index, self.count = index, 0
        ends = (index + 1) * self.window
        if self.count + cost > self.limit:
            return Decision(False, ends - float(now), self.limit - self.count)
        self.count += cost
        return Decision(True, 0.0, self.limit - self.count)


class SlidingLogModel:
    """Sliding log in plain Python for one client: request times of the last ``window`` seconds."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = _check_limit(limit)
        self.window = check_positive("window", window)
        self.log: deque[float] = deque()

    def check(self, now: float, cost: int = 1) -> Decision:
        """Forget requests older than ``window``; pass if the rest plus ``cost`` fit the limit."""
        check_cost(cost, self.limit, "limit")
        now = float(now)
        while self.log and self.log[0] <= now - self.window:
            self.log.popleft()
        count = len(self.log)
        if count + cost > self.limit:
            return Decision(
                False, self.log[count + cost - self.limit - 1] + self.window - now, self.limit - count
            )
        self.log.extend([now] * cost)
        return Decision(True, 0.0, self.limit - count - cost)


class FixedWindow(RedisLimiter):
    """A fixed window counter per client on Redis (one hash per client, one script call per check)."""

    kind = "fw"
    script_source = _FIXED

    def __init__(
        self,
        client: redis.Redis,
        prefix: str,
        limit: int,
        window: float,
        *,
        clock: Clock | None = None,
        idle_ttl: float = 60.0,
    ) -> None:
        self.limit = _check_limit(limit)
        self.window = check_positive("window", window)
        super().__init__(client, prefix, clock=clock, idle_ttl=idle_ttl)

    def check(self, who: str, cost: int = 1) -> Decision:
        """Count ``cost`` requests for ``who`` in the current window, if they fit."""
        check_cost(cost, self.limit, "limit")
        now = float(self.clock.now())
        return self._run([self.key(who)], [now, self.window, self.limit, cost, self.idle_ms])


class SlidingLog(RedisLimiter):
    """A sliding log per client on Redis: a sorted set of request times plus a sequence key."""

    kind = "sl"
    script_source = _SLIDING

    def __init__(
        self,
        client: redis.Redis,
        prefix: str,
        limit: int,
        window: float,
        *,
        clock: Clock | None = None,
        idle_ttl: float = 60.0,
    ) -> None:
        self.limit = _check_limit(limit)
        self.window = check_positive("window", window)
        super().__init__(client, prefix, clock=clock, idle_ttl=idle_ttl)

    def check(self, who: str, cost: int = 1) -> Decision:
        """Log ``cost`` requests for ``who`` now, if the last ``window`` seconds leave room."""
        check_cost(cost, self.limit, "limit")
        now = float(self.clock.now())
        keys = [self.key(who), self.key(who, ":seq")]
        return self._run(keys, [now, self.window, self.limit, cost, self.idle_ms])


def _check_limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"limit must be a whole number >= 1 of requests per window, got {limit!r}")
    return limit
