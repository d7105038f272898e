"""Checks for notebook 10 (staying up under overload): a token bucket, a timeout, a fan-out target."""

from __future__ import annotations

import functools
import math

import numpy as np

from scalekit.exercises.feedback import Feedback, correct, not_answered, wrong
from scalekit.limits import TokenBucketModel
from scalekit.limits.pool import CALL_FAILED, simulate_pool

# (rate per second, burst, seed): steady streams, tight bursts and long idle gaps
BUCKET_CASES = ((5.0, 10, 1), (2.5, 4, 2), (40.0, 5, 3), (0.5, 3, 4))
_TIE = 1e-6


def request_stream(rate: float, seed: int, n: int = 300) -> np.ndarray:
    """Seeded request times (seconds) for a bucket of ``rate``: bursts, steady spells and idle gaps."""
    rng = np.random.default_rng(seed)
    kind = rng.choice(3, size=n, p=[0.5, 0.4, 0.1])
    gaps = np.choose(
        kind,
        [rng.exponential(0.02 / rate, n), rng.exponential(1.0 / rate, n), rng.exponential(20.0 / rate, n)],
    )
    return np.round(100.0 + np.cumsum(gaps), 6)


def check_token_bucket(bucket_class: object) -> Feedback:
    """Build-it: a class ``(rate, burst)`` with ``allow(now) -> bool``, run against scalekit's token bucket.

    Each stream replays through the learner's bucket and through
    :class:`~scalekit.limits.TokenBucketModel`'s rule, which follows the learner's own
    decisions so one early difference does not hide the rest. A request whose token
    count sits within a millionth of one token may go either way (rounding).
    """
    missing = not_answered(bucket_class)
    if missing is not None:
        return missing
    if not callable(bucket_class):
        return wrong(f"pass the class itself (e.g. `MyTokenBucket`), got {type(bucket_class).__name__}.")
    checked = 0
    for rate, burst, seed in BUCKET_CASES:
        try:
            bucket = bucket_class(rate, burst)
        except Exception as exc:  # the learner's code: any error is feedback, not a crash
            return wrong(f"`{_name(bucket_class)}({rate}, {burst})` raised {type(exc).__name__}: {exc}.")
        reference = TokenBucketModel(rate, burst)
        for number, now in enumerate(request_stream(rate, seed).tolist(), start=1):
            try:
                verdict = bucket.allow(now)
            except Exception as exc:
                return wrong(f"`allow({now})` raised {type(exc).__name__}: {exc}.")
            if verdict is None or verdict is Ellipsis:
                if checked == 0:
                    return wrong("`allow` returned None: finish the stub so it returns True or False.")
                return wrong(
                    f"`allow({now})` returned None (request {number} with rate {rate:g}/s and burst "
                    f"{burst}): every path through `allow` must return True or False."
                )
            if not isinstance(verdict, (bool, np.bool_)):
                return wrong(
                    f"`allow` should return True or False, got {type(verdict).__name__} {verdict!r}."
                )
            tokens = _tokens_before(reference, now)
            where = f"with rate {rate:g}/s and burst {burst}, request {number} at t = {now:.3f} s"
            if verdict and tokens < 1 - _TIE:
                return wrong(
                    f"{where} found {tokens:.3f} tokens in the bucket (less than one), "
                    "yet your bucket let it through."
                )
            if not verdict and tokens >= 1 + _TIE:
                return wrong(f"{where} found {tokens:.3f} tokens in the bucket, yet your bucket refused it.")
            reference.tokens = max(0.0, tokens - 1) if verdict else tokens
            checked += 1
    return correct(
        f"your bucket decided like scalekit's TokenBucket on all {checked} requests of "
        f"{len(BUCKET_CASES)} seeded streams (bursts, steady traffic and long idle gaps)."
    )


def _tokens_before(reference: TokenBucketModel, now: float) -> float:
    if reference.ts is None:
        reference.ts = now
    if now > reference.ts:
        reference.tokens = min(reference.burst, reference.tokens + (now - reference.ts) * reference.rate)
        reference.ts = now
    return reference.tokens


def _name(obj: object) -> str:
    return getattr(obj, "__name__", type(obj).__name__)


# The judgement exercise: 100 requests/s on 20 workers; 30 % call a recommendations
# service (median 50 ms, a long tail) that hangs for 30 s, then fails, from t = 30 s to 60 s.
TIMEOUT_CHOICES = (30.0, 2.0, 0.5, 0.05)
POOL = {
    "rate": 100.0,
    "workers": 20,
    "work": 0.02,
    "share_calling": 0.3,
    "outage": (30.0, 60.0),
    "hang": 30.0,
}


