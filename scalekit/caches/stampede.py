"""Cache stampedes: when a hot key expires, many readers miss at once and all hit the database.

Two cures, both here:

* a **lock**: the first reader to miss takes a Redis lock (``SET key token NX PX ttl``)
  and reloads; the others wait and re-read. The lock has a TTL so a reader that
  crashes while holding it frees it, and it is released with a compare-and-delete Lua
  script so a slow holder whose lock already expired cannot delete someone else's.
* **XFetch** (probabilistic early recomputation, Vattani et al. 2015): each reader,
  *before* expiry, recomputes with a probability that rises as expiry nears and with
  how long the recomputation takes, so the key is usually refreshed before it expires.
  At high read rates several readers may decide to refresh at once; taking the lock
  for the early refresh (``"xfetch+lock"``) keeps it to one.

:func:`simulate_stampede` replays many readers against a :class:`HotCache` on a
:class:`~scalekit.clock.SimClock`, one event at a time, so the counts are exact and
repeatable while every cache operation is a real Redis command.
"""

from __future__ import annotations

import heapq
import json
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import redis

from scalekit.caches._ttl import MAX_TTL, check_wait, ttl_ms
from scalekit.clock import Clock, RealClock, SimClock
from scalekit.workload import make_rng

PROTECTIONS = ("none", "lock", "xfetch", "xfetch+lock")
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_ACQUIRE_ON_CLOCK = """
local held = redis.call('GET', KEYS[1])
if held then
  local expires = tonumber(string.match(held, ' (%S+)$'))
  if expires == nil or tonumber(ARGV[2]) < expires then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1])
return 1
"""


def acquire_lock(cache: redis.Redis, name: str, ttl: float) -> str | None:
    """Take the lock ``name`` for ``ttl`` seconds; return its token, or None if someone holds it."""
    px = ttl_ms(ttl, "lock ttl")
    token = uuid.uuid4().hex
    return token if cache.set(name, token, nx=True, px=px) else None


def release_lock(cache: redis.Redis, name: str, token: str) -> bool:
    """Release ``name`` only if ``token`` still holds it; True if it did."""
    return bool(cache.eval(_RELEASE, 1, name, token))


@dataclass(frozen=True)
class Lookup:
    """What a reader should do: ``"hit"`` (use ``value``), ``"load"`` (recompute) or ``"wait"``."""

    action: str
    value: Any = None
    token: str | None = None


