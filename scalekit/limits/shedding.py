"""Load shedding: refuse or skip work the server cannot do in time, so the rest is done in time.

Under overload a server that accepts everything serves every request late: each waits
behind a queue that only grows, the client gives up, and the work done for it is
wasted. Three remedies, each simulated request by request in :func:`serve`:

- a **bounded queue** refuses arrivals when ``max_queue`` requests already wait (the
  429/503 a client gets at once, instead of a timeout much later);
- **drop expired**: skip a queued request whose client has already given up;
- **LIFO**: serve the newest request first, whose client is still waiting.

:func:`fluid_admission` is the same idea minute by minute for a whole traffic trace.
"""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass

import numpy as np

from scalekit.sim import fifo_wait

GOOD, LATE, REFUSED, DROPPED = 0, 1, 2, 3
OUTCOMES = ("answered in time", "served too late", "refused at once", "dropped, client gone")


@dataclass(frozen=True)
class ShedRun:
    """Per request: arrival, wait before service and finish time (NaN if never served), outcome code."""

    arrivals: np.ndarray
    waits: np.ndarray
    outcome: np.ndarray
    duration: float
    finish: np.ndarray

    def count(self, code: int) -> int:
        """How many requests ended with outcome ``code`` (GOOD, LATE, REFUSED, DROPPED)."""
        return int((self.outcome == code).sum())

    @property
    def goodput(self) -> float:
        """Requests answered in time while requests were arriving, per second of that span.

        Answers given after the last arrival, while the servers empty the queue, are left
        out: counting them over the arrival span would credit a finite run with more than
        its capacity.
        """
        ends = self.arrivals[0] + self.duration
        return int(((self.outcome == GOOD) & (self.finish <= ends)).sum()) / self.duration

    def summary(self) -> dict[str, float]:
        """The share of requests in each outcome."""
        return {name: self.count(code) / self.outcome.size for code, name in enumerate(OUTCOMES)}


def serve(
    arrivals: np.ndarray,
    service: np.ndarray,
    servers: int,
    *,
    patience: float,
    discipline: str = "fifo",
    max_queue: int | None = None,
    drop_expired: bool = False,
) -> ShedRun:
    """Serve requests on ``servers`` servers; a client waits ``patience`` s for its answer.

    ``discipline`` is ``"fifo"`` or ``"lifo"`` (which queued request a free server takes).
    A request finished after ``patience`` counts as late: done, but for nobody.
    """
    arrivals = np.asarray(arrivals, dtype=float)
    service = np.asarray(service, dtype=float)
    if arrivals.shape != service.shape or arrivals.ndim != 1 or arrivals.size == 0:
        raise ValueError("arrivals and service must be non-empty 1-D arrays of equal length")
    if not (np.isfinite(arrivals).all() and np.isfinite(service).all() and (service >= 0).all()):
        raise ValueError("arrival times must be finite, service times finite and >= 0")
    if (np.diff(arrivals) < 0).any():
        raise ValueError("arrival times must be sorted (non-decreasing)")
    if discipline not in ("fifo", "lifo"):
        raise ValueError(f"discipline must be 'fifo' or 'lifo', got {discipline!r}")
    if isinstance(servers, bool) or not isinstance(servers, int) or servers < 1:
        raise ValueError(f"servers must be a whole number >= 1, got {servers!r}")
    if max_queue is not None and (
        isinstance(max_queue, bool) or not isinstance(max_queue, int) or max_queue < 0
    ):
        raise ValueError(f"max_queue must be a whole number >= 0 or None, got {max_queue!r}")
    if not patience > 0:
        raise ValueError(f"patience must be > 0 seconds, got {patience!r}")
    waits = np.full(arrivals.size, np.nan)
    finish = np.full(arrivals.size, np.nan)
    outcome = np.empty(arrivals.size, dtype=np.int8)
    free = [0.0] * servers
    queue: deque[int] = deque()
    take = queue.popleft if discipline == "fifo" else queue.pop
    arrive = arrivals.tolist()
    need = service.tolist()

    def dispatch(until: float) -> None:
        while queue and free[0] <= until:
            start = free[0]
            request = take()
            if drop_expired and start - arrive[request] > patience:
                outcome[request] = DROPPED
                continue
            waits[request] = start - arrive[request]
            done = start + need[request]
            finish[request] = done
            outcome[request] = GOOD if done - arrive[request] <= patience else LATE
            heapq.heapreplace(free, done)

    for request, at in enumerate(arrive):
        dispatch(at)
        if not queue and free[0] <= at:
            waits[request] = 0.0
            finish[request] = at + need[request]
            outcome[request] = GOOD if need[request] <= patience else LATE
            heapq.heapreplace(free, at + need[request])
        elif max_queue is not None and len(queue) >= max_queue:
            outcome[request] = REFUSED
        else:
            queue.append(request)
    dispatch(float("inf"))
    return ShedRun(arrivals, waits, outcome, float(arrivals[-1] - arrivals[0]) or 1.0, finish)


