"""Retry storms: how clients that retry can keep a server down after the trigger has passed.

A fluid simulation in small time steps. Requests join a FIFO queue; the server works
through ``capacity`` requests a second. A client waits ``timeout`` seconds, then gives
up and, if its policy allows, sends the request again. The server does not know the
client left, so it still spends capacity on the abandoned copy. Once the queue holds
more than ``timeout`` seconds of work, every request it serves is one nobody waits
for, every client retries, and the extra load keeps the queue long: the system stays
down although the spike that started it is over (a *metastable* failure).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RetryPolicy:
    """How a client retries: up to ``attempts`` tries, waiting ``backoff(n)`` before try ``n + 1``.

    ``backoff(n) = min(cap, base * multiplier ** (n - 1))``; with ``jitter`` the wait is
    drawn uniformly from ``[0, backoff(n)]`` ("full jitter"). ``budget`` caps retries at
    that fraction of first attempts over the last ``budget_window`` seconds.
    """

    name: str
    attempts: int = 3
    base: float = 0.0
    multiplier: float = 2.0
    cap: float = 30.0
    jitter: bool = False
    budget: float | None = None
    budget_window: float = 10.0

    def __post_init__(self) -> None:
        if isinstance(self.attempts, bool) or not isinstance(self.attempts, int) or self.attempts < 1:
            raise ValueError(f"attempts must be a whole number >= 1, got {self.attempts!r}")
        numbers = (self.base, self.multiplier, self.cap, self.budget_window)
        if not all(math.isfinite(n) for n in numbers) or self.budget_window <= 0:
            raise ValueError("base, multiplier, cap and budget_window must be finite; budget_window > 0")
        if self.base < 0 or self.multiplier < 1 or self.cap < self.base:
            raise ValueError("need base >= 0, multiplier >= 1 and cap >= base")
        if self.budget is not None and not 0 <= self.budget <= 1:
            raise ValueError(f"budget is a fraction of first attempts in [0, 1], got {self.budget!r}")

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed try number ``attempt`` (1-based), before any jitter."""
        return min(self.cap, self.base * self.multiplier ** (attempt - 1))


@dataclass(frozen=True)
class StormRun:
    """Per time step: first attempts, retries sent, requests answered in time, and queue length."""

    times: np.ndarray
    fresh: np.ndarray
    retries: np.ndarray
    good: np.ndarray
    wasted: np.ndarray
    queue: np.ndarray
    dt: float
    spike_end: float

    def goodput(self) -> np.ndarray:
        """Requests per second answered before their client gave up."""
        return self.good / self.dt

    def offered(self) -> np.ndarray:
        """Requests per second reaching the server: first attempts plus retries."""
        return (self.fresh + self.retries) / self.dt

    def recovered_after(self, share: float = 0.95) -> float:
        """Seconds after the spike until goodput stays >= ``share`` of demand for good (inf: never)."""
        after = self.times >= self.spike_end
        healthy = self.good >= share * self.fresh
        bad = np.flatnonzero(after & ~healthy)
        if bad.size == 0:
            return 0.0
        if bad[-1] >= self.times.size - round(5.0 / self.dt):
            return math.inf
        return float(self.times[bad[-1] + 1] - self.spike_end)


def retry_storm(
    policy: RetryPolicy,
    *,
    capacity: float = 100.0,
    rate: float = 80.0,
    spike_rate: float = 200.0,
    spike: tuple[float, float] = (10.0, 20.0),
    duration: float = 180.0,
    timeout: float = 2.0,
    drop_expired: bool = False,
    dt: float = 0.1,
) -> StormRun:
    """Simulate ``duration`` s of ``rate`` req/s (``spike_rate`` during ``spike``) retrying per ``policy``.

    With ``drop_expired`` the server skips requests whose client has given up.
    """
    settings = (capacity, rate, spike_rate, timeout, dt, duration, *spike)
    if not all(math.isfinite(v) for v in settings):
        raise ValueError(f"the storm's settings must be finite numbers, got {settings}")
    if not (capacity > 0 and rate >= 0 and spike_rate >= 0 and timeout > 0 and dt > 0 and duration > 0):
        raise ValueError("capacity, timeout, dt and duration must be > 0; rates >= 0")
    steps = round(duration / dt)
    times = np.arange(steps) * dt
    demand = np.where((times >= spike[0]) & (times < spike[1]), spike_rate, rate) * dt
    wait_steps = max(1, round(timeout / dt))
    scheduled = np.zeros((steps + 1, policy.attempts + 1))
    fresh = np.zeros(steps)
    sent_retries = np.zeros(steps)
    good = np.zeros(steps)
    wasted = np.zeros(steps)
    queue_len = np.zeros(steps)
    # each cohort: [step it joined, attempt, amount still queued]
    cohorts: list[list[float]] = []
    head = expire = 0
    queued = 0.0
    window = max(1, round(policy.budget_window / dt))
    for k in range(steps):
        fresh[k] = demand[k]
        cohorts.append([k, 1, demand[k]])
        queued += demand[k]
        for attempt in range(2, policy.attempts + 1):
            amount = scheduled[k, attempt]
            if amount > 0 and policy.budget is not None:
                lo = max(0, k - window + 1)
                room = policy.budget * fresh[lo : k + 1].sum() - sent_retries[lo:k].sum() - sent_retries[k]
                amount = min(amount, max(0.0, room))
            if amount > 0:
                sent_retries[k] += amount
                cohorts.append([k, attempt, amount])
                queued += amount
        # clients whose timeout ran out give up now, before the server looks at the queue,
        # so a request the server then drops (or serves too late) has already been retried
        expire = max(expire, head)
        while expire < len(cohorts) and k - cohorts[expire][0] >= wait_steps:
            _, attempt, amount = cohorts[expire]
            attempt = int(attempt)
            if attempt < policy.attempts and amount > 0:
                _schedule(scheduled, k, attempt, amount, policy, dt)
            expire += 1
        work = capacity * dt
        while work > 1e-12 and head < len(cohorts):
            joined, _, amount = cohorts[head]
            gone = k - joined >= wait_steps
            if gone and drop_expired:
                queued -= amount
                cohorts[head][2] = 0.0
                head += 1
                continue
            served = min(amount, work)
            work -= served
            queued -= served
            if gone:
                wasted[k] += served
            else:
                good[k] += served
            cohorts[head][2] = amount - served
            if cohorts[head][2] <= 1e-12:
                head += 1
        queue_len[k] = max(0.0, queued)
    spike_end = float(spike[1])
    return StormRun(times, fresh, sent_retries, good, wasted, queue_len, dt, spike_end)


def _schedule(
    scheduled: np.ndarray, k: int, attempt: int, amount: float, policy: RetryPolicy, dt: float
) -> None:
    delay = policy.backoff(attempt) / dt
    last = scheduled.shape[0] - 1
    if not policy.jitter or delay < 1:
        target = min(last, k + 1 + round(delay))
        scheduled[target, attempt + 1] += amount
        return
    spread = math.ceil(delay)
    for offset in range(1, spread + 1):
        scheduled[min(last, k + offset), attempt + 1] += amount / spread
