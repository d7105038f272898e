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
    arrivals, capacities = _checked_trace(arrival_rate, capacity, step)
    backlog = np.empty_like(arrivals)
    waiting = 0.0
    for index, (offered, served) in enumerate(zip(arrivals.tolist(), capacities.tolist(), strict=True)):
        waiting = max(0.0, waiting + (offered - served) * step)
        backlog[index] = waiting
    return backlog


def _checked_trace(
    arrival_rate: np.ndarray, capacity: np.ndarray | float, step: float
) -> tuple[np.ndarray, np.ndarray]:
    """Arrival rates and capacities as float arrays of one shape, or a ValueError saying what is wrong.

    NaN must be refused, not computed with: ``max(0.0, nan)`` is 0.0, a silent empty queue."""
    arrivals = np.asarray(arrival_rate, dtype=float)
    if arrivals.ndim != 1 or arrivals.size == 0:
        raise ValueError("arrival_rate must be a non-empty 1-D array of rates per second")
    capacities = np.broadcast_to(np.asarray(capacity, dtype=float), arrivals.shape)
    if not (np.isfinite(arrivals).all() and np.isfinite(capacities).all()):
        raise ValueError("arrival rates and capacities must be finite numbers (no NaN or inf)")
    if (arrivals < 0).any() or (capacities < 0).any():
        raise ValueError("arrival rates and capacities must be >= 0")
    if not (np.isfinite(step) and step > 0):
        raise ValueError(f"step must be > 0 seconds, got {step}")
    return arrivals, capacities


def _fluid_curves(arrival_rate: np.ndarray, capacity: np.ndarray | float, step: float):
    """Knots of the cumulative arrival and departure curves of a fluid FIFO queue."""
    arrivals, capacities = _checked_trace(arrival_rate, capacity, step)
    arrived = np.concatenate([[0.0], np.cumsum(arrivals * step)])
    times, departed = [0.0], [0.0]
    backlog = 0.0
    for index, (offered, served) in enumerate(zip(arrivals.tolist(), capacities.tolist(), strict=True)):
        start = index * step
        if backlog > 0 and served > offered:
            drained_after = backlog / (served - offered)
            if drained_after < step:  # the queue empties inside the step, then keeps pace with arrivals
                times.append(start + drained_after)
                departed.append(departed[-1] + served * drained_after)
        backlog = max(0.0, backlog + (offered - served) * step)
        times.append(start + step)
        departed.append(max(departed[-1], arrived[index + 1] - backlog))
    return arrived, np.asarray(times), np.asarray(departed), capacities


def fifo_wait(
    arrival_rate: np.ndarray,
    capacity: np.ndarray | float,
    step: float = 60.0,
    at: np.ndarray | None = None,
) -> np.ndarray:
    """How long a request arriving at each time in ``at`` waits in a FIFO queue, in seconds.

    The same fluid model as :func:`fluid_backlog` (rates per second, piecewise constant
    over steps of ``step`` seconds), but it answers the question a user asks: a request
    that joins the queue leaves once everything ahead of it has been served, *at the
    capacity of the moments that follow*. Dividing the backlog by the capacity of the
    moment it arrives overstates the wait whenever capacity is ramping up. ``at``
    defaults to the start of each step. Work still queued when the trace ends is served
    at the last step's capacity (an infinite wait if that is zero).
    """
    arrived, times, departed, capacities = _fluid_curves(arrival_rate, capacity, step)
    horizon = len(arrived) - 1
    instants = np.arange(horizon) * float(step) if at is None else np.asarray(at, dtype=float)
    if not np.isfinite(instants).all() or (instants < 0).any() or (instants > horizon * step).any():
        raise ValueError(f"times in `at` must lie within the trace, 0..{horizon * step:g} seconds")
    boundaries = np.arange(horizon + 1) * float(step)
    joined = np.interp(instants, boundaries, arrived)
    scale = max(1.0, float(arrived[-1]))
    waits = np.empty_like(instants)
    for index, (instant, target) in enumerate(zip(instants.tolist(), joined.tolist(), strict=True)):
        if target - np.interp(instant, times, departed) <= 1e-9 * scale:
            waits[index] = 0.0
            continue
        knot = int(np.searchsorted(departed, target - 1e-12 * scale, side="left"))
        if knot >= len(departed):
            last = float(capacities[-1])
            leave = times[-1] + (target - departed[-1]) / last if last > 0 else np.inf
        else:
            rise = departed[knot] - departed[knot - 1]
            share = (target - departed[knot - 1]) / rise if rise > 0 else 1.0
            leave = times[knot - 1] + min(1.0, max(0.0, share)) * (times[knot] - times[knot - 1])
        waits[index] = max(0.0, leave - instant)
    return waits


def worst_fifo_wait(arrival_rate: np.ndarray, capacity: np.ndarray | float, step: float = 60.0) -> float:
    """The longest any request waits in :func:`fifo_wait`'s fluid FIFO queue, in seconds.

    The wait is piecewise linear in the arrival time, so its maximum sits at a step
    boundary or at an arrival that leaves exactly when the departure curve bends;
    both kinds of instant are checked.
    """
    arrived, _, departed, _ = _fluid_curves(arrival_rate, capacity, step)
    boundaries = np.arange(len(arrived)) * float(step)
    knots = np.clip(np.searchsorted(arrived, departed, side="left"), 1, len(arrived) - 1)
    rise = arrived[knots] - arrived[knots - 1]
    share = np.divide(departed - arrived[knots - 1], rise, out=np.ones_like(rise), where=rise > 0)
    bends = boundaries[knots - 1] + np.clip(share, 0.0, 1.0) * float(step)
    candidates = np.unique(np.concatenate([boundaries, bends]))
    return float(fifo_wait(arrival_rate, capacity, step, at=candidates).max())