@dataclass(frozen=True)
class FluidAdmission:
    """Per step of a traffic trace: requests admitted, refused, and the FIFO wait of each step's arrivals."""

    offered: np.ndarray
    admitted: np.ndarray
    refused: np.ndarray
    wait: np.ndarray
    timed_out: np.ndarray
    step: float


def fluid_admission(
    offered: np.ndarray,
    capacity: np.ndarray | float,
    step: float = 60.0,
    *,
    patience: float,
    max_wait: float | None = None,
    substeps: int = 60,
) -> FluidAdmission:
    """Admit traffic (requests/s per step) into a FIFO queue drained at ``capacity``.

    With ``max_wait`` (a limiter in front), arrivals that would make the backlog hold
    more than ``max_wait`` seconds of work at the current capacity are refused at once.
    ``wait`` is the longest FIFO wait of a step's arrivals (:func:`scalekit.sim.fifo_wait`:
    until everything ahead of them is served, at the capacity that follows), and
    ``timed_out`` counts admitted requests whose wait exceeds ``patience``: served,
    but after the client left. Requests still queued at the end wait past the trace.
    """
    rates = np.asarray(offered, dtype=float)
    caps = np.broadcast_to(np.asarray(capacity, dtype=float), rates.shape)
    if rates.ndim != 1 or rates.size == 0 or (rates < 0).any() or (caps <= 0).any():
        raise ValueError("offered must be a non-empty 1-D array >= 0 and capacity > 0")
    if not step > 0 or not patience > 0 or (max_wait is not None and not max_wait >= 0):
        raise ValueError("step and patience must be > 0 seconds, max_wait >= 0 or None")
    dt = step / substeps
    arrive_rate = np.repeat(rates, substeps)
    serve_rate = np.repeat(caps, substeps)
    admitted = np.empty_like(arrive_rate)
    backlog = 0.0
    for k, (rate, cap) in enumerate(zip(arrive_rate.tolist(), serve_rate.tolist(), strict=True)):
        room = float("inf") if max_wait is None else cap * max_wait - backlog + cap * dt
        take = min(rate * dt, max(0.0, room))
        admitted[k] = take
        backlog = max(0.0, backlog + take - cap * dt)
    middles = (np.arange(admitted.size) + 0.5) * dt
    wait_sub = fifo_wait(admitted / dt, serve_rate, dt, at=middles)
    late_sub = np.where(wait_sub > patience, admitted, 0.0)
    shape = (rates.size, substeps)
    adm = admitted.reshape(shape).sum(axis=1)
    return FluidAdmission(
        offered=rates * step,
        admitted=adm,
        refused=rates * step - adm,
        wait=wait_sub.reshape(shape).max(axis=1),
        timed_out=late_sub.reshape(shape).sum(axis=1),
        step=float(step),
    )
