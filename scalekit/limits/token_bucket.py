"""Token bucket: a bucket of ``burst`` tokens refilled at ``rate`` per second.

Each request takes ``cost`` tokens or is refused. An idle client saves up to
``burst`` tokens and may spend them at once; over any interval of ``t`` seconds it
gets at most ``burst + rate * t`` requests through.
"""

from __future__ import annotations

import math

import redis

from scalekit.clock import Clock
from scalekit.limits.base import (
    EPSILON,
    Decision,
    RedisLimiter,
    check_cost,
    check_positive,
    check_span,
    first_passing,
)

_ADVICE = "use a larger rate or a smaller burst"

_SCRIPT = f"""
local now, rate, burst, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local stored = redis.call('GET', KEYS[1])
local tokens, stamp, moved = burst, ARGV[1], true
if stored then
  local text, seen = string.match(stored, '^(%S+) (%S+)$')
  tokens = tonumber(text)
  moved = now > tonumber(seen)
  if moved then
    tokens = math.min(burst, tokens + (now - tonumber(seen)) * rate)
  else
    stamp = seen
  end
end
local allowed = tokens + {EPSILON!r} >= cost
if allowed then
  tokens = math.max(0, tokens - cost)
end
local text = string.format('%.17g', tokens)
if allowed or moved then
  redis.call('SET', KEYS[1], text .. ' ' .. stamp, 'PX', ARGV[5])
end
if allowed then
  return text
end
return '-' .. text .. ' ' .. stamp
"""


class TokenBucketModel:
    """The token bucket in plain Python, for one client: the reference the Redis version must match."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = check_positive("rate", rate)
        self.burst = check_positive("burst", burst)
        check_span("refilling the bucket (burst / rate)", self.burst / self.rate, _ADVICE)
        self.tokens = self.burst
        self.ts: float | None = None

    def check(self, now: float, cost: int = 1) -> Decision:
        """Refill for the time since the last check, then take ``cost`` tokens if there are enough."""
        cost = check_cost(cost, self.burst, "bucket size")
        now = float(now)
        if self.ts is None:
            self.ts = now
        if now > self.ts:
            self.tokens = min(self.burst, self.tokens + (now - self.ts) * self.rate)
            self.ts = now
        if self.tokens + EPSILON >= cost:
            self.tokens = max(0.0, self.tokens - cost)
            return Decision(True, 0.0, math.floor(self.tokens + EPSILON))
        wait = refill_wait(self.tokens, self.ts, now, self.rate, self.burst, cost)
        return Decision(False, wait, math.floor(self.tokens + EPSILON))


def refill_wait(tokens: float, stamp: float, now: float, rate: float, burst: float, cost: int) -> float:
    """Seconds from ``now`` until a bucket holding ``tokens`` at time ``stamp`` holds ``cost``.

    ``stamp`` may lie ahead of ``now`` (another server's clock ran ahead): the bucket
    refills only from ``stamp`` on. The check is the script's own arithmetic, so a
    client that waits exactly this long passes.
    """

    def passes(at: float) -> bool:
        return at > stamp and min(burst, tokens + (at - stamp) * rate) + EPSILON >= cost

    return first_passing(now, max(0.0, stamp - now) + (cost - tokens) / rate, passes)


class TokenBucket(RedisLimiter):
    """A token bucket per client on Redis: one atomic script call per check.

    ``rate`` tokens per second refill a bucket of ``burst`` tokens; the first check
    of a client finds it full.
    """

    kind = "tb"
    script_source = _SCRIPT

    def __init__(
        self,
        client: redis.Redis,
        prefix: str,
        rate: float,
        burst: float,
        *,
        clock: Clock | None = None,
        idle_ttl: float = 60.0,
    ) -> None:
        self.rate = check_positive("rate", rate)
        self.burst = check_positive("burst", burst)
        check_span("refilling the bucket (burst / rate)", self.burst / self.rate, _ADVICE)
        super().__init__(client, prefix, clock=clock, idle_ttl=idle_ttl)
        self._args = (repr(self.rate), repr(self.burst))
        self._ttl_ms = math.ceil(self.burst / self.rate * 1000) + self.idle_ms

    def check(self, who: str, cost: int = 1) -> Decision:
        """Take ``cost`` tokens from ``who``'s bucket now, if it holds them."""
        cost = check_cost(cost, self.burst, "bucket size")
        now = self.now()
        reply = self._call([self.key(who)], [repr(now), *self._args, cost, self._ttl_ms])
        if reply[0] != "-":
            return Decision(True, 0.0, math.floor(float(reply) + EPSILON))
        text, stamp = reply[1:].split(" ")
        tokens = float(text)
        wait = refill_wait(tokens, float(stamp), now, self.rate, self.burst, cost)
        return Decision(False, wait, math.floor(tokens + EPSILON))
