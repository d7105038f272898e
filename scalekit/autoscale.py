"""Auto-scaling: policies that resize a group of servers, and a minute-by-minute simulation.

The group has a minimum, a maximum and a *desired* capacity. A policy looks at the
group's CPU utilisation history once a minute and may change the desired capacity;
new servers take ``launch_minutes`` to boot before they take traffic (but are billed
from the moment they are asked for), and removed servers stop at once.

Three policies:

- :class:`ThresholdPolicy`: alarms on CPU, exactly like the course outline's YAML
  (out by 2 when CPU > 70 % for 5 minutes, in by 1 when CPU < 30 % for 10 minutes),
  with a cool-down after each action;
- :class:`TargetTrackingPolicy`: sizes the group so CPU sits near a target, scaling
  out at once and in only after a quiet spell. CPU cannot read above 100 %, so at a
  50 % target one step can at most double the group;
- :class:`RequestTrackingPolicy`: the same, driven by requests per second per server
  (AWS's ALBRequestCountPerTarget metric), which is not capped: one step reaches the
  size the load needs.

Requests beyond the group's capacity wait in a backlog; the recurrence is
:func:`scalekit.sim.fluid_backlog`'s, computed step by step because the policy's next
move depends on it. How long a request *waits* is :func:`scalekit.sim.fifo_wait`:
first come, first served, at the capacity of the minutes that follow its arrival.
"""

from __future__ import annotations

import inspect
import itertools
import math
import numbers
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from scalekit import sim

SECONDS_PER_MINUTE = 60


class ScalingPolicy(Protocol):
    """Decides the group's new desired capacity once a minute."""

    def decide(
        self,
        utilisation: np.ndarray,
        in_service: np.ndarray,
        desired: int,
        since_action: int,
        *,
        requests: np.ndarray | None = None,
    ) -> int:
        """New desired capacity from the history so far (the last element is this minute).

        ``since_action`` counts minutes since the group last changed size; ``requests``
        is the offered load in requests per second, one value per minute (a policy may
        leave the keyword out if it does not use it).
        """
        ...


@dataclass(frozen=True)
class GroupLimits:
    """An auto-scaling group's bounds and starting size (the outline's 2, 20 and 4)."""

    min_size: int = 2
    max_size: int = 20
    desired: int = 4

    def __post_init__(self) -> None:
        for name in ("min_size", "max_size", "desired"):
            _require_whole(name, getattr(self, name), 1)
            object.__setattr__(self, name, int(getattr(self, name)))
        if not self.min_size <= self.desired <= self.max_size:
            raise ValueError(
                f"need min_size <= desired <= max_size, got {self.min_size}, {self.desired}, {self.max_size}"
            )

    def clamp(self, servers: int) -> int:
        """``servers`` held within ``[min_size, max_size]``."""
        return max(self.min_size, min(self.max_size, int(servers)))


@dataclass(frozen=True)
class ThresholdPolicy:
    """Step scaling on CPU alarms: the outline's YAML by default.

    Scale out by ``out_step`` when each of the last ``out_minutes`` minutes was above
    ``out_above``; scale in by ``in_step`` when each of the last ``in_minutes`` was
    below ``in_below``. No action within ``cooldown_minutes`` of the previous one.
    """

    out_above: float = 0.70
    out_minutes: int = 5
    out_step: int = 2
    in_below: float = 0.30
    in_minutes: int = 10
    in_step: int = 1
    cooldown_minutes: int = 5

    def __post_init__(self) -> None:
        _require_fraction("out_above", self.out_above)
        _require_fraction("in_below", self.in_below)
        if not 0 <= self.in_below < self.out_above <= 1:
            raise ValueError(f"need 0 <= in_below < out_above <= 1, got {self.in_below} and {self.out_above}")
        for name in ("out_minutes", "out_step", "in_minutes", "in_step"):
            _require_whole(name, getattr(self, name), 1)
        _require_whole("cooldown_minutes", self.cooldown_minutes, 0)

    def decide(
        self,
        utilisation: np.ndarray,
        in_service: np.ndarray,
        desired: int,
        since_action: int,
        *,
        requests: np.ndarray | None = None,
    ) -> int:
        if since_action < self.cooldown_minutes:
            return desired
        if _held(utilisation, self.out_minutes, lambda u: u > self.out_above):
            return desired + self.out_step
        if _held(utilisation, self.in_minutes, lambda u: u < self.in_below):
            return desired - self.in_step
        return desired


