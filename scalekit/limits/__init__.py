"""Staying up under overload: rate limiters on Redis and the patterns of notebook 10.

Limiters (one atomic Lua call per check, a clock passed in): :class:`TokenBucket`,
:class:`GCRA`, :class:`FixedWindow`, :class:`SlidingLog`, each with a plain-Python
model of the same rule. Simulations on virtual time: load shedding
(:mod:`~scalekit.limits.shedding`), retry storms (:mod:`~scalekit.limits.retries`),
timeouts and circuit breakers (:mod:`~scalekit.limits.breaker`,
:mod:`~scalekit.limits.pool`) and tail latency (:mod:`~scalekit.limits.tail`).
"""

from scalekit.limits.base import Decision, RedisLimiter
from scalekit.limits.gcra import GCRA, GCRAModel
from scalekit.limits.token_bucket import TokenBucket, TokenBucketModel
from scalekit.limits.windows import FixedWindow, FixedWindowModel, SlidingLog, SlidingLogModel

__all__ = [
    "GCRA",
    "Decision",
    "FixedWindow",
    "FixedWindowModel",
    "GCRAModel",
    "RedisLimiter",
    "SlidingLog",
    "SlidingLogModel",
    "TokenBucket",
    "TokenBucketModel",
]
