"""Closed-form models behind the course's numbers.

Pure functions on floats or numpy arrays. Each docstring gives the formula so the
notebook can show it next to the measurement it explains. Bad input (NaN, infinity,
a negative rate) is a ValueError with a sentence, never a quiet wrong number.

The course's one cost model and one scaling model live here too (`PRICES`,
`SCALE_UP`, `SCALE_OUT`), so every notebook prices and scales machines the same way.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

REFERENCE_RATE = 1000.0
"""Requests per second of the course's reference server (2 CPUs, 1 ms of work per request)."""

REFERENCE_PRICE = 100.0
"""USD a month for one reference server: the outline's starting price."""


def _number(
    name: str,
    value: object,
    *,
    minimum: float | None = None,
    strict: bool = False,
    maximum: float | None = None,
    allow_inf: bool = False,
) -> float:
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "fiu":
        value = value.item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    number = float(value)
    if math.isnan(number) or (math.isinf(number) and not allow_inf):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if minimum is not None and (number < minimum or (strict and number == minimum)):
        raise ValueError(f"{name} must be {'>' if strict else '>='} {minimum:g}, got {value!r}")
    if maximum is not None and number > maximum:
        raise ValueError(f"{name} must be <= {maximum:g}, got {value!r}")
    return number


def _fraction(name: str, value: object) -> float:
    number = _number(name, value)
    if not 0.0 <= number <= 1.0:
        raise ValueError(f"{name} must be a fraction in [0, 1], got {value!r}")
    return number


def _whole(name: str, value: object, *, minimum: int) -> int:
    number = _number(name, value, minimum=minimum)
    if number != int(number):
        raise ValueError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    return int(number)


def _usl_coefficients(contention: float, coherency: float) -> tuple[float, float]:
    return (
        _number("contention σ (a share of the work)", contention, minimum=0.0, maximum=1.0),
        _number("coherency κ", coherency, minimum=0.0),
    )


def _finite(name: str, result: np.ndarray) -> np.ndarray:
    if not np.isfinite(result).all():
        raise ValueError(f"{name} is too large to represent as a float: use smaller inputs")
    return result


def _rate(value: float) -> str:
    """A rate for a message: thousands separators, or scientific notation past a trillion."""
    return f"{value:,.0f}" if abs(value) < 1e12 else f"{value:.3g}"


def _measurements(
    nodes: ArrayLike, throughput: ArrayLike, minimum_points: int
) -> tuple[np.ndarray, np.ndarray]:
    n = _positive_array("nodes", nodes)
    x = _numbers("measured throughput", throughput, "numbers > 0")
    if n.ndim != 1 or n.shape != x.shape or n.size < minimum_points:
        raise ValueError(
            f"the USL fit needs at least {minimum_points} (nodes, throughput) pairs of equal length"
        )
    if not np.isfinite(x).all() or (x <= 0).any():
        raise ValueError("measured throughput must be finite and > 0")
    return n, x


def _check_rates(arrival_rate: float, service_rate: float, servers: int) -> tuple[float, float, int]:
    arrival = _number("arrival rate", arrival_rate, minimum=0.0)
    service = _number("service rate", service_rate, minimum=0.0, strict=True)
    if isinstance(servers, bool):
        raise ValueError(f"server count must be a whole number >= 1, got {servers!r}")
    try:
        count = _whole("server count", servers, minimum=1)
    except ValueError:
        raise ValueError(f"server count must be a whole number >= 1, got {servers!r}") from None
    if count > MAX_PARTS:
        raise ValueError(f"server count must be at most {MAX_PARTS:,}, got {servers!r}")
    return arrival, service, count


def _numbers(name: str, values: ArrayLike, what: str) -> np.ndarray:
    """``values`` as a float array; text, booleans and empty input are a ValueError."""
    raw = np.asarray(values) if not isinstance(values, (str, bytes)) else np.asarray([values])
    numeric = raw.dtype.kind in "fiu" or (  # object arrays hold Python ints too big for int64
        raw.dtype.kind == "O"
        and all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in raw.ravel().tolist())
    )
    if raw.size == 0 or not numeric:
        raise ValueError(f"{name} must be {what}, got {values!r}")
    try:
        return raw.astype(float)
    except OverflowError:
        raise ValueError(f"{name} is too large to represent as a float, got {values!r}") from None


def _positive_array(name: str, values: ArrayLike, *, allow_inf: bool = False) -> np.ndarray:
    array = _numbers(name, values, "numbers > 0")
    if np.isnan(array).any() or (array <= 0).any() or (not allow_inf and np.isinf(array).any()):
        raise ValueError(f"{name} must be finite numbers > 0, got {values!r}")
    return array


