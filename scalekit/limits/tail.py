"""Tail latency at scale: a request that fans out to ``n`` shards waits for the slowest.

If one shard answers within ``t`` with probability ``F(t)``, all ``n`` do with
probability ``F(t) ** n``, so the fan-out's ``q`` quantile is the single shard's
``q ** (1 / n)`` quantile: a fan-out to 100 shards sees, at its median, what one
shard sees about once in 145 requests. A *hedged* request sends a second copy when the
first has not answered after ``delay`` and takes whichever answers first; it costs
one extra request for each first copy still out at ``delay``.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from scalekit.workload import make_rng

_STANDARD = NormalDist()


@dataclass(frozen=True)
class LatencyMix:
    """A shard's latency in seconds: lognormal around ``median``, and with probability ``slow_share`` a
    slow lognormal mode around ``slow_median`` (a garbage-collection pause, a cold cache, a busy disk)."""

    median: float = 0.010
    sigma: float = 0.25
    slow_share: float = 0.02
    slow_median: float = 0.100
    slow_sigma: float = 0.5

    def __post_init__(self) -> None:
        values = (self.median, self.slow_median, self.sigma, self.slow_sigma)
        if not all(0 < value < math.inf for value in values):
            raise ValueError(f"medians and sigmas must be finite numbers > 0, got {values}")
        if not 0 <= self.slow_share < 1:
            raise ValueError(f"slow_share must be in [0, 1), got {self.slow_share}")

    def cdf(self, t: float) -> float:
        """P(latency <= t)."""
        if t <= 0:
            return 0.0
        fast = _STANDARD.cdf(math.log(t / self.median) / self.sigma)
        slow = _STANDARD.cdf(math.log(t / self.slow_median) / self.slow_sigma)
        return (1 - self.slow_share) * fast + self.slow_share * slow

    def quantile(self, q: float) -> float:
        """The latency below which a share ``q`` of requests finish (the inverse of :meth:`cdf`)."""
        return _invert(self.cdf, q)

    def sample(self, size: int | tuple[int, ...], *, seed: int | None = None, rng=None) -> np.ndarray:
        """Random latencies in seconds."""
        generator = make_rng(seed, rng)
        slow = generator.random(size) < self.slow_share
        z = generator.standard_normal(size)
        return np.where(
            slow, self.slow_median * np.exp(self.slow_sigma * z), self.median * np.exp(self.sigma * z)
        )


def fanout_quantile(shard: LatencyMix, n: int, q: float) -> float:
    """Closed form: the ``q`` quantile of the slowest of ``n`` independent shards."""
    _check_n(n)
    return shard.quantile(q ** (1.0 / n))


def fanout_sample(
    shard: LatencyMix, n: int, requests: int, *, seed: int | None = None, rng=None
) -> np.ndarray:
    """Simulated fan-out latencies: the maximum over ``n`` shard latencies, ``requests`` times."""
    _check_n(n)
    return shard.sample((requests, n), seed=seed, rng=rng).max(axis=1)


def hedged_cdf(shard: LatencyMix, delay: float, t: float) -> float:
    """P(hedged latency <= t): the first copy, or a second copy sent at ``delay``, answers by ``t``."""
    _check_delay(delay)
    first_late = 1.0 - shard.cdf(t)
    if t < delay:
        return 1.0 - first_late
    return 1.0 - first_late * (1.0 - shard.cdf(t - delay))


def hedged_quantile(shard: LatencyMix, delay: float, q: float, n: int = 1) -> float:
    """Closed form: the ``q`` quantile of the slowest of ``n`` hedged shard calls."""
    _check_n(n)
    _check_delay(delay)
    return _invert(lambda t: hedged_cdf(shard, delay, t), q ** (1.0 / n))


def hedged_sample(
    shard: LatencyMix, delay: float, size: int | tuple[int, ...], *, seed: int | None = None, rng=None
) -> tuple[np.ndarray, float]:
    """Simulated hedged latencies, and the extra load: second copies sent per request."""
    _check_delay(delay)
    generator = make_rng(seed, rng)
    first = shard.sample(size, rng=generator)
    second = shard.sample(size, rng=generator)
    hedged = first > delay
    latency = np.where(hedged, np.minimum(first, delay + second), first)
    return latency, float(hedged.mean())


def _invert(cdf, q: float) -> float:
    if not 0 < q < 1:
        raise ValueError(f"quantile must be strictly between 0 and 1, got {q}")
    lo, hi = 1e-9, 1.0
    while cdf(hi) < q:
        hi *= 2
    for _ in range(200):
        mid = math.sqrt(lo * hi)
        if cdf(mid) < q:
            lo = mid
        else:
            hi = mid
        if hi / lo < 1 + 1e-12:
            break
    return hi


def _check_n(n: int) -> None:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"fan-out must be a whole number of shards >= 1, got {n!r}")


def _check_delay(delay: float) -> None:
    """A hedge goes out ``delay`` seconds after the first copy: >= 0 (``inf``: never), not NaN."""
    if isinstance(delay, bool) or not isinstance(delay, numbers.Real) or not delay >= 0:
        raise ValueError(
            f"the hedge delay must be a number of seconds >= 0 after the first copy (inf: never hedge), "
            f"got {delay!r}"
        )
