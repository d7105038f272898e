"""Window counters: at most ``limit`` requests per ``window`` seconds.

A **fixed window** counts requests per calendar window (``[0, 60)``, ``[60, 120)``, ...)
and starts again from zero at each boundary: cheap (one counter), but a client that
spends its limit at the end of one window and again at the start of the next gets up
to twice the limit through in one window's length. A **sliding log** keeps the time of
every request in the last ``window`` seconds (a sorted set), so no stretch of ``window``
seconds ever holds more than ``limit``; it costs memory per request.
"""

from __future__ import annotations

import itertools
import math
import uuid
from collections import deque

import redis

from scalekit.clock import Clock
from scalekit.limits.base import Decision, RedisLimiter, check_cost, check_positive

_FIXED = """
local limit, cost = tonumber(ARGV[1]), tonumber(ARGV[2])
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count + cost > limit then
  return -count - 1
end
count = redis.call('INCRBY', KEYS[1], cost)
if count == cost then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
return count
"""

_SLIDING = """
local limit, cost = tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
local count = redis.call('ZCARD', KEYS[1])
if count + cost > limit then
  local nth = count + cost - limit - 1
  local oldest = redis.call('ZRANGE', KEYS[1], nth, nth, 'WITHSCORES')
  return count .. ' ' .. oldest[2]
end
for part = 1, cost do
  redis.call('ZADD', KEYS[1], ARGV[1], ARGV[5] .. ':' .. part)
end
redis.call('PEXPIRE', KEYS[1], ARGV[6])
return count + cost
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
    """A fixed window counter per client on Redis: one counter per client and window, expiring with it."""

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
        index = math.floor(now / self.window)
        ends = (index + 1) * self.window
        ttl_ms = math.ceil((ends - now) * 1000) + self.idle_ms
        reply = int(self._call([self.key(who, f":{index}")], [self.limit, cost, ttl_ms]))
        if reply > 0:
            return Decision(True, 0.0, self.limit - reply)
        return Decision(False, ends - now, self.limit + reply + 1)

    def window_key(self, who: str, now: float) -> str:
        """The key counting ``who``'s requests in the window that holds time ``now``."""
        return self.key(who, f":{math.floor(float(now) / self.window)}")


class SlidingLog(RedisLimiter):
    """A sliding log per client on Redis: a sorted set of request times (members unique per check)."""

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
        self._ttl_ms = math.ceil(self.window * 1000) + self.idle_ms
        self._tag = uuid.uuid4().hex[:12] + ":"
        self._sequence = itertools.count()

    def check(self, who: str, cost: int = 1) -> Decision:
        """Log ``cost`` requests for ``who`` now, if the last ``window`` seconds leave room."""
        check_cost(cost, self.limit, "limit")
        now = float(self.clock.now())
        member = f"{self._tag}{next(self._sequence)}"
        args = [repr(now), repr(now - self.window), self.limit, cost, member, self._ttl_ms]
        reply = self._call([self.key(who)], args)
        if isinstance(reply, int):
            return Decision(True, 0.0, self.limit - reply)
        count, oldest = reply.split(" ")
        return Decision(False, float(oldest) + self.window - now, self.limit - int(count))


def _check_limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"limit must be a whole number >= 1 of requests per window, got {limit!r}")
    return limit
