"""GCRA, the generic cell rate algorithm: a token bucket stored as one number.

Instead of a token count and a timestamp, GCRA keeps the *theoretical arrival time*
(TAT): when the client would next be due if it sent exactly at ``rate``. A request
costs ``cost`` emission intervals (``1 / rate`` seconds each) and passes if the new
TAT is no more than ``burst`` intervals ahead of now. It lets through exactly what a
token bucket with the same rate and burst does, with one key holding one number.
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
local now, interval, burst, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local stored = redis.call('GET', KEYS[1])
local tat = math.max(tonumber(stored) or now, now)
local new_tat = tat + cost * interval
if now + {EPSILON!r} * interval < new_tat - burst * interval then
  return '-' .. (stored or ARGV[1])
end
local text = string.format('%.17g', new_tat)
redis.call('SET', KEYS[1], text, 'PX', math.ceil((new_tat - now) * 1000) + tonumber(ARGV[5]))
return text
"""


class GCRAModel:
    """GCRA in plain Python for one client: the reference the Redis version must match."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = check_positive("rate", rate)
        self.burst = check_positive("burst", burst)
        check_span("a full burst (burst / rate)", self.burst / self.rate, _ADVICE)
        self.interval = 1.0 / self.rate
        self.tat: float | None = None

    def check(self, now: float, cost: int = 1) -> Decision:
        """Pass if the client's theoretical arrival time stays within ``burst`` intervals of now."""
        cost = check_cost(cost, self.burst, "burst")
        now = float(now)
        tat = max(self.tat if self.tat is not None else now, now)
        new_tat = tat + cost * self.interval
        allow_at = new_tat - self.burst * self.interval
        if now + EPSILON * self.interval < allow_at:
            left = math.floor((now - (tat - self.burst * self.interval)) / self.interval + EPSILON)
            wait = due_wait(tat, now, self.interval, self.burst, cost)
            return Decision(False, wait, max(0, left))
        self.tat = new_tat
        return Decision(True, 0.0, math.floor((now - allow_at) / self.interval + EPSILON))


def due_wait(tat: float, now: float, interval: float, burst: float, cost: int) -> float:
    """Seconds from ``now`` until a request of ``cost`` passes, with the script's own arithmetic."""

    def passes(at: float) -> bool:
        return not at + EPSILON * interval < max(tat, at) + cost * interval - burst * interval

    return first_passing(now, tat + cost * interval - burst * interval - now, passes)


class GCRA(RedisLimiter):
    """GCRA per client on Redis: one key, one number, one atomic script call per check."""

    kind = "gcra"
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
        check_span("a full burst (burst / rate)", self.burst / self.rate, _ADVICE)
        self.interval = 1.0 / self.rate
        super().__init__(client, prefix, clock=clock, idle_ttl=idle_ttl)
        self._args = (repr(self.interval), repr(self.burst))

    def check(self, who: str, cost: int = 1) -> Decision:
        """Spend ``cost`` intervals of ``who``'s allowance now, if it stays within the burst."""
        cost = check_cost(cost, self.burst, "burst")
        now = self.now()
        reply = self._call([self.key(who)], [repr(now), *self._args, cost, self.idle_ms])
        span = self.burst * self.interval
        if reply[0] != "-":
            allow_at = float(reply) - span
            return Decision(True, 0.0, math.floor((now - allow_at) / self.interval + EPSILON))
        tat = max(float(reply[1:]), now)
        left = math.floor((now - (tat - span)) / self.interval + EPSILON)
        return Decision(False, due_wait(tat, now, self.interval, self.burst, cost), max(0, left))
