"""Closed-form models behind the course's numbers.

Pure functions on floats or numpy arrays. Each docstring gives the formula so the
notebook can show it next to the measurement it explains.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike


def littles_law(
    *,
    arrival_rate: float | None = None,
    time_in_system: float | None = None,
    in_system: float | None = None,
) -> float:
    """Little's law, ``L = λ W``: give any two of the three and get the third.

    ``arrival_rate`` λ (per second), ``time_in_system`` W (seconds), ``in_system`` L
    (average number of requests inside, e.g. concurrent connections).
    """
    given = {"arrival_rate": arrival_rate, "time_in_system": time_in_system, "in_system": in_system}
    missing = [name for name, value in given.items() if value is None]
    if len(missing) != 1:
        raise ValueError(f"give exactly two of arrival_rate, time_in_system, in_system; missing {missing}")
    for name, value in given.items():
        if value is not None and value < 0:
            raise ValueError(f"{name} must be >= 0, got {value}")
    if in_system is None:
        return arrival_rate * time_in_system
    if arrival_rate is None:
        if time_in_system == 0:
            raise ValueError("time_in_system must be > 0 to solve for the arrival rate")
        return in_system / time_in_system
    if arrival_rate == 0:
        raise ValueError("arrival_rate must be > 0 to solve for the time in system")
    return in_system / arrival_rate


def amdahl_speedup(parallel_fraction: float, workers: ArrayLike) -> np.ndarray | float:
    """Amdahl's law: ``S(N) = 1 / ((1 - p) + p / N)``; the ceiling is ``1 / (1 - p)``."""
    if not 0 <= parallel_fraction <= 1:
        raise ValueError(f"parallel fraction must be in [0, 1], got {parallel_fraction}")
    n = _positive_array("workers", workers)
    result = 1.0 / ((1.0 - parallel_fraction) + parallel_fraction / n)
    return _unwrap(result)


def usl_throughput(
    nodes: ArrayLike, single: float, contention: float, coherency: float
) -> np.ndarray | float:
    """Universal Scalability Law: ``X(N) = λN / (1 + σ(N-1) + κN(N-1))``.

    ``single`` is λ, the throughput of one node; ``contention`` σ is the serial share
    (queueing on a shared resource); ``coherency`` κ is the cost of keeping nodes in
    agreement, which makes throughput fall past ``N* = sqrt((1-σ)/κ)``.
    """
    if single <= 0:
        raise ValueError(f"single-node throughput must be > 0, got {single}")
    if contention < 0 or coherency < 0:
        raise ValueError(f"contention and coherency must be >= 0, got {contention} and {coherency}")
    n = _positive_array("nodes", nodes)
    return _unwrap(single * n / (1.0 + contention * (n - 1.0) + coherency * n * (n - 1.0)))


def usl_peak(contention: float, coherency: float) -> float:
    """The node count ``N* = sqrt((1 - σ) / κ)`` where USL throughput peaks (inf if κ = 0)."""
    if coherency == 0:
        return math.inf
    return math.sqrt(max(1.0 - contention, 0.0) / coherency)


def fit_usl(nodes: ArrayLike, throughput: ArrayLike) -> tuple[float, float, float]:
    """Least-squares fit of ``(single, contention, coherency)`` to measured throughput.

    For a fixed λ the USL is linear in σ and κ: ``λN/X - 1 = σ(N-1) + κN(N-1)``; we
    solve that by non-negative least squares and pick λ by a golden-section search
    on the relative error of X.
    """
    n = _positive_array("nodes", nodes)
    x = np.asarray(throughput, dtype=float)
    if n.shape != x.shape or n.size < 3:
        raise ValueError("fit_usl needs at least 3 (nodes, throughput) pairs of equal length")
    if (x <= 0).any():
        raise ValueError("measured throughput must be > 0")

    def coefficients(single: float) -> tuple[float, float]:
        target = single * n / x - 1.0
        design = np.column_stack([n - 1.0, n * (n - 1.0)])
        sigma, kappa = np.linalg.lstsq(design, target, rcond=None)[0]
        if kappa < 0:
            kappa = 0.0
            sigma = float(np.dot(n - 1, target) / max(np.dot(n - 1, n - 1), 1e-300))
        if sigma < 0:
            sigma = 0.0
            denominator = np.dot(n * (n - 1), n * (n - 1))
            kappa = max(float(np.dot(n * (n - 1), target) / max(denominator, 1e-300)), 0.0)
        return float(sigma), float(kappa)

    def error(single: float) -> float:
        sigma, kappa = coefficients(single)
        predicted = usl_throughput(n, single, sigma, kappa)
        return float(np.sum(((predicted - x) / x) ** 2))

    low, high = 0.5 * float(np.min(x / n)), 2.0 * float(np.max(x / n))
    ratio = (math.sqrt(5) - 1) / 2
    for _ in range(100):
        a, b = high - ratio * (high - low), low + ratio * (high - low)
        if error(a) < error(b):
            high = b
        else:
            low = a
    single = (low + high) / 2
    return (single, *coefficients(single))