@functools.cache
def timeout_outcomes(seed: int = 7) -> dict[float, tuple[float, float]]:
    """For each choice: share answered in time during the outage, share of calls cut off while healthy."""
    rng = np.random.default_rng(seed)
    arrivals = np.cumsum(rng.exponential(1 / POOL["rate"], 9_000))
    arrivals = arrivals[arrivals < 90.0]
    calls = rng.random(arrivals.size) < POOL["share_calling"]
    start, end = POOL["outage"]
    latencies = rng.lognormal(np.log(0.05), 0.6, size=arrivals.size).tolist()
    draws = iter(latencies)

    def sick(t: float) -> bool:
        return start <= t < end

    def latency(t: float) -> float:
        return POOL["hang"] if sick(t) else next(draws)

    results = {}
    for timeout in TIMEOUT_CHOICES:
        draws = iter(latencies)
        run = simulate_pool(
            arrivals,
            calls,
            workers=POOL["workers"],
            work=POOL["work"],
            dependency=latency,
            sick=sick,
            patience=2.0,
            timeout=timeout,
        )
        calm = calls & ((arrivals < start) | (arrivals >= end + 10))
        results[timeout] = (
            run.share_answered(start + 5, end),
            float((run.outcome[calm] == CALL_FAILED).mean()),
        )
    return results


def check_timeout(answer: object) -> Feedback:
    """Judgement: the timeout (seconds) for calls to the recommendations service, one of TIMEOUT_CHOICES."""
    missing = not_answered(answer)
    if missing is not None:
        return missing
    try:
        choice = float(answer)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        choice = math.nan
    if choice not in TIMEOUT_CHOICES:
        return wrong(
            f"choose one of {', '.join(f'{t:g}' for t in TIMEOUT_CHOICES)} (seconds), got {answer!r}."
        )
    outcomes = timeout_outcomes()
    during, cut = outcomes[choice]
    calls_per_s = POOL["rate"] * POOL["share_calling"]
    if calls_per_s * choice > POOL["workers"] - POOL["rate"] * POOL["work"]:
        return wrong(
            f"{calls_per_s:g} calls a second each holding a worker for {choice:g} s keep "
            f"{calls_per_s * choice:g} workers busy on average (Little's law), more than the pool's "
            f"{POOL['workers']}: in the simulation only {during:.0%} of requests during the outage "
            "got an answer in time."
        )
    best = max(TIMEOUT_CHOICES, key=lambda t: outcomes[t][0] - outcomes[t][1])
    if choice != best:
        return wrong(
            f"that protects the pool, but it also cuts off {cut:.0%} of the calls while the service is "
            "healthy (its median is 50 ms and its tail is long): those pages lose their recommendations "
            "for nothing."
        )
    return correct(
        "that timeout lets the healthy service's slow tail finish and keeps the workers held by the sick "
        f"service below the pool size: {during:.1%} of requests answered in time during the outage, "
        f"and {cut:.2%} of healthy calls were cut off."
    )


def check_shard_quantile(answer: object, shards: int = 40, target: float = 0.99) -> Feedback:
    """Exercise: the quantile each of ``shards`` shards must meet for a fan-out to meet ``target``."""
    missing = not_answered(answer)
    if missing is not None:
        return missing
    try:
        value = float(answer)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return wrong(f"the answer is a quantile such as 0.995, got {type(answer).__name__} {answer!r}.")
    expected = target ** (1 / shards)
    if 1 < value <= 100:
        return wrong("give the quantile as a fraction between 0 and 1, not a percentage.")
    if math.isclose(value, target, rel_tol=1e-9):
        return wrong(
            f"that is the page's own target; the page is fast only if all {shards} shards are, "
            f"so each must be fast more often than that."
        )
    if math.isclose(value, target**shards, rel_tol=1e-3):
        return wrong(
            f"that is the chance that {shards} shards all meet the target quantile; invert it: "
            f"which per-shard quantile q gives q ** {shards} = {target}?"
        )
    if abs(value - expected) <= 2e-6:
        return correct(f"with that quantile per shard, all {shards} shards are fast together often enough.")
    direction = "strict" if value > expected else "loose"
    return wrong(
        f"{value} is too {direction}: the page meets its target when every shard does, "
        f"q ** {shards} = {target}."
    )
