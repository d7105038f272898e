"""Seeded workload generators: who asks for what, and when.

Every function takes ``seed=`` or ``rng=`` (a ``numpy.random.Generator``) and never
touches global random state, so the same seed gives the same workload on every
machine. Real traffic is skewed (a few keys are hot), bursty (arrivals are random)
and periodic (day and night, plus sales); these generators have all three.
"""

from __future__ import annotations

import numpy as np

SECONDS_PER_MINUTE = 60
MINUTES_PER_DAY = 24 * 60


def make_rng(seed: int | None = None, rng: np.random.Generator | None = None) -> np.random.Generator:
    """Return ``rng`` if given, else a fresh generator for ``seed``.

    Exactly one of the two must be given: silently unseeded randomness is how
    notebooks stop being reproducible.
    """
    if rng is not None and seed is not None:
        raise ValueError("pass either seed= or rng=, not both")
    if rng is not None:
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        return rng
    if seed is None:
        raise ValueError("pass seed= (an int) or rng= (numpy.random.default_rng(seed)) so results repeat")
    return np.random.default_rng(seed)


def zipf_popularity(n_keys: int, exponent: float = 1.0) -> np.ndarray:
    """Probability of each key under a finite Zipf law: ``p[i]`` is proportional to ``1/(i+1)**exponent``.

    Key 0 is the most popular. ``exponent`` 0 is uniform; around 0.8-1.2 is typical
    of web and cache traffic.
    """
    _require_positive_int("n_keys", n_keys)
    if exponent < 0:
        raise ValueError(f"Zipf exponent must be >= 0, got {exponent}")
    weights = np.arange(1, n_keys + 1, dtype=float) ** -float(exponent)
    return weights / weights.sum()


def zipf_trace(
    n_keys: int,
    n_requests: int,
    exponent: float = 1.0,
    *,
    seed: int | None = None,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """A trace of ``n_requests`` key ids in ``[0, n_keys)`` drawn from :func:`zipf_popularity`."""
    _require_positive_int("n_requests", n_requests)
    generator = make_rng(seed, rng)
    cumulative = np.cumsum(zipf_popularity(n_keys, exponent))
    cumulative[-1] = 1.0
    keys = np.searchsorted(cumulative, generator.random(n_requests), side="right")
    return keys.astype(np.int64)


def poisson_arrivals(
    rate: float,
    duration: float,
    *,
    seed: int | None = None,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Sorted arrival times in ``[0, duration)`` of a Poisson process with ``rate`` per second."""
    if rate <= 0:
        raise ValueError(f"arrival rate must be > 0 per second, got {rate}")
    if duration <= 0:
        raise ValueError(f"duration must be > 0 seconds, got {duration}")
    generator = make_rng(seed, rng)
    count = generator.poisson(rate * duration)
    return np.sort(generator.uniform(0.0, duration, size=count))


def exponential_times(
    mean: float, size: int, *, seed: int | None = None, rng: np.random.Generator | None = None
) -> np.ndarray:
    """``size`` exponentially distributed durations with the given ``mean`` (e.g. service times)."""
    if mean <= 0:
        raise ValueError(f"mean must be > 0, got {mean}")
    return make_rng(seed, rng).exponential(mean, size=size)


def diurnal_traffic(
    days: int = 3,
    *,
    base_rps: float = 1000.0,
    daily_swing: float = 0.6,
    peak_hour: float = 20.0,
    spike_multiplier: float = 10.0,
    spike_day: int | None = None,
    spike_start_hour: float = 9.0,
    spike_hours: float = 4.0,
    seed: int | None = None,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Requests per second for each minute of ``days`` days of day/night traffic with one sale spike.

    The mean rate is ``base_rps``; it swings by ``daily_swing`` (a fraction) peaking
    at ``peak_hour``; during the spike (on ``spike_day``, default the last day) the
    rate is multiplied by ``spike_multiplier``. Each minute's count is Poisson, so the
    curve has realistic noise.
    """
    _require_positive_int("days", days)
    if base_rps <= 0:
        raise ValueError(f"base_rps must be > 0, got {base_rps}")
    if not 0 <= daily_swing < 1:
        raise ValueError(f"daily_swing must be in [0, 1) so traffic stays positive, got {daily_swing}")
    if spike_multiplier < 1:
        raise ValueError(f"spike_multiplier must be >= 1 (1 means no spike), got {spike_multiplier}")
    generator = make_rng(seed, rng)
    minutes = np.arange(days * MINUTES_PER_DAY)
    hours = (minutes % MINUTES_PER_DAY) / 60.0
    rate = base_rps * (1.0 + daily_swing * np.cos(2 * np.pi * (hours - peak_hour) / 24.0))
    day = days - 1 if spike_day is None else spike_day
    if not 0 <= day < days:
        raise ValueError(f"spike_day must be in [0, {days}), got {spike_day}")
    start = day * MINUTES_PER_DAY + int(spike_start_hour * 60)
    rate[start : start + int(spike_hours * 60)] *= spike_multiplier
    counts = generator.poisson(rate * SECONDS_PER_MINUTE)
    return counts / SECONDS_PER_MINUTE


def follower_counts(
    n_users: int,
    *,
    exponent: float = 2.1,
    minimum: int = 1,
    maximum: int | None = None,
    seed: int | None = None,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Follower counts with a power-law tail: P(count >= x) falls like ``x**(1 - exponent)``.

    Social graphs measure ``exponent`` around 2 to 2.5: most users have a handful of
    followers, a few have millions. Counts are capped at ``maximum`` if given.
    """
    _require_positive_int("n_users", n_users)
    if exponent <= 1:
        raise ValueError(f"power-law exponent must be > 1 for counts to be finite, got {exponent}")
    _require_positive_int("minimum", minimum)
    generator = make_rng(seed, rng)
    uniform = generator.random(n_users)
    counts = np.floor(minimum * (1.0 - uniform) ** (-1.0 / (exponent - 1.0))).astype(np.int64)
    if maximum is not None:
        np.minimum(counts, maximum, out=counts)
    return counts


def follower_graph(
    counts: np.ndarray, *, seed: int | None = None, rng: np.random.Generator | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Edges ``(followee, follower)`` giving user ``u`` about ``counts[u]`` distinct followers.

    Followers are drawn uniformly from the other users; duplicate draws are merged,
    so a user may end with slightly fewer followers than asked. Edges are sorted by
    followee, then follower.
    """
    counts = np.asarray(counts, dtype=np.int64)
    n_users = counts.size
    if n_users < 2:
        raise ValueError("a follower graph needs at least 2 users")
    if (counts < 0).any():
        raise ValueError("follower counts must be >= 0")
    generator = make_rng(seed, rng)
    counts = np.minimum(counts, n_users - 1)
    followee = np.repeat(np.arange(n_users, dtype=np.int64), counts)
    draw = generator.integers(0, n_users - 1, size=followee.size)
    follower = draw + (draw >= followee)
    pairs = np.unique(followee * n_users + follower)
    return pairs // n_users, pairs % n_users


def _require_positive_int(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")
