"""Fast simulation of queues and server pools, checked against ``scalekit.models``.

A first-come-first-served pool of ``c`` identical servers is simulated exactly by
the Kiefer-Wolfowitz recursion: keep each server's next-free time in a heap; each
arrival takes the server that frees first. For ``c = 1`` this is Lindley's
recursion ``W[n+1] = max(0, W[n] + S[n] - A[n+1])``.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np

from scalekit.workload import make_rng


@dataclass(frozen=True)
class QueueRun:
    """What one simulated run measured, per request and in summary."""

    arrivals: np.ndarray
    waits: np.ndarray
    service: np.ndarray

    @property
    def response(self) -> np.ndarray:
        """Time in system per request: waiting plus service."""
        return self.waits + self.service

    @property
    def mean_wait(self) -> float:
        return float(self.waits.mean())

    @property
    def mean_response(self) -> float:
        return float(self.response.mean())

    def percentile(self, q: float) -> float:
        """The ``q``-th percentile (0-100) of response time."""
        return float(np.percentile(self.response, q))

    @property
    def throughput(self) -> float:
        """Completed requests per second over the run."""
        finish = self.arrivals + self.response
        return len(self.arrivals) / float(finish.max())

    def in_system_at(self, times: np.ndarray) -> np.ndarray:
        """How many requests are inside (arrived and not yet finished) at each of ``times``.

        Sampling this at many instants measures Little's L directly, independently of
        the throughput and response times that ``L = λW`` multiplies.
        """
        instants = np.asarray(times, dtype=float)
        arrived = np.searchsorted(np.sort(self.arrivals), instants, side="right")
        finished = np.searchsorted(np.sort(self.arrivals + self.response), instants, side="right")
        return arrived - finished


def fifo_pool(arrivals: np.ndarray, service: np.ndarray, servers: int = 1) -> QueueRun:
    """Simulate ``servers`` FIFO servers on given arrival times and service durations."""
    arrivals = np.asarray(arrivals, dtype=float)
    service = np.asarray(service, dtype=float)
    if arrivals.shape != service.shape or arrivals.ndim != 1:
        raise ValueError("arrivals and service must be 1-D arrays of equal length")
    if isinstance(servers, bool) or int(servers) != servers or servers < 1:
        raise ValueError(f"server count must be a whole number >= 1, got {servers!r}")
    if arrivals.size and (np.diff(arrivals) < 0).any():
        raise ValueError("arrival times must be sorted (non-decreasing)")
    waits = np.empty_like(arrivals)
    free_at = [0.0] * int(servers)
    heapreplace = heapq.heapreplace
    for index, (arrive, duration) in enumerate(zip(arrivals.tolist(), service.tolist(), strict=True)):
        earliest = free_at[0]
        start = arrive if arrive > earliest else earliest
        waits[index] = start - arrive
        heapreplace(free_at, start + duration)
    return QueueRun(arrivals, waits, service)


def mmc(
    arrival_rate: float,
    service_rate: float,
    servers: int = 1,
    *,
    requests: int = 50_000,
    seed: int | None = None,
    rng: np.random.Generator | None = None,
) -> QueueRun:
    """Simulate an M/M/c queue: Poisson arrivals, exponential service, ``servers`` servers."""
    if arrival_rate <= 0 or service_rate <= 0:
        raise ValueError(f"rates must be > 0, got arrival {arrival_rate} and service {service_rate}")
    generator = make_rng(seed, rng)
    gaps = generator.exponential(1.0 / arrival_rate, size=requests)
    service = generator.exponential(1.0 / service_rate, size=requests)
    return fifo_pool(np.cumsum(gaps), service, servers)


def fluid_backlog(arrival_rate: np.ndarray, capacity: np.ndarray | float, step: float = 60.0) -> np.ndarray:
    """Requests waiting at the end of each step when arrivals beyond capacity queue up.

    A fluid model for overloads, where averages matter more than individual requests:
    ``backlog[t] = max(0, backlog[t-1] + (arrival_rate[t] - capacity[t]) * step)``.
    Rates are per second; ``step`` is the length of one step in seconds.
    """
    arrivals = np.asarray(arrival_rate, dtype=float)
    capacities = np.broadcast_to(np.asarray(capacity, dtype=float), arrivals.shape)
    if (arrivals < 0).any() or (capacities < 0).any():
        raise ValueError("arrival rates and capacities must be >= 0")
    if step <= 0:
        raise ValueError(f"step must be > 0 seconds, got {step}")
    backlog = np.empty_like(arrivals)
    waiting = 0.0
    for index, (offered, served) in enumerate(zip(arrivals.tolist(), capacities.tolist(), strict=True)):
        waiting = max(0.0, waiting + (offered - served) * step)
        backlog[index] = waiting
    return backlog