@dataclass(frozen=True)
class TargetTrackingPolicy:
    """Keep CPU near ``target``: servers needed = ceil(in service × CPU / target).

    Scales out at once to what the current minute needs; scales in only when every
    one of the last ``in_minutes`` minutes needed fewer servers, and then to the most
    any of them needed (cautious, because capacity removed too early is an outage).
    CPU reads at most 100 %, so one step can grow the group by at most ``1 / target``.
    """

    target: float = 0.50
    in_minutes: int = 15
    cooldown_minutes: int = 0

    def __post_init__(self) -> None:
        _require_fraction("target", self.target)
        if not 0 < self.target < 1:
            raise ValueError(f"target utilisation must be between 0 and 1, got {self.target}")
        _require_whole("in_minutes", self.in_minutes, 1)
        _require_whole("cooldown_minutes", self.cooldown_minutes, 0)

    def needed(self, utilisation: np.ndarray, in_service: np.ndarray) -> np.ndarray:
        """Servers each minute would need to run at ``target`` (rounded up)."""
        busy = np.asarray(in_service, dtype=float) * np.asarray(utilisation, dtype=float)
        return np.ceil(np.round(busy / self.target, 9)).astype(np.int64)

    def decide(
        self,
        utilisation: np.ndarray,
        in_service: np.ndarray,
        desired: int,
        since_action: int,
        *,
        requests: np.ndarray | None = None,
    ) -> int:
        return _track(self.needed(utilisation, in_service), desired, since_action, self)


@dataclass(frozen=True)
class RequestTrackingPolicy:
    """Keep each server near ``per_server`` requests per second: needed = ceil(requests / per_server).

    The signal is what the load balancer counts arriving, before any server is busy,
    so it is not capped the way CPU is: one step reaches the size the load needs.
    Scale-in is as cautious as :class:`TargetTrackingPolicy`'s.
    """

    per_server: float
    in_minutes: int = 15
    cooldown_minutes: int = 0

    def __post_init__(self) -> None:
        value = self.per_server
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < math.inf:
            raise ValueError(f"per_server must be a finite number of requests/s > 0, got {value!r}")
        _require_whole("in_minutes", self.in_minutes, 1)
        _require_whole("cooldown_minutes", self.cooldown_minutes, 0)

    def needed(self, requests: np.ndarray) -> np.ndarray:
        """Servers each minute's request rate needs at ``per_server`` each (rounded up)."""
        rates = np.asarray(requests, dtype=float)
        return np.ceil(np.round(rates / float(self.per_server), 9)).astype(np.int64)

    def decide(
        self,
        utilisation: np.ndarray,
        in_service: np.ndarray,
        desired: int,
        since_action: int,
        *,
        requests: np.ndarray | None = None,
    ) -> int:
        if requests is None:
            raise ValueError("RequestTrackingPolicy needs the request rate: pass requests=... to decide")
        return _track(self.needed(requests), desired, since_action, self)


def _track(needed: np.ndarray, desired: int, since_action: int, policy) -> int:
    """Target tracking's rule: out at once to this minute's need, in only after a quiet spell."""
    if since_action < policy.cooldown_minutes:
        return desired
    now = int(needed[-1])
    if now > desired:
        return now
    if len(needed) >= policy.in_minutes:
        recent = needed[-policy.in_minutes :]
        if recent.max() < desired:
            return int(recent.max())
    return desired


@dataclass(frozen=True)
class ScaleEvent:
    """The group's desired capacity changed from ``before`` to ``after`` at the end of ``minute``."""

    minute: int
    before: int
    after: int


