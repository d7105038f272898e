"""Load balancers: which server gets the next request.

Each policy picks a server index from the number of requests each server has in
flight (``active``), which is all a real balancer knows:

- :class:`RoundRobin` ignores ``active`` and cycles; perfectly even counts, blind to
  a server that is stuck on a slow request;
- :class:`RandomChoice` picks uniformly; each server then behaves like its own M/M/1;
- :class:`LeastConnections` picks the fewest in flight (join the shortest queue);
- :class:`PowerOfTwoChoices` samples two servers and takes the less busy one: nearly
  as good as least connections while looking at only two servers, which is what
  lets very large fleets (and many balancers sharing one fleet) use it.

:func:`dispatch` runs an arrival stream through ``servers`` FIFO servers under one
policy; :func:`simulate_balancer` runs the same seeded Poisson stream under several.
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from scalekit.sim import QueueRun
from scalekit.workload import make_rng

POLICIES = ("round robin", "random", "least connections", "power of two")


class Balancer(Protocol):
    """What :func:`dispatch` needs from a policy."""

    name: str

    def pick(self, active: Sequence[int]) -> int: ...


class RoundRobin:
    """Server 0, 1, ..., n-1, 0, 1, ...: every server gets the same number of requests."""

    name = "round robin"

    def __init__(self) -> None:
        self._turns = itertools.count()  # next() on a count is atomic, so threads never share a turn

    def pick(self, active: Sequence[int]) -> int:
        _require_servers(active)
        return next(self._turns) % len(active)


class RandomChoice:
    """A uniformly random server from a seeded generator."""

    name = "random"

    def __init__(self, *, seed: int | None = None, rng: np.random.Generator | None = None) -> None:
        self._rng = make_rng(seed, rng)

    def pick(self, active: Sequence[int]) -> int:
        _require_servers(active)
        return int(self._rng.integers(len(active)))


class LeastConnections:
    """The server with the fewest requests in flight; ties go to the lowest index."""

    name = "least connections"

    def pick(self, active: Sequence[int]) -> int:
        _require_servers(active)
        return min(range(len(active)), key=active.__getitem__)


class PowerOfTwoChoices:
    """Two distinct random servers; the one with fewer in flight wins (the first drawn on a tie)."""

    name = "power of two"

    def __init__(self, *, seed: int | None = None, rng: np.random.Generator | None = None) -> None:
        self._rng = make_rng(seed, rng)

    def pick(self, active: Sequence[int]) -> int:
        n = _require_servers(active)
        if n == 1:
            return 0
        first = int(self._rng.integers(n))
        second = int(self._rng.integers(n - 1))
        second += second >= first
        return second if active[second] < active[first] else first


def make_balancer(name: str, *, seed: int | None = None) -> Balancer:
    """A balancer by its name in :data:`POLICIES`; the random ones are seeded with ``seed``."""
    if name == "round robin":
        return RoundRobin()
    if name == "least connections":
        return LeastConnections()
    if name == "random":
        return RandomChoice(seed=seed)
    if name == "power of two":
        return PowerOfTwoChoices(seed=seed)
    raise ValueError(f"unknown balancer {name!r}; choose one of {list(POLICIES)}")


@dataclass(frozen=True)
class BalancedRun(QueueRun):
    """A :class:`~scalekit.sim.QueueRun` plus the server each request went to.

    ``service`` is the time each request actually took on its server (its work
    divided by that server's speed).
    """

    server: np.ndarray

    def requests_per_server(self, servers: int) -> np.ndarray:
        """How many requests each of ``servers`` servers received."""
        return np.bincount(self.server, minlength=servers)


def dispatch(
    balancer: Balancer,
    arrivals: np.ndarray,
    work: np.ndarray,
    servers: int,
    *,
    speeds: Sequence[float] | None = None,
) -> BalancedRun:
    """Send each arrival to the server ``balancer`` picks; each server serves its own FIFO queue.

    ``work[i]`` is request i's service time on a speed-1 server; ``speeds`` (default
    all 1) makes some servers slower or faster. The balancer sees, at each arrival,
    how many requests every server has in flight (queued or in service).
    """
    arrivals = np.asarray(arrivals, dtype=float)
    work = np.asarray(work, dtype=float)
    if arrivals.shape != work.shape or arrivals.ndim != 1:
        raise ValueError("arrivals and work must be 1-D arrays of equal length")
    if not (np.isfinite(arrivals).all() and np.isfinite(work).all()):
        raise ValueError("arrival times and work must be finite numbers (no NaN or inf)")
    if arrivals.size and (np.diff(arrivals) < 0).any():
        raise ValueError("arrival times must be sorted (non-decreasing)")
    if (work < 0).any():
        raise ValueError("service work must be >= 0")
    if isinstance(servers, bool) or not isinstance(servers, numbers.Integral) or servers < 1:
        raise ValueError(f"server count must be a whole number >= 1, got {servers!r}")
    servers = int(servers)
    rate = np.ones(servers) if speeds is None else np.asarray(speeds, dtype=float)
    if rate.shape != (servers,) or not ((rate > 0) & np.isfinite(rate)).all():
        raise ValueError(f"speeds must be {servers} positive numbers, got {speeds!r}")
    finishing: list[deque[float]] = [deque() for _ in range(servers)]
    active = [0] * servers
    free_at = [0.0] * servers
    speed = rate.tolist()
    waits = np.empty_like(arrivals)
    taken = np.empty_like(work)
    chosen = np.empty(arrivals.size, dtype=np.int64)
    for index, (arrive, size) in enumerate(zip(arrivals.tolist(), work.tolist(), strict=True)):
        for k in range(servers):
            queue = finishing[k]
            while queue and queue[0] <= arrive:
                queue.popleft()
            active[k] = len(queue)
        k = balancer.pick(active)
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or not 0 <= k < servers:
            raise ValueError(f"{balancer.name} picked server {k}, but there are only {servers}")
        start = arrive if arrive > free_at[k] else free_at[k]
        duration = size / speed[k]
        free_at[k] = start + duration
        finishing[k].append(free_at[k])
        waits[index], taken[index], chosen[index] = start - arrive, duration, k
    return BalancedRun(arrivals, waits, taken, chosen)


def simulate_balancer(
    arrival_rate: float,
    service_rate: float,
    servers: int,
    *,
    policies: Sequence[str] = POLICIES,
    requests: int = 50_000,
    speeds: Sequence[float] | None = None,
    seed: int | None = None,
) -> dict[str, BalancedRun]:
    """Run one seeded Poisson stream with exponential work through ``servers`` under each policy.

    Every policy sees exactly the same arrivals and the same work per request, so the
    differences are the policy's alone. ``service_rate`` is one speed-1 server's
    requests per second.
    """
    if not all(
        isinstance(rate, numbers.Real) and not isinstance(rate, bool) and 0 < rate < math.inf
        for rate in (arrival_rate, service_rate)
    ):
        raise ValueError(
            f"rates must be finite numbers > 0, got arrival {arrival_rate!r} and service {service_rate!r}"
        )
    if isinstance(policies, str):
        raise ValueError(f"policies must be a list of names, e.g. [{policies!r}], not one string")
    if isinstance(requests, bool) or not isinstance(requests, numbers.Integral) or requests < 1:
        raise ValueError(f"requests must be a whole number >= 1, got {requests!r}")
    generator = make_rng(seed)
    arrivals = np.cumsum(generator.exponential(1.0 / arrival_rate, size=int(requests)))
    work = generator.exponential(1.0 / service_rate, size=int(requests))
    policy_seed = int(generator.integers(2**31))
    return {
        name: dispatch(make_balancer(name, seed=policy_seed), arrivals, work, servers, speeds=speeds)
        for name in policies
    }


def _require_servers(active: Sequence[int]) -> int:
    if active is None or isinstance(active, (str, bytes)) or not hasattr(active, "__len__"):
        raise TypeError(f"pick needs the in-flight count of every server (a list of ints), got {active!r}")
    if len(active) == 0:
        raise ValueError("no servers to choose from: the pool is empty")
    return len(active)