def _lgamma(values: np.ndarray) -> np.ndarray:
    return np.array([math.lgamma(v) for v in values.tolist()])


def _logsumexp(values: np.ndarray) -> float:
    if values.size == 0:
        return -math.inf
    top = float(values.max())
    if math.isinf(top):
        return top
    return top + math.log(float(np.exp(values - top).sum()))


def _unwrap(result: np.ndarray) -> np.ndarray | float:
    return float(result) if np.ndim(result) == 0 else result


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
    values = {name: _number(name, value, minimum=0.0) for name, value in given.items() if value is not None}
    if in_system is None:
        return float(_finite("in_system", np.asarray(values["arrival_rate"] * values["time_in_system"])))
    if arrival_rate is None:
        if values["time_in_system"] == 0:
            raise ValueError("time_in_system must be > 0 to solve for the arrival rate")
        return values["in_system"] / values["time_in_system"]
    if values["arrival_rate"] == 0:
        raise ValueError("arrival_rate must be > 0 to solve for the time in system")
    return values["in_system"] / values["arrival_rate"]


def amdahl_speedup(parallel_fraction: float, workers: ArrayLike) -> np.ndarray | float:
    """Amdahl's law: ``S(N) = 1 / ((1 - p) + p / N)``; the ceiling is ``1 / (1 - p)``."""
    p = _fraction("parallel fraction", parallel_fraction)
    n = _positive_array("workers", workers, allow_inf=True)
    with np.errstate(divide="ignore"):
        result = 1.0 / ((1.0 - p) + p / n)
    return _unwrap(result)


def usl_throughput(
    nodes: ArrayLike, single: float, contention: float, coherency: float
) -> np.ndarray | float:
    """Universal Scalability Law: ``X(N) = λN / (1 + σ(N-1) + κN(N-1))``.

    ``single`` is λ, the throughput of one node; ``contention`` σ is the serial share
    (queueing on a shared resource); ``coherency`` κ is the cost of keeping nodes in
    agreement, which makes throughput fall past ``N* = sqrt((1-σ)/κ)``.
    """
    single = _number("single-node throughput", single, minimum=0.0, strict=True)
    contention, coherency = _usl_coefficients(contention, coherency)
    n = _positive_array("nodes", nodes)
    with np.errstate(over="ignore", invalid="ignore"):
        result = single * n / (1.0 + contention * (n - 1.0) + coherency * n * (n - 1.0))
    return _unwrap(_finite("USL throughput", result))


def usl_peak(contention: float, coherency: float) -> float:
    """The node count ``N* = sqrt((1 - σ) / κ)`` where USL throughput peaks (inf if κ = 0)."""
    contention, coherency = _usl_coefficients(contention, coherency)
    if coherency == 0:
        return math.inf
    return math.sqrt(max(1.0 - contention, 0.0) / coherency)


def usl_coefficients(nodes: ArrayLike, throughput: ArrayLike, single: float) -> tuple[float, float]:
    """Least-squares ``(σ, κ)`` for a known single-node throughput λ.

    The USL is linear in σ and κ once λ is fixed: ``λN/X - 1 = σ(N-1) + κN(N-1)``.
    Neither coefficient is allowed below zero, and σ, a share, not above one.
    """
    n, x = _measurements(nodes, throughput, minimum_points=2)
    single = _number("single-node throughput", single, minimum=0.0, strict=True)
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
    if sigma > 1:  # σ is a share of the work: flat or falling throughput pins it at 1
        sigma = 1.0
        denominator = np.dot(n * (n - 1), n * (n - 1))
        kappa = max(float(np.dot(n * (n - 1), target - (n - 1)) / max(denominator, 1e-300)), 0.0)
    return float(sigma), float(kappa)


def fit_usl(nodes: ArrayLike, throughput: ArrayLike) -> tuple[float, float, float]:
    """Least-squares fit of ``(single, contention, coherency)`` to measured throughput.

    For each candidate λ, `usl_coefficients` gives σ and κ; λ is chosen by a
    golden-section search on the relative error of X.
    """
    n, x = _measurements(nodes, throughput, minimum_points=3)

    def error(single: float) -> float:
        sigma, kappa = usl_coefficients(n, x, single)
        predicted = single * n / (1.0 + sigma * (n - 1.0) + kappa * n * (n - 1.0))
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
    return (single, *usl_coefficients(n, x, single))