class HotCache:
    """A cache of expensive values under ``<prefix>:value:<key>`` with stampede protection.

    ``protection`` is ``"none"``, ``"lock"``, ``"xfetch"`` or ``"xfetch+lock"`` (an early
    recomputation takes the lock; readers who lose the race keep the current value). Expiry is logical: the
    entry stores its expiry time (on ``clock``) and how long its last recomputation
    took (XFetch's ``delta``). Without a clock (or with a :class:`RealClock`) the lock's
    ``lock_ttl`` is real seconds, enforced by Redis (``PX``); with a simulated clock such
    as :class:`SimClock` the lock stores its expiry time on that clock, so waits and
    lock expiry run on the same time.
    XFetch draws random numbers: pass ``seed=`` or ``rng=`` for it. ``early_loads`` counts
    the lookups that told a reader to reload while the cached value was still fresh.
    """

    def __init__(
        self,
        cache: redis.Redis,
        *,
        prefix: str = "hot",
        ttl: float = 60.0,
        protection: str = "lock",
        lock_ttl: float = 5.0,
        beta: float = 1.0,
        clock: Clock | None = None,
        seed: int | None = None,
        rng: np.random.Generator | None = None,
    ) -> None:
        if protection not in PROTECTIONS:
            raise ValueError(f"protection must be one of {PROTECTIONS}, got {protection!r}")
        ttl_ms(ttl)
        ttl_ms(lock_ttl, "lock_ttl")
        if not (beta > 0 and math.isfinite(beta)):
            raise ValueError(f"beta must be a finite number > 0 (1.0 is the XFetch default), got {beta}")
        self.cache, self.prefix, self.ttl, self.protection = cache, prefix, float(ttl), protection
        self.lock_ttl, self.beta, self.clock = float(lock_ttl), float(beta), clock
        uses_rng = protection.startswith("xfetch") or seed is not None or rng is not None
        self.rng = make_rng(seed, rng) if uses_rng else None
        self._lock_on_clock = clock is not None and not isinstance(clock, RealClock)
        self._acquire_on_clock = cache.register_script(_ACQUIRE_ON_CLOCK)
        # Expiry is logical, but on real time Redis also drops an entry nobody reads again
        # (at twice the TTL: never before it is logically stale). A simulated clock has no
        # relation to Redis's time, so there the entry stays until overwritten.
        self._backstop_ms = None if self._lock_on_clock else ttl_ms(min(2 * self.ttl, MAX_TTL))
        self.loads = 0
        self.early_loads = 0

    def key(self, key: str) -> str:
        """The Redis key holding ``key``'s value."""
        return f"{self.prefix}:value:{key}"

    def lock_key(self, key: str) -> str:
        """The Redis key of ``key``'s reload lock."""
        return f"{self.prefix}:lock:{key}"

    def lookup(self, key: str) -> Lookup:
        """Decide, for one reader now, whether to use the cached value, reload it, or wait."""
        raw = self.cache.get(self.key(key))
        now = self._now()
        locking = self.protection in ("lock", "xfetch+lock")
        entry = _entry(raw)
        if entry is not None and now < entry["exp"]:
            if not self.protection.startswith("xfetch") or not self._early(now, entry):
                return Lookup("hit", entry["v"])
            if not locking:
                self.early_loads += 1
                return Lookup("load", entry["v"])
            token = self._acquire(key)
            if token is None or self._refreshed_since(key, raw):
                return self._give_back(key, token, Lookup("hit", entry["v"]))
            self.early_loads += 1
            return Lookup("load", entry["v"], token)
        if not locking:
            return Lookup("load")
        token = self._acquire(key)
        if token is None:
            return Lookup("wait")
        if self._refreshed_since(key, raw):
            return self._give_back(key, token, self.lookup(key))
        return Lookup("load", token=token)

    def fill(self, key: str, value: Any, compute_time: float, token: str | None = None) -> None:
        """Store a freshly computed ``value`` (it took ``compute_time`` s) and release the lock.

        The lock is released even if ``value`` cannot be stored (it is not JSON): then the
        error reaches the caller and the next reader retries at once.
        """
        try:
            delta = check_wait(compute_time, "compute_time")
            entry = {"v": value, "exp": self._now() + self.ttl, "delta": delta}
            self.cache.set(self.key(key), json.dumps(entry), px=self._backstop_ms)
        finally:
            if token is not None:
                release_lock(self.cache, self.lock_key(key), token)

    def get(self, key: str, loader: Callable[[str], Any], *, retry: float = 0.05) -> Any:
        """Read ``key``, recomputing it with ``loader`` when this reader is the one to do so.

        Waiting readers re-read every ``retry`` seconds; if the lock holder vanished
        they take over once its lock expires. If ``loader`` raises, the lock is
        released (so the next reader retries at once) and the error reaches the caller.
        """
        check_wait(retry, "retry")
        if retry == 0:
            raise ValueError("retry must be a finite number of seconds > 0 (a zero wait spins), got 0")
        while True:
            found = self.lookup(key)
            if found.action == "hit":
                return found.value
            if found.action == "load":
                started = self._now()
                self.loads += 1
                try:
                    value = loader(key)
                except BaseException:
                    if found.token is not None:
                        release_lock(self.cache, self.lock_key(key), found.token)
                    raise
                self.fill(key, value, max(0.0, self._now() - started), found.token)
                return value
            (self.clock.sleep if self.clock is not None else time.sleep)(retry)

    def _acquire(self, key: str) -> str | None:
        """Take ``key``'s reload lock for ``lock_ttl`` seconds (real, or on a simulated clock)."""
        if not self._lock_on_clock:
            return acquire_lock(self.cache, self.lock_key(key), self.lock_ttl)
        now = self._now()
        token = f"{uuid.uuid4().hex} {now + self.lock_ttl!r}"
        taken = self._acquire_on_clock(keys=[self.lock_key(key)], args=[token, repr(now)])
        return token if taken else None

    def _refreshed_since(self, key: str, seen: str | None) -> bool:
        """True if another reader stored a new entry after we read ``seen`` (checked under the lock)."""
        return self.cache.get(self.key(key)) != seen

    def _give_back(self, key: str, token: str | None, answer: Lookup) -> Lookup:
        if token is not None:
            release_lock(self.cache, self.lock_key(key), token)
        return answer

    def _early(self, now: float, entry: dict[str, Any]) -> bool:
        gap = -entry["delta"] * self.beta * math.log(1.0 - self.rng.random())
        return now + gap >= entry["exp"]

    def _now(self) -> float:
        return self.clock.now() if self.clock is not None else time.time()