def availability(replicas: ArrayLike, single: float) -> np.ndarray | float:
    """Availability of N independent replicas when one is enough: ``1 - (1 - a)^N``."""
    if not 0 <= single <= 1:
        raise ValueError(f"availability of one replica must be in [0, 1], got {single}")
    n = _positive_array("replicas", replicas)
    return _unwrap(1.0 - (1.0 - single) ** n)


def downtime_per_year(availability_fraction: ArrayLike) -> np.ndarray | float:
    """Expected downtime in minutes per year for an availability fraction."""
    a = np.asarray(availability_fraction, dtype=float)
    return _unwrap((1.0 - a) * 365.25 * 24 * 60)


def utilisation(arrival_rate: float, service_rate: float, servers: int = 1) -> float:
    """Offered load per server ``ρ = λ / (c μ)``; a queue is stable only when ρ < 1."""
    _check_rates(arrival_rate, service_rate, servers)
    return arrival_rate / (servers * service_rate)


def erlang_c(arrival_rate: float, service_rate: float, servers: int) -> float:
    """Erlang C: probability an arrival must wait in an M/M/c queue.

    ``C = (a^c / c!) (c / (c - a)) / (Σ_{k<c} a^k / k! + (a^c / c!) (c / (c - a)))``
    with ``a = λ / μ``, computed through Erlang B so thousands of servers do not
    overflow; 1.0 when the queue is unstable (``a >= c``).
    """
    _check_rates(arrival_rate, service_rate, servers)
    servers = int(servers)
    offered = arrival_rate / service_rate
    if offered >= servers:
        return 1.0
    blocking = 1.0  # Erlang B by its stable recurrence: B(k) = a B(k-1) / (k + a B(k-1))
    for k in range(1, servers + 1):
        blocking = offered * blocking / (k + offered * blocking)
    return servers * blocking / (servers - offered * (1.0 - blocking))


def mmc_wait(arrival_rate: float, service_rate: float, servers: int = 1) -> float:
    """Mean time in queue of M/M/c: ``Wq = C / (c μ - λ)``; inf when unstable."""
    _check_rates(arrival_rate, service_rate, servers)
    if arrival_rate >= servers * service_rate:
        return math.inf
    return erlang_c(arrival_rate, service_rate, servers) / (servers * service_rate - arrival_rate)


def mmc_response_time(arrival_rate: float, service_rate: float, servers: int = 1) -> float:
    """Mean time in system of M/M/c: queueing plus service, ``W = Wq + 1/μ``."""
    return mmc_wait(arrival_rate, service_rate, servers) + 1.0 / service_rate


def servers_needed(arrival_rate: float, service_rate: float, max_response_time: float) -> int:
    """The fewest M/M/c servers whose mean response time stays within ``max_response_time``."""
    if max_response_time <= 1.0 / service_rate:
        raise ValueError(
            f"no number of servers gets below the service time itself ({1.0 / service_rate:g} s); "
            f"asked for {max_response_time:g} s"
        )
    servers = max(1, math.floor(arrival_rate / service_rate) + 1)
    while mmc_response_time(arrival_rate, service_rate, servers) > max_response_time:
        servers += 1
    return servers


def vertical_cost(
    capacity_ratio: ArrayLike, base_cost: float = 100.0, exponent: float = 1.6
) -> np.ndarray | float:
    """Cost of one machine ``capacity_ratio`` times bigger: ``base · r^exponent`` (super-linear)."""
    r = _positive_array("capacity_ratio", capacity_ratio)
    return _unwrap(base_cost * r**exponent)


def horizontal_cost(
    machines: ArrayLike, base_cost: float = 100.0, overhead: float = 0.0
) -> np.ndarray | float:
    """Cost of ``machines`` identical machines plus a fixed ``overhead`` (load balancer etc.)."""
    n = _positive_array("machines", machines)
    return _unwrap(base_cost * n + overhead * (n > 1))


def _check_rates(arrival_rate: float, service_rate: float, servers: int) -> None:
    if arrival_rate < 0:
        raise ValueError(f"arrival rate must be >= 0, got {arrival_rate}")
    if service_rate <= 0:
        raise ValueError(f"service rate must be > 0, got {service_rate}")
    if isinstance(servers, bool) or int(servers) != servers or servers < 1:
        raise ValueError(f"server count must be a whole number >= 1, got {servers!r}")


def _positive_array(name: str, values: ArrayLike) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if (array <= 0).any() or np.isnan(array).any():
        raise ValueError(f"{name} must be > 0, got {values!r}")
    return array


def _unwrap(result: np.ndarray) -> np.ndarray | float:
    return float(result) if np.ndim(result) == 0 else result