@dataclass(frozen=True)
class AutoscaleRun:
    """Per-minute results of :func:`simulate`: arrays of equal length, one entry per minute."""

    offered: np.ndarray
    in_service: np.ndarray
    billed: np.ndarray
    utilisation: np.ndarray
    backlog: np.ndarray
    per_server: float
    events: list[ScaleEvent] = field(default_factory=list)

    @property
    def server_hours(self) -> float:
        """Servers paid for, in server-hours (booting servers included)."""
        return float(self.billed.sum()) / 60

    @property
    def scale_outs(self) -> int:
        return sum(e.after > e.before for e in self.events)

    @property
    def scale_ins(self) -> int:
        return sum(e.after < e.before for e in self.events)

    @property
    def reversals(self) -> int:
        """How often the group turned around (out then in, or in then out): a flapping count."""
        signs = [1 if e.after > e.before else -1 for e in self.events]
        return sum(a != b for a, b in itertools.pairwise(signs))

    @property
    def capacity(self) -> np.ndarray:
        """Requests per second the servers in service can complete, each minute."""
        return self.in_service * self.per_server

    def backlog_minutes(self) -> np.ndarray:
        """The backlog at the end of each minute, in minutes of that minute's capacity.

        A size, not a wait: while servers are being added, the backlog drains faster
        than this suggests. For the wait, use :meth:`wait_minutes`.
        """
        return self.backlog / (self.capacity * SECONDS_PER_MINUTE)

    def wait_minutes(self) -> np.ndarray:
        """Minutes a request arriving at the start of each minute waits (FIFO, fluid model)."""
        return sim.fifo_wait(self.offered, self.capacity, step=SECONDS_PER_MINUTE) / SECONDS_PER_MINUTE

    @property
    def worst_wait_minutes(self) -> float:
        """The longest any request waits in the run, in minutes (FIFO, at any instant)."""
        return sim.worst_fifo_wait(self.offered, self.capacity, step=SECONDS_PER_MINUTE) / SECONDS_PER_MINUTE


def simulate(
    offered: np.ndarray,
    per_server: float,
    policy: ScalingPolicy,
    limits: GroupLimits | None = None,
    *,
    launch_minutes: int = 3,
) -> AutoscaleRun:
    """Run an auto-scaling group over ``offered`` (requests per second, one value per minute).

    Each server completes ``per_server`` requests per second. Each minute: servers
    whose boot finished join; the group serves what it can of the new requests and
    the backlog; CPU utilisation is the busy share of the servers in service; then
    the policy may resize the group. Servers asked for at the end of minute ``t``
    serve from minute ``t + 1 + launch_minutes``.
    """
    limits = limits if limits is not None else GroupLimits()
    if not isinstance(limits, GroupLimits):
        raise ValueError(
            f"limits must be a GroupLimits(min_size=..., max_size=..., desired=...), got {limits!r}"
        )
    rates = np.asarray(offered, dtype=float)
    if rates.ndim != 1 or rates.size == 0:
        raise ValueError("offered must be a non-empty 1-D array of requests per second per minute")
    if not np.isfinite(rates).all() or (rates < 0).any():
        raise ValueError("offered load must be finite and >= 0 requests per second")
    per_server = _positive("per_server", per_server)
    _require_whole("launch_minutes", launch_minutes, 0)
    minutes = rates.size
    in_service = np.empty(minutes, dtype=np.int64)
    billed = np.empty(minutes, dtype=np.int64)
    utilisation = np.empty(minutes)
    backlog = np.empty(minutes)
    events: list[ScaleEvent] = []
    serving, booting, waiting = limits.desired, [], 0.0
    last_action = -(10**9)
    decide = _decider(policy)
    for t, rate in enumerate(rates.tolist()):
        serving += sum(ready <= t for ready in booting)
        booting = [ready for ready in booting if ready > t]
        capacity = serving * per_server * SECONDS_PER_MINUTE
        work = waiting + rate * SECONDS_PER_MINUTE
        done = min(work, capacity)
        waiting = work - done
        in_service[t], billed[t], utilisation[t], backlog[t] = (
            serving,
            serving + len(booting),
            done / capacity,
            waiting,
        )
        desired = serving + len(booting)
        wanted = limits.clamp(
            decide(utilisation[: t + 1], in_service[: t + 1], desired, t - last_action, rates[: t + 1])
        )
        if wanted == desired:
            continue
        events.append(ScaleEvent(t, desired, wanted))
        last_action = t
        if wanted > desired:
            booting += [t + 1 + launch_minutes] * (wanted - desired)
        else:
            cancel = min(len(booting), desired - wanted)
            booting = sorted(booting)[: len(booting) - cancel]
            serving -= desired - wanted - cancel
    return AutoscaleRun(rates, in_service, billed, utilisation, backlog, float(per_server), events)