def _entry(raw: str | bytes | None) -> dict[str, Any] | None:
    """A cached entry as :meth:`HotCache.fill` wrote it, or None (absent, or not one of ours:
    then it is treated as expired and the next fill overwrites it)."""
    if raw is None:
        return None
    try:
        entry = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(entry, dict) or "v" not in entry:
        return None
    if not all(isinstance(entry.get(name), (int, float)) for name in ("exp", "delta")):
        return None
    return entry


@dataclass
class StampedeResult:
    """What :func:`simulate_stampede` saw."""

    readers: int
    loader_calls: int
    max_concurrent_loads: int
    waits: int
    latencies: list[float] = field(repr=False)

    @property
    def mean_latency(self) -> float:
        """Mean seconds from a reader's arrival to its answer."""
        return float(np.mean(self.latencies)) if self.latencies else 0.0


def simulate_stampede(
    hot: HotCache,
    arrivals: np.ndarray,
    *,
    key: str = "hot",
    load_time: float = 0.2,
    retry: float = 0.05,
) -> StampedeResult:
    """Replay readers arriving at ``arrivals`` (sim seconds) on one hot key.

    The key is filled at time 0 and expires after ``hot.ttl``; each recomputation
    takes ``load_time``. ``hot.clock`` must be a :class:`SimClock` starting at 0:
    the simulation moves it from event to event, so readers interleave exactly.
    """
    clock = hot.clock
    if not isinstance(clock, SimClock) or clock.now() != 0:
        raise ValueError("simulate_stampede needs hot.clock to be a SimClock at time 0")
    if not load_time > 0 or not retry > 0:
        raise ValueError(f"load_time and retry must be > 0 seconds, got {load_time} and {retry}")
    times = np.sort(np.asarray(arrivals, dtype=float))
    if times.size and not (times[0] >= 0 and np.isfinite(times).all()):
        raise ValueError("arrival times must be finite numbers of seconds >= 0 (no NaN or inf)")
    hot.fill(key, "v0", load_time)
    events: list[tuple[float, int, str, int, str | None]] = [
        (float(t), i, "read", i, None) for i, t in enumerate(times)
    ]
    heapq.heapify(events)
    sequence, loads, concurrent, peak, waits = len(events), 0, 0, 0, 0
    latencies: list[float] = []
    while events:
        when, _, kind, reader, token = heapq.heappop(events)
        clock.advance_to(when)
        if kind == "loaded":
            hot.fill(key, f"v{loads}", load_time, token)
            concurrent -= 1
            latencies.append(when - times[reader])
            continue
        found = hot.lookup(key)
        if found.action == "hit":
            latencies.append(when - times[reader])
            continue
        if found.action == "wait":
            waits += 1
            heapq.heappush(events, (when + retry, sequence, "read", reader, None))
        else:
            loads += 1
            concurrent += 1
            peak = max(peak, concurrent)
            heapq.heappush(events, (when + load_time, sequence, "loaded", reader, found.token))
        sequence += 1
    return StampedeResult(int(times.size), loads, peak, waits, latencies)
