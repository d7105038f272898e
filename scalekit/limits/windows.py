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
import numbers
import uuid
from collections import deque

import redis

from scalekit.clock import Clock
from scalekit.limits.base import (
    Decision,
    RedisLimiter,
    check_cost,
    check_positive,
    check_span,
    first_passing,
)

# Lua numbers are doubles: counts are exact up to 2**53.
MOST_REQUESTS = 2**53 - 1

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
        self.window = _check_window(window)
        self.index: float | None = None
        self.count = 0

    def check(self, now: float, cost: int = 1) -> Decision:
        """Count the request in the window that holds ``now`` if the window has room."""
        cost = check_cost(cost, self.limit, "limit")
        now = float(now)
        index = math.floor(now / self.window)
        if index != self.index:
            self.index, self.count = index, 0
        if self.count + cost > self.limit:
            return Decision(False, next_window_wait(now, self.window), self.limit - self.count)
        self.count += cost
        return Decision(True, 0.0, self.limit - self.count)


class SlidingLogModel:
    """Sliding log in plain Python for one client: request times of the last ``window`` seconds."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = _check_limit(limit)
        self.window = _check_window(window)
        self.log: deque[float] = deque()

    def check(self, now: float, cost: int = 1) -> Decision:
        """Forget requests older than ``window``; pass if the rest plus ``cost`` fit the limit."""
        cost = check_cost(cost, self.limit, "limit")
        now = float(now)
        while self.log and self.log[0] <= now - self.window:
            self.log.popleft()
        count = len(self.log)
        if count + cost > self.limit:
            oldest = self.log[count + cost - self.limit - 1]
            return Decision(False, log_wait(oldest, now, self.window), self.limit - count)
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
        self.window = _check_window(window)
        super().__init__(client, prefix, clock=clock, idle_ttl=idle_ttl)
        self._slack_ms = min(self.idle_ms, math.ceil(self.window * 1000))

    def check(self, who: str, cost: int = 1) -> Decision:
        """Count ``cost`` requests for ``who`` in the current window, if they fit.

        A window's counter expires shortly after the window ends (at most one more
        window, for servers whose clocks lag), so a client keeps one or two counters.
        """
        cost = check_cost(cost, self.limit, "limit")
        now = self.now()
        index = math.floor(now / self.window)
        ends = (index + 1) * self.window
        ttl_ms = math.ceil((ends - now) * 1000) + self._slack_ms
        reply = int(self._call([self.key(who, f":{index}")], [self.limit, cost, ttl_ms]))
        if reply > 0:
            return Decision(True, 0.0, self.limit - reply)
        return Decision(False, next_window_wait(now, self.window), self.limit + reply + 1)

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
        self.window = _check_window(window)
        super().__init__(client, prefix, clock=clock, idle_ttl=idle_ttl)
        self._ttl_ms = math.ceil(self.window * 1000) + self.idle_ms
        self._tag = uuid.uuid4().hex[:12] + ":"
        self._sequence = itertools.count()

    def check(self, who: str, cost: int = 1) -> Decision:
        """Log ``cost`` requests for ``who`` now, if the last ``window`` seconds leave room."""
        cost = check_cost(cost, self.limit, "limit")
        now = self.now()
        member = f"{self._tag}{next(self._sequence)}"
        args = [repr(now), repr(now - self.window), self.limit, cost, member, self._ttl_ms]
        reply = self._call([self.key(who)], args)
        if isinstance(reply, int):
            return Decision(True, 0.0, self.limit - reply)
        count, oldest = reply.split(" ")
        return Decision(False, log_wait(float(oldest), now, self.window), self.limit - int(count))


def next_window_wait(now: float, window: float) -> float:
    """Seconds from ``now`` until the clock is in the next fixed window (as ``floor(t / window)`` says)."""
    index = math.floor(now / window)
    return first_passing(now, (index + 1) * window - now, lambda at: math.floor(at / window) > index)


def log_wait(oldest: float, now: float, window: float) -> float:
    """Seconds from ``now`` until a log entry made at ``oldest`` has left the window."""
    return first_passing(now, oldest + window - now, lambda at: oldest <= at - window)


def _check_limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, numbers.Integral) or not 1 <= limit <= MOST_REQUESTS:
        raise ValueError(
            f"limit must be a whole number of requests per window, from 1 to 2**53 - 1, got {limit!r}"
        )
    return int(limit)


def _check_window(window: float) -> float:
    seconds = check_positive("window", window)
    check_span("window", seconds, "use a shorter window")
    return seconds
