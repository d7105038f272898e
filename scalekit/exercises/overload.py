"""Checks for notebook 10 (staying up under overload): a token bucket, a retry storm, a fan-out target."""

from __future__ import annotations

import functools
import math

import numpy as np

from scalekit.exercises.feedback import Feedback, correct, not_answered, wrong
from scalekit.limits import TokenBucketModel
from scalekit.limits.retries import RetryPolicy, retry_storm

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
                return wrong("`allow` returned None: finish the stub so it returns True or False.")
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


# The incident of the judgement exercise: 80 req/s on 100 req/s of capacity, a 30 s spike
# to 200 req/s, clients that give up after 2 s and retry at once, up to 3 tries.
INCIDENT = {"rate": 80.0, "capacity": 100.0, "spike_rate": 200.0, "spike": (10.0, 40.0), "duration": 600.0}
REMEDIES = {
    "backoff": ("exponential backoff (1 s, 2 s, ...)", RetryPolicy("backoff", base=1.0), {}),
    "jitter": ("backoff and full jitter", RetryPolicy("jitter", base=1.0, jitter=True), {}),
    "timeout": ("clients wait 4 s instead of 2 s", RetryPolicy("immediate"), {"timeout": 4.0}),
    "capacity": ("20 % more capacity", RetryPolicy("immediate"), {"capacity": 120.0}),
    "budget": ("a retry budget of 10 % of requests", RetryPolicy("budget", budget=0.1), {}),
}
WHY_NOT = {
    "backoff": "backoff only delays each retry by a second or two; every abandoned request is still "
    "retried, so the server still gets up to three copies of each",
    "jitter": "jitter spreads the retries out in time but does not remove any: the load stays near three "
    "times the traffic",
    "timeout": "a longer timeout helps only while the queue holds less than 4 s of work; this spike left "
    "far more, so every client still gave up and retried",
    "capacity": "120 req/s is still far below three tries of 80 req/s; capacity would have to exceed the "
    "amplified load, not the normal one",
}


def remedy_outcomes() -> dict[str, float]:
    """Seconds after the spike until each remedy's goodput is back for good (inf: never, in 10 minutes)."""
    return dict(_remedy_outcomes())


@functools.cache
def _remedy_outcomes() -> tuple[tuple[str, float], ...]:
    base = {key: INCIDENT[key] for key in ("rate", "capacity", "spike_rate", "spike", "duration")}
    return tuple(
        (key, retry_storm(policy, **{**base, **extra}).recovered_after())
        for key, (_, policy, extra) in REMEDIES.items()
    )


def check_retry_remedy(answer: object) -> Feedback:
    """Judgement: which single change ends the incident's retry storm? Answers are keys of REMEDIES."""
    missing = not_answered(answer)
    if missing is not None:
        return missing
    key = str(answer).strip().lower()
    if key not in REMEDIES:
        return wrong(f"answer with one of {', '.join(repr(k) for k in REMEDIES)}, got {answer!r}.")
    after = remedy_outcomes()
    if math.isfinite(after[key]):
        stayed_down = sum(not math.isfinite(after[k]) for k in REMEDIES if k != key)
        return correct(
            "that change keeps the load reaching the server below its capacity whatever the size of the "
            f"spike, so the queue drains; in the simulation the other {stayed_down} changes all stayed down."
        )
    return wrong(
        f"with {REMEDIES[key][0]} the simulated service is still down 10 minutes after the spike: "
        f"{WHY_NOT[key]}. Which change limits how many retries reach the server at all?"
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