def availability(replicas: ArrayLike, single: float) -> np.ndarray | float:
    """Availability of N independent replicas when one is enough: ``1 - (1 - a)^N``."""
    a = _fraction("availability of one replica", single)
    n = _positive_array("replicas", replicas)
    if (n != np.floor(n)).any():
        raise ValueError(f"replicas must be whole numbers >= 1, got {replicas!r}")
    return _unwrap(1.0 - (1.0 - a) ** n)


MAX_PARTS = 10**9
"""The largest tier `k_of_n_availability` and the M/M/c functions accept (a billion parts)."""


def k_of_n_availability(k: int, n: int, p: float) -> float:
    """Probability that at least ``k`` of ``n`` independent parts are up, each up with ``p``.

    ``Σ_{j=k}^{n} C(n, j) p^j (1 - p)^(n - j)``, the binomial upper tail. A tier that
    needs most of its servers is this, not "any one of n" (`availability` is ``k = 1``).
    Summed in log space over the smaller tail, so thousands of parts stay accurate.
    """
    n = _whole("n", n, minimum=1)
    if n > MAX_PARTS:
        raise ValueError(f"n must be at most {MAX_PARTS:,} parts, got {n:,}")
    k = _whole("k", k, minimum=0)
    if k > n:
        raise ValueError(f"k must be <= n: {k} of {n} parts can never be up")
    p = _fraction("p, the availability of one part", p)
    if k == 0 or p == 1.0:
        return 1.0
    if p == 0.0:
        return 0.0
    # Terms more than 40 standard deviations from the mean are below e^-800 of the largest:
    # leaving them out changes nothing a float can hold, and keeps huge tiers fast.
    spread = 40.0 * math.sqrt(n * p * (1.0 - p)) + 50.0
    first, last = max(0, math.floor(n * p - spread)), min(n, math.ceil(n * p + spread))
    j = np.arange(first, last + 1, dtype=float)
    log_choose = math.lgamma(n + 1) - _lgamma(j + 1) - _lgamma(n - j + 1)
    log_pmf = log_choose + j * math.log(p) + (n - j) * math.log1p(-p)
    split = min(max(k - first, 0), j.size)
    up, down = _logsumexp(log_pmf[split:]), _logsumexp(log_pmf[:split])
    if up < down:
        return float(min(math.exp(up), 1.0))
    return float(min(max(-math.expm1(down), 0.0), 1.0))


def downtime_per_year(availability_fraction: ArrayLike) -> np.ndarray | float:
    """Expected downtime in minutes per year for an availability fraction."""
    a = _numbers("availability", availability_fraction, "a fraction in [0, 1]")
    if not np.isfinite(a).all() or (a < 0).any() or (a > 1).any():
        raise ValueError(f"availability must be a fraction in [0, 1], got {availability_fraction!r}")
    return _unwrap((1.0 - a) * 365.25 * 24 * 60)


def utilisation(arrival_rate: float, service_rate: float, servers: int = 1) -> float:
    """Offered load per server ``ρ = λ / (c μ)``; a queue is stable only when ρ < 1."""
    arrival_rate, service_rate, servers = _check_rates(arrival_rate, service_rate, servers)
    return arrival_rate / (servers * service_rate)


def erlang_c(arrival_rate: float, service_rate: float, servers: int) -> float:
    """Erlang C: probability an arrival must wait in an M/M/c queue.

    ``C = (a^c / c!) (c / (c - a)) / (Σ_{k<c} a^k / k! + (a^c / c!) (c / (c - a)))``
    with ``a = λ / μ``, computed through Erlang B so thousands of servers do not
    overflow; 1.0 when the queue is unstable (``a >= c``).
    """
    arrival_rate, service_rate, servers = _check_rates(arrival_rate, service_rate, servers)
    offered = arrival_rate / service_rate
    if offered >= servers:
        return 1.0
    if offered == 0:
        return 0.0
    # Erlang B by its stable recurrence, B(k) = a B(k-1) / (k + a B(k-1)). Below k = a the
    # recurrence forgets its start (errors shrink by k/a a step), so it may start 40 standard
    # deviations below a; past a, B falls fast and stops mattering once it underflows.
    start = max(0, math.floor(offered - 40.0 * math.sqrt(offered) - 40.0))
    blocking = 1.0
    for k in range(start + 1, servers + 1):
        blocking = offered * blocking / (k + offered * blocking)
        if blocking == 0.0:
            return 0.0
    return servers * blocking / (servers - offered * (1.0 - blocking))


