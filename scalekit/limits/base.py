"""What every rate limiter shares: the answer it gives, its keys and its clock.

A limiter answers each check with a :class:`Decision`: allowed or not, and how long
to wait before the same request could pass (the ``Retry-After`` of an HTTP 429).
The Redis limiters do a whole check in one Lua script, so two servers checking the
same client at once can never both spend its last token. They take the time from a
clock in Python and pass it to the script, so a :class:`~scalekit.clock.SimClock`
drives them exactly, and the embedded fakeredis and a real server agree.
"""

from __future__ import annotations

import hashlib
import math
import numbers
from collections.abc import Callable
from typing import NamedTuple

import redis

from scalekit.clock import Clock, WallClock

# Lua and Python compare against thresholds with the same slack, so a token count
# that is 0.9999999999 after floating-point refills still buys a request.
EPSILON = 1e-9
# The longest a limiter's state may need to live, in seconds (about 31,700 years): Redis
# expiry times are whole milliseconds, and Lua's numbers are exact only below 2**53.
LONGEST_SPAN = 1e12


class Decision(NamedTuple):
    """One check's answer: ``allowed``, seconds until it could pass, requests left now."""

    allowed: bool
    retry_after: float
    remaining: int


class RedisLimiter:
    """A limiter whose state lives in Redis under ``prefix``, in keys tagged with the client id.

    Keys look like ``<prefix>:{<client>}:<kind>``: the braces are a Redis Cluster hash
    tag, so every key of one client sits in one slot and its script can run there,
    while different clients spread over the cluster.
    """

    kind = "limit"
    script_source = ""

    def __init__(
        self, client: redis.Redis, prefix: str, *, clock: Clock | None = None, idle_ttl: float = 60.0
    ):
        if not isinstance(prefix, str) or not prefix or "{" in prefix or "}" in prefix:
            raise ValueError(
                "prefix must be a non-empty string without braces "
                f"(the client id gets the hash tag), got {prefix!r}"
            )
        idle_ttl = check_positive("idle_ttl", idle_ttl)
        check_span("idle_ttl", idle_ttl)
        self.client = client
        self.prefix = prefix
        self.clock = clock if clock is not None else WallClock()
        self.idle_ms = math.ceil(idle_ttl * 1000)
        self._sha = hashlib.sha1(self.script_source.encode()).hexdigest()

    def key(self, who: str, suffix: str = "") -> str:
        """The Redis key holding ``who``'s state (hash-tagged by client id)."""
        who = _client_id(who)
        return f"{self.prefix}:{{{who}}}:{self.kind}{suffix}"

    def now(self) -> float:
        """The clock's time as a float; a clock that gives NaN or infinity is a ValueError."""
        now = float(self.clock.now())
        if not math.isfinite(now):
            raise ValueError(f"the limiter's clock gave {now}; it must give finite seconds")
        return now

    def _call(self, keys: list[str], args: list[object]) -> object:
        """Run the limiter's script (by its SHA, loading it once if the server lacks it); text as str."""
        try:
            reply = self.client.evalsha(self._sha, len(keys), *keys, *args)
        except redis.exceptions.NoScriptError:
            self._sha = self.client.script_load(self.script_source)
            reply = self.client.evalsha(self._sha, len(keys), *keys, *args)
        return reply.decode() if isinstance(reply, bytes) else reply


def _client_id(who: object) -> str:
    text = str(who)
    if not text or "{" in text or "}" in text:
        raise ValueError(f"client id must be a non-empty string without braces, got {who!r}")
    return text


def check_cost(cost: int, most: float, what: str) -> int:
    """``cost`` as a whole number in ``[1, most]`` (numpy integers too), else a ValueError that says why."""
    if isinstance(cost, bool) or not isinstance(cost, numbers.Integral) or cost < 1:
        raise ValueError(f"cost must be a whole number >= 1, got {cost!r}")
    if cost > most:
        raise ValueError(f"cost {cost} exceeds the {what} ({most:g}): such a request could never pass")
    return int(cost)


def check_positive(name: str, value: float) -> float:
    """``value`` as a float if it is a finite number > 0 (not text, not a bool), else a ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number > 0, got {value!r}")
    number = float(value)
    if not (math.isfinite(number) and number > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return number


def check_span(what: str, seconds: float, advice: str = "use a shorter one") -> None:
    """Refuse settings whose state would have to live longer than Redis can expire it."""
    if not seconds <= LONGEST_SPAN:
        raise ValueError(
            f"{what} spans {seconds:.3g} s, more than the {LONGEST_SPAN:.0e} s (about 31,700 years) "
            f"a limiter's state can live in Redis; {advice}"
        )


def first_passing(now: float, wait: float, passes: Callable[[float], bool]) -> float:
    """The smallest ``wait`` (from the estimate up) after which ``passes(now + wait)`` holds.

    ``wait`` is computed in floating point, so ``now + wait`` may land a hair before the
    moment the limiter's own arithmetic lets the request through; a client that waits
    exactly ``retry_after`` must pass, so step it up to that moment.
    """
    for _ in range(64):
        if passes(now + wait):
            return wait
        wait = max(math.nextafter(wait, math.inf), math.nextafter(now + wait, math.inf) - now)
    return wait
