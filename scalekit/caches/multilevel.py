"""A hierarchy of caches (browser -> CDN -> Redis -> database): a model and a simulation.

A request tries each level in turn and stops at the first that has the answer. Two
ways to state a level's hit ratio are easy to mix up:

- its *share*: the fraction of ALL requests that this level answers (the outline's
  60% / 30% / 8% / 2%; shares add up to 1);
- its *conditional hit ratio*: the fraction of the requests that REACH it that it
  answers. The browser sees every request, so its two numbers agree (60%); the CDN
  sees only the 40% the browser missed and answers 30 of them, so its conditional
  hit ratio is 30/40 = 75%; Redis sees 10% and answers 8%: 80%.

The model works with conditional hit ratios (what a level's own metrics report, and
what you can change one level at a time) and converts to and from shares.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Real

import numpy as np

from scalekit.workload import make_rng


@dataclass(frozen=True)
class CacheLevel:
    """One level: its name, conditional hit ratio, and the latency of answering there (ms)."""

    name: str
    hit_ratio: float
    latency_ms: float

    def __post_init__(self) -> None:
        for field_name in ("hit_ratio", "latency_ms"):
            value = getattr(self, field_name)
            if isinstance(value, bool) or not isinstance(value, Real):
                raise ValueError(f"{field_name} of {self.name!r} must be a number, got {value!r}")
        if not 0.0 <= self.hit_ratio <= 1.0:
            raise ValueError(f"hit ratio of {self.name!r} must be in [0, 1], got {self.hit_ratio}")
        if not (self.latency_ms >= 0 and math.isfinite(self.latency_ms)):
            raise ValueError(
                f"latency of {self.name!r} must be a finite number of ms >= 0, got {self.latency_ms}"
            )


@dataclass(frozen=True)
class SimulatedRequests:
    """What :meth:`CacheHierarchy.simulate` saw: requests answered per level and their latencies."""

    names: tuple[str, ...]
    served: np.ndarray
    latencies_ms: np.ndarray

    @property
    def shares(self) -> np.ndarray:
        """The fraction of requests each level answered."""
        return self.served / self.served.sum()

    @property
    def mean_latency_ms(self) -> float:
        """The average latency over all simulated requests."""
        return float(self.latencies_ms.mean())


class CacheHierarchy:
    """Levels tried in order; the last one (the origin, e.g. the database) answers everything left."""

    def __init__(self, levels: Sequence[CacheLevel]) -> None:
        self.levels = tuple(levels)
        if not self.levels:
            raise ValueError("a cache hierarchy needs at least one level")
        if self.levels[-1].hit_ratio != 1.0:
            raise ValueError(
                f"the last level ({self.levels[-1].name!r}) is the origin and must answer every request "
                f"that reaches it: hit ratio 1.0, got {self.levels[-1].hit_ratio}"
            )

    @classmethod
    def from_shares(cls, names: Sequence[str], shares: Sequence[float], latencies_ms: Sequence[float]):
        """Build a hierarchy from shares of ALL requests (which must add up to 1)."""
        shares_array = np.asarray(shares, dtype=float)
        if not (len(names) == shares_array.size == len(latencies_ms)):
            raise ValueError("names, shares and latencies must have one entry per level")
        if (shares_array < 0).any() or not np.isclose(shares_array.sum(), 1.0, rtol=0, atol=1e-9):
            raise ValueError(
                f"shares must be >= 0 and add up to 1 (every request is answered somewhere), got {shares}"
            )
        reaching = 1.0 - np.concatenate([[0.0], np.cumsum(shares_array)[:-1]])
        levels = []
        for index, (name, latency) in enumerate(zip(names, latencies_ms, strict=True)):
            last = index == len(names) - 1
            ratio = 1.0 if last else (shares_array[index] / reaching[index] if reaching[index] > 0 else 0.0)
            levels.append(CacheLevel(name, float(min(ratio, 1.0)), float(latency)))
        return cls(levels)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(level.name for level in self.levels)

    @property
    def hit_ratios(self) -> np.ndarray:
        """Conditional hit ratios: of the requests reaching a level, the fraction it answers."""
        return np.array([level.hit_ratio for level in self.levels])

    @property
    def latencies_ms(self) -> np.ndarray:
        return np.array([level.latency_ms for level in self.levels])

    def reach(self) -> np.ndarray:
        """The fraction of all requests that reach each level (the first sees all of them)."""
        misses = 1.0 - self.hit_ratios
        return np.concatenate([[1.0], np.cumprod(misses)[:-1]])

    def shares(self) -> np.ndarray:
        """The fraction of all requests each level answers."""
        return self.reach() * self.hit_ratios

    def load_rps(self, total_rps: float) -> np.ndarray:
        """Requests per second arriving at each level when clients send ``total_rps``."""
        if (
            isinstance(total_rps, bool)
            or not isinstance(total_rps, Real)
            or not (total_rps >= 0 and math.isfinite(total_rps))
        ):
            raise ValueError(
                f"total_rps must be a finite number of requests per second >= 0, got {total_rps!r}"
            )
        return total_rps * self.reach()

    def origin_reduction(self) -> float:
        """How many times fewer requests reach the origin than without the caches."""
        reaching = self.reach()[-1]
        return float("inf") if reaching == 0 else float(1.0 / reaching)

    def mean_latency_ms(self, *, cumulative: bool = False) -> float:
        """The average latency of a request.

        ``cumulative=False`` charges a request only the latency of the level that answered
        it (the outline's arithmetic). ``cumulative=True`` also charges the misses on the
        way down (a database answer first paid for the CDN and Redis lookups).
        """
        per_level = np.cumsum(self.latencies_ms) if cumulative else self.latencies_ms
        return float(np.dot(self.shares(), per_level))

    def simulate(
        self,
        n_requests: int,
        *,
        cumulative: bool = False,
        seed: int | None = None,
        rng: np.random.Generator | None = None,
    ) -> SimulatedRequests:
        """Send ``n_requests`` one by one down the hierarchy; each level hits with its hit ratio.

        Every request draws one uniform number per level and stops at the first level
        where it hits; the seed makes the run repeatable.
        """
        if isinstance(n_requests, bool) or not isinstance(n_requests, (int, np.integer)) or n_requests < 1:
            raise ValueError(f"n_requests must be a whole number >= 1, got {n_requests!r}")
        generator = make_rng(seed, rng)
        draws = generator.random((n_requests, len(self.levels)))
        hit = draws < self.hit_ratios
        answered_by = np.argmax(hit, axis=1)
        per_level = np.cumsum(self.latencies_ms) if cumulative else self.latencies_ms
        served = np.bincount(answered_by, minlength=len(self.levels))
        return SimulatedRequests(self.names, served, per_level[answered_by])


OUTLINE_HIERARCHY = CacheHierarchy.from_shares(
    ["browser", "CDN", "Redis", "database"], [0.60, 0.30, 0.08, 0.02], [0.0, 20.0, 5.0, 50.0]
)
"""The outline's hierarchy: shares 60/30/8/2 % of all requests, latencies 0/20/5/50 ms."""