def _decider(policy: ScalingPolicy):
    """Call ``policy.decide`` with ``requests=`` only when it accepts that keyword."""
    if isinstance(policy, type):
        raise ValueError(
            f"pass a policy object, not the class: {policy.__name__}() instead of {policy.__name__}"
        )
    decide = getattr(policy, "decide", None)
    if not callable(decide):
        raise ValueError(f"a scaling policy needs a decide(...) method, got {policy!r}")
    try:
        parameters = inspect.signature(decide).parameters.values()
    except (TypeError, ValueError):
        parameters = []
    takes_requests = any(p.name == "requests" or p.kind is p.VAR_KEYWORD for p in parameters)

    def call(utilisation, in_service, desired, since_action, requests) -> int:
        if takes_requests:
            wanted = decide(utilisation, in_service, desired, since_action, requests=requests)
        else:
            wanted = decide(utilisation, in_service, desired, since_action)
        if isinstance(wanted, bool) or not isinstance(wanted, numbers.Integral):
            raise ValueError(f"decide must return a whole number of servers, got {wanted!r}")
        return int(wanted)

    return call


def desired_replicas(current: int, metric: float, target: float, tolerance: float = 0.1) -> int:
    """Kubernetes' HorizontalPodAutoscaler rule: ``ceil(current × metric / target)``.

    While ``metric / target`` is within ``tolerance`` of 1 (10 % by default) the count
    stays as it is, so small wobbles do not resize the fleet. The caller clamps the
    result to its minimum and maximum.
    """
    _require_whole("current", current, 1)
    value = _finite("metric", metric, 0.0)
    goal = _finite("target", target, 0.0)
    if goal == 0:
        raise ValueError("target must be > 0: it is the metric value each replica should sit at")
    slack = _finite("tolerance", tolerance, 0.0)
    if slack >= 1:
        raise ValueError(f"tolerance must be below 1 (0.1 means 10 %), got {tolerance!r}")
    ratio = value / goal
    if abs(1.0 - ratio) <= slack:
        return int(current)
    wanted = ratio * int(current)
    if not math.isfinite(wanted):
        raise ValueError(f"metric / target = {ratio:g} is too large to give a replica count")
    return math.ceil(wanted)


def _positive(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < math.inf:
        raise ValueError(f"{name} must be a finite number > 0 requests per second, got {value!r}")
    return float(value)


def _finite(name: str, value: object, minimum: float) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not minimum <= value < math.inf:
        raise ValueError(f"{name} must be a finite number >= {minimum:g}, got {value!r}")
    return float(value)


def servers_for_peak(offered: np.ndarray, per_server: float, target: float = 0.70) -> int:
    """A fixed fleet big enough for the busiest minute of ``offered`` at ``target`` utilisation."""
    if isinstance(target, bool) or not isinstance(target, numbers.Real) or not 0 < target <= 1:
        raise ValueError(f"target utilisation must be in (0, 1], got {target!r}")
    _positive("per_server", per_server)
    rates = np.asarray(offered, dtype=float)
    if rates.size == 0 or not np.isfinite(rates).all() or (rates < 0).any():
        raise ValueError("offered must be a non-empty array of finite rates >= 0 requests per second")
    return max(1, math.ceil(float(rates.max()) / (per_server * target)))


def rescaled_utilisation(utilisation: float, before: int, after: int) -> float:
    """CPU after resizing ``before`` servers to ``after`` with the same load: ``u × before / after``.

    It may exceed 1: the load then no longer fits and a backlog builds.
    """
    _require_whole("before", before, 1)
    _require_whole("after", after, 1)
    return _finite("utilisation", utilisation, 0.0) * before / after


def _require_fraction(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a CPU fraction such as 0.7 (for 70 %), got {value!r}")


def _held(history: np.ndarray, minutes: int, breached) -> bool:
    return len(history) >= minutes and bool(np.all(breached(history[-minutes:])))


def _require_whole(name: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}, got {value!r}")
