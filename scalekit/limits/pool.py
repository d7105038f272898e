"""A worker pool in front of a dependency that turns slow: what timeouts and breakers save.

Requests arrive at a pool of ``workers``; a share of them call a dependency. While the
dependency is sick its calls hang for ``hang`` seconds and then fail. Every hanging
call holds a worker, so requests that never touch the dependency queue behind them:
one slow service takes the whole pool down. A timeout bounds how long a call holds
a worker; a :class:`~scalekit.limits.breaker.CircuitBreaker` stops making the calls.
A request whose call failed or was skipped still answers, without that part (a page
without recommendations): degraded, but an answer.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from scalekit.clock import SimClock
from scalekit.limits.breaker import CircuitBreaker

OK, CALL_FAILED, SKIPPED = 0, 1, 2


@dataclass(frozen=True)
class PoolRun:
    """Per request: arrival, response time and outcome (OK, CALL_FAILED or SKIPPED by the breaker)."""

    arrivals: np.ndarray
    response: np.ndarray
    outcome: np.ndarray
    patience: float

    @property
    def answered_in_time(self) -> np.ndarray:
        """True where the client got an answer (full or degraded) before giving up."""
        return self.response <= self.patience

    def goodput(self, bins: np.ndarray) -> np.ndarray:
        """Requests per second answered in time, by arrival time in each bin."""
        good, _ = np.histogram(self.arrivals[self.answered_in_time], bins=bins)
        return good / np.diff(bins)

    def share_answered(self, start: float, end: float) -> float:
        """The share of requests arriving in ``[start, end)`` answered in time."""
        inside = (self.arrivals >= start) & (self.arrivals < end)
        return float(self.answered_in_time[inside].mean())


def simulate_pool(
    arrivals: np.ndarray,
    calls_dependency: np.ndarray,
    *,
    workers: int,
    work: float,
    dependency: Callable[[float], float],
    sick: Callable[[float], bool],
    patience: float,
    timeout: float | None = None,
    breaker: CircuitBreaker | None = None,
) -> PoolRun:
    """Run ``workers`` FIFO workers; a request takes ``work`` s plus its dependency call, if any.

    ``dependency(t)`` is how long a call started at ``t`` takes; ``sick(t)`` says whether
    it then fails. A call that reaches ``timeout`` is cut off and fails. With a breaker,
    a refused call costs nothing (outcome SKIPPED). The breaker
    must run on a :class:`~scalekit.clock.SimClock`; the simulation moves it.
    """
    arrivals = np.asarray(arrivals, dtype=float)
    calls = np.asarray(calls_dependency, dtype=bool)
    if arrivals.shape != calls.shape or arrivals.ndim != 1:
        raise ValueError("arrivals and calls_dependency must be 1-D arrays of equal length")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a whole number >= 1, got {workers!r}")
    if not np.isfinite(arrivals).all() or (np.diff(arrivals) < 0).any():
        raise ValueError("arrival times must be finite and sorted (non-decreasing)")
    if not (np.isfinite(work) and work >= 0 and patience > 0):
        raise ValueError(f"work must be finite and >= 0 s and patience > 0 s, got {work!r}, {patience!r}")
    if timeout is not None and not timeout > 0:
        raise ValueError(f"timeout must be > 0 seconds or None, got {timeout!r}")
    if breaker is not None and not isinstance(breaker.clock, SimClock):
        raise ValueError("the breaker must use a SimClock: the simulation sets its time")
    finish = np.empty_like(arrivals)
    outcome = np.full(arrivals.size, OK, dtype=np.int8)
    events: list[tuple[float, int, int]] = [(a, 1, i) for i, a in enumerate(arrivals.tolist())]
    heapq.heapify(events)
    waiting: deque[int] = deque()
    idle = workers
    while events:
        now, kind, index = heapq.heappop(events)
        if breaker is not None:
            breaker.clock.advance_to(max(now, breaker.clock.now()))
        if kind == 0:
            idle += 1
            if breaker is not None and calls[index] and outcome[index] != SKIPPED:
                breaker.record(outcome[index] == OK)
        else:
            waiting.append(index)
        while idle and waiting:
            request = waiting.popleft()
            idle -= 1
            took = work
            if calls[request]:
                if breaker is not None and not breaker.allow():
                    outcome[request] = SKIPPED
                else:
                    call = dependency(now)
                    failed = sick(now)
                    if timeout is not None and call > timeout:
                        call, failed = timeout, True
                    took += call
                    outcome[request] = CALL_FAILED if failed else OK
            finish[request] = now + took
            heapq.heappush(events, (now + took, 0, request))
    return PoolRun(arrivals, finish - arrivals, outcome, float(patience))