def mmc_wait(arrival_rate: float, service_rate: float, servers: int = 1) -> float:
    """Mean time in queue of M/M/c: ``Wq = C / (c μ - λ)``; inf when unstable."""
    arrival_rate, service_rate, servers = _check_rates(arrival_rate, service_rate, servers)
    offered = arrival_rate / service_rate
    if offered >= servers:
        return math.inf
    return erlang_c(arrival_rate, service_rate, servers) / (service_rate * (servers - offered))


def mmc_response_time(arrival_rate: float, service_rate: float, servers: int = 1) -> float:
    """Mean time in system of M/M/c: queueing plus service, ``W = Wq + 1/μ``."""
    return mmc_wait(arrival_rate, service_rate, servers) + 1.0 / float(service_rate)


def servers_needed(arrival_rate: float, service_rate: float, max_response_time: float) -> int:
    """The fewest M/M/c servers whose mean response time stays within ``max_response_time``."""
    arrival_rate, service_rate, _ = _check_rates(arrival_rate, service_rate, 1)
    target = _number("max_response_time", max_response_time, minimum=0.0, strict=True)
    if target <= 1.0 / service_rate:
        raise ValueError(
            f"no number of servers gets below the service time itself ({1.0 / service_rate:g} s); "
            f"asked for {target:g} s"
        )

    def meets(servers: int) -> bool:
        return mmc_response_time(arrival_rate, service_rate, servers) <= target

    low = math.floor(arrival_rate / service_rate)  # too few: cannot keep up (or zero)
    if low + 1 > MAX_PARTS:
        raise ValueError(
            f"{arrival_rate:g} req/s needs more than {MAX_PARTS:,} servers of {service_rate:g} req/s"
        )
    step, high = 1, low + 1
    while not meets(high):  # the response time falls as servers are added: gallop, then bisect
        if high == MAX_PARTS:
            raise ValueError(f"no fleet of at most {MAX_PARTS:,} servers meets {target:g} s")
        step *= 2
        low, high = high, min(high + step, MAX_PARTS)
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if meets(middle) else (middle, high)
    return high


@dataclass(frozen=True)
class PriceList:
    """The course's price model for machines, in USD a month per capacity unit.

    A capacity unit is the reference server (2 CPUs, `REFERENCE_RATE` req/s). Inside
    one instance family, on-demand prices grow linearly with size (each size has
    twice the CPUs, memory and price of the one below), up to ``family_max`` units.
    The few bigger machines cost more per unit: price grows as size^``top_exponent``
    (an assumption, not a price list) up to ``max_units``, the largest machine made.
    """

    unit_price: float = REFERENCE_PRICE
    family_max: float = 48.0
    max_units: float = 128.0
    top_exponent: float = 2.0

    def __post_init__(self) -> None:
        _number("unit_price", self.unit_price, minimum=0.0, strict=True)
        _number("family_max", self.family_max, minimum=1.0)
        _number("max_units", self.max_units, minimum=self.family_max)
        _number("top_exponent", self.top_exponent, minimum=1.0)


PRICES = PriceList()
"""The price list every notebook uses: USD 100 a unit, linear to 48 units, none past 128."""


def vertical_cost(capacity_ratio: ArrayLike, prices: PriceList = PRICES) -> np.ndarray | float:
    """Monthly price of ONE machine of ``capacity_ratio`` units.

    ``unit_price · r`` up to ``family_max`` units, then
    ``unit_price · family_max · (r / family_max)^top_exponent`` up to ``max_units``;
    a machine beyond ``max_units`` does not exist, which is a ValueError.
    """
    r = _positive_array("capacity_ratio", capacity_ratio)
    if (r > prices.max_units).any():
        raise ValueError(
            f"no machine has more than {prices.max_units:g} units (the hardware ceiling), "
            f"got {capacity_ratio!r}"
        )
    linear = prices.unit_price * r
    top = prices.unit_price * prices.family_max * (r / prices.family_max) ** prices.top_exponent
    return _unwrap(np.where(r <= prices.family_max, linear, top))


def horizontal_cost(
    machines: ArrayLike, prices: PriceList = PRICES, overhead: float = 0.0
) -> np.ndarray | float:
    """Monthly price of ``machines`` reference servers, plus ``overhead`` once there are two or more."""
    n = _positive_array("machines", machines)
    if (n != np.floor(n)).any():
        raise ValueError(
            f"machines must be whole numbers >= 1 (a fleet has no half servers), got {machines!r}"
        )
    overhead = _number("overhead", overhead, minimum=0.0)
    return _unwrap(prices.unit_price * n + overhead * (n > 1))


@dataclass(frozen=True)
class ScalingModel:
    """One way of adding capacity: its USL coefficients, how it is priced, its largest size.

    ``one_machine`` True means the units are cores of one machine (priced by
    `vertical_cost`, at most ``PriceList.max_units``); False means whole servers
    (priced by `horizontal_cost`, no size limit).
    """

    name: str
    contention: float
    coherency: float
    one_machine: bool
    prices: PriceList = PRICES

    def __post_init__(self) -> None:
        _usl_coefficients(self.contention, self.coherency)

    @property
    def max_units(self) -> float:
        """The largest size on offer: the biggest machine, or no limit for a fleet."""
        return self.prices.max_units if self.one_machine else math.inf

    def throughput(self, units: ArrayLike, single: float = REFERENCE_RATE) -> np.ndarray | float:
        """USL throughput of ``units`` capacity units (a ValueError past the largest machine)."""
        n = _positive_array("units", units)
        if (n > self.max_units).any():
            raise ValueError(f"{self.name}: no machine has more than {self.max_units:g} units; got {units!r}")
        return usl_throughput(n if np.ndim(n) else float(n), single, self.contention, self.coherency)

    def price(self, units: ArrayLike) -> np.ndarray | float:
        """Monthly price of ``units`` capacity units built this way."""
        return vertical_cost(units, self.prices) if self.one_machine else horizontal_cost(units, self.prices)

    def ceiling(self, single: float = REFERENCE_RATE) -> float:
        """The most throughput any size gives: the USL peak, the largest machine, or ``λ/σ``."""
        peak = usl_peak(self.contention, self.coherency)
        best = min(peak, self.max_units)
        if math.isinf(best):
            return math.inf if self.contention == 0 else single / self.contention
        return max(float(self.throughput(units, single)) for units in self._around(best))

    def units_for(self, target: float, single: float = REFERENCE_RATE) -> int:
        """The fewest whole units whose throughput reaches ``target`` (ValueError if none does)."""
        target = _number("target throughput", target, minimum=0.0, strict=True)
        single = _number("single-node throughput", single, minimum=0.0, strict=True)
        ceiling = self.ceiling(single)
        best = min(usl_peak(self.contention, self.coherency), self.max_units)
        unbounded = math.isinf(best)
        if target > ceiling * (1 + 1e-12) or (unbounded and target * self.contention >= single):
            raise ValueError(
                f"{self.name} cannot reach {_rate(target)} req/s: its ceiling is {_rate(ceiling)} req/s"
            )

        def reaches(units: int) -> bool:
            return float(self.throughput(units, single)) >= target * (1 - 1e-12)

        if reaches(1):
            return 1
        if unbounded:
            high = max(2, math.ceil(target * (1 - self.contention) / (single - target * self.contention)) + 1)
            while not reaches(high):
                high *= 2
                if high > 1e15:
                    raise ValueError(f"{self.name} cannot reach {_rate(target)} req/s with any sensible size")
        else:
            high = max(self._around(best), key=lambda units: float(self.throughput(units, single)))
        low = 1  # throughput(low) < target <= throughput(high), and throughput rises in between
        while high - low > 1:
            middle = (low + high) // 2
            if reaches(middle):
                high = middle
            else:
                low = middle
        return high

    def _around(self, best: float) -> set[int]:
        """The whole sizes next to a finite best size, within the largest machine."""
        upper = math.floor(self.max_units) if math.isfinite(self.max_units) else math.ceil(best)
        return {max(1, min(math.floor(best), upper)), max(1, min(math.ceil(best), upper))}

    def price_for(self, target: float, single: float = REFERENCE_RATE) -> float:
        """Monthly price of the cheapest size that reaches ``target``; inf when no size does."""
        try:
            units = self.units_for(target, single)
        except ValueError:
            if math.isnan(float(target)) or float(target) <= 0:
                raise
            return math.inf
        return float(self.price(units))


SCALE_UP = ScalingModel("scale up", contention=0.03, coherency=0.0005, one_machine=True)
"""One bigger machine: its cores share caches, memory bandwidth and locks (assumed σ = 3 %, κ = 0.05 %)."""

SCALE_OUT = ScalingModel("scale out", contention=0.005, coherency=0.0, one_machine=False)
"""Stateless servers behind a load balancer: they share little (assumed σ = 0.5 %, κ = 0)."""
