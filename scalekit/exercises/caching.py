"""Checks for the exercises of notebook 05 (caching)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from scalekit.caches import LRUCache, lru_hit_ratio_curve
from scalekit.exercises.feedback import Feedback, correct, not_answered, wrong
from scalekit.workload import zipf_trace


def _curve(trace: Sequence[int] | np.ndarray, warmup: int) -> np.ndarray:
    sizes = np.arange(0, np.unique(np.asarray(trace)).size + 1)
    return lru_hit_ratio_curve(trace, sizes, warmup=warmup)


def smallest_size_for(trace: Sequence[int] | np.ndarray, target: float, *, warmup: int = 0) -> int | None:
    """The smallest LRU capacity whose hit ratio on ``trace`` (after ``warmup``) reaches ``target``."""
    reached = np.flatnonzero(_curve(trace, warmup) >= target)
    return int(reached[0]) if reached.size else None


def check_cache_size(
    answer: object, trace: Sequence[int] | np.ndarray, target: float = 0.9, *, warmup: int = 0
) -> Feedback:
    """Is ``answer`` the smallest LRU capacity that reaches ``target`` hit ratio on ``trace``?"""
    missing = not_answered(answer)
    if missing is not None:
        return missing
    if isinstance(answer, bool) or not isinstance(answer, (int, np.integer)):
        return wrong(f"a cache size is a whole number of entries (an int), got {answer!r}.")
    size = int(answer)
    if size < 0:
        return wrong(f"a cache size cannot be negative, got {size}.")
    curve = _curve(trace, warmup)
    reached = np.flatnonzero(curve >= target)
    if not reached.size:
        return wrong(f"no size reaches {target:.0%} on this trace: first requests always miss.")
    expected = int(reached[0])
    ratio = curve[min(size, curve.size - 1)]
    if warmup and size != expected and size == smallest_size_for(trace, target):
        return wrong(
            f"that size counts the first {warmup:,} requests too, while the cache was still filling "
            f"(every first request misses); measure after them with warmup={warmup}."
        )
    if size == expected:
        return correct(
            f"that size reaches {target:.0%} and one entry fewer falls short: the first size where "
            "the curve crosses the target."
        )
    if size < expected:
        return wrong(f"{size:,} entries give a {ratio:.2%} hit ratio, short of {target:.0%}.")
    return wrong(
        f"{size:,} entries reach {ratio:.2%}, but a smaller cache also reaches {target:.0%}: "
        "find the first size where the curve crosses the target."
    )


# ---------------------------------------------------------------- build it: an LRU cache

Operation = tuple[str, int]  # ("get", key) or ("put", key)


def lru_cases(seed: int = 5) -> list[tuple[int, list[Operation]]]:
    """Seeded (capacity, operations) cases, shortest first: small random ones, then Zipf traces.

    Short cases come first so that the first failure a check reports is small enough
    to follow by hand.
    """
    rng = np.random.default_rng(seed)
    cases: list[tuple[int, list[Operation]]] = []
    for length in range(2, 13):
        for _ in range(25):
            capacity = int(rng.integers(1, 4))
            keys = rng.integers(0, capacity + 2, size=length)
            kinds = rng.random(length) < 0.5
            cases.append(
                (capacity, [("get" if g else "put", int(k)) for g, k in zip(kinds, keys, strict=True)])
            )
    for capacity in (5, 50):
        trace = zipf_trace(200, 4_000, 0.9, rng=rng)
        cases.append((capacity, [("get", int(key)) for key in trace]))  # the caller puts on a miss
    return cases


class _Failed(Exception):
    def __init__(self, step: int, error: Exception) -> None:
        super().__init__(str(error))
        self.step, self.error = step, error


def _replay(cache: Any, operations: list[Operation]) -> list[object]:
    """What each get returns; in a Zipf case (gets only) every miss is followed by a put.

    An exception from ``cache`` comes out as :class:`_Failed`, naming the operation.
    """
    gets_only = all(kind == "get" for kind, _ in operations) and len(operations) > 100
    answers: list[object] = []
    for step, (kind, key) in enumerate(operations):
        try:
            if kind == "put":
                cache.put(key, f"v{key}.{step}")
                continue
            found = cache.get(key)
            answers.append(found)
            if gets_only and found is None:
                cache.put(key, f"v{key}.{step}")
        except Exception as error:
            raise _Failed(step, error) from None
    return answers


def _describe(operations: list[Operation], upto: int) -> str:
    shown = operations[: upto + 1]
    if len(shown) > 12:
        steps = f"... {len(shown) - 6} operations ..., " + ", ".join(f"{k}({key})" for k, key in shown[-6:])
    else:
        steps = ", ".join(f"{k}({key})" for k, key in shown)
    if len(operations) > 100 and all(kind == "get" for kind, _ in operations):
        steps += " (each get that returned None was followed by a put of that key)"
    return steps


def _same(want: object, got: object) -> bool:
    """True if the learner's answer is the reference's: None, or the very string that was put.

    Compared without calling the learner's ``__eq__``: an object that claims to equal
    everything, or a numpy array (whose ``==`` is not a bool), must not pass or crash.
    """
    if want is None:
        return got is None
    return type(got) is str and got == want


def check_lru(learner_class: object) -> Feedback:
    """Does ``learner_class(capacity)`` with ``get(key)`` / ``put(key, value)`` behave like :class:`LRUCache`?

    Replays seeded cases (small random ones, then Zipf traces where a miss is followed
    by a put) on the learner's cache and on scalekit's, and names the first get whose
    answer differs, with the operations that led to it.
    """
    missing = not_answered(learner_class)
    if missing is not None:
        return missing
    if not callable(learner_class):
        return wrong(f"pass your class itself (e.g. MyLRU), got {type(learner_class).__name__}.")
    for capacity, operations in lru_cases():
        reference = LRUCache(capacity)
        expected: list[object] = []
        answers: list[object] = []
        try:
            cache = learner_class(capacity)
            gets = [i for i, (kind, _) in enumerate(operations) if kind == "get"]
            expected = _replay(reference, operations)
            answers = _replay(cache, operations)
        except _Failed as failure:
            return wrong(
                f"with capacity {capacity}, {_describe(operations, failure.step)} raised "
                f"{type(failure.error).__name__}: {failure.error}."
            )
        except Exception as error:
            name = getattr(learner_class, "__name__", "your class")
            return wrong(f"{name}({capacity}) raised {type(error).__name__}: {error}.")
        for index, (want, got) in enumerate(zip(expected, answers, strict=True)):
            if not _same(want, got):
                step = gets[index]
                key = operations[step][1]
                if want is None and not isinstance(got, str):
                    why = f"key {key} is not cached, so get should return None, got {_short(got)}"
                elif want is None and ("put", key) not in operations[:step] and len(operations) <= 100:
                    why = (
                        f"key {key} was never put in this new cache, yet get returned {got!r}: keep the "
                        "entries on the instance (self), not shared by the class"
                    )
                elif want is None:
                    why = f"key {key} should have been evicted (or never stored) by then, got {got!r}"
                elif got is None:
                    why = f"key {key} should still be cached with {want!r}, got None"
                else:
                    why = f"key {key} should hold the value of its latest put, {want!r}, got {_short(got)}"
                return wrong(f"with capacity {capacity}: {_describe(operations, step)}: {why}.")
    return correct(
        "every get matched scalekit's LRUCache, on small hand-sized cases and on Zipf traces: "
        "a hit refreshes a key, and a full cache evicts the least recently used one."
    )


def _short(value: object) -> str:
    try:
        text = repr(value)
    except Exception:
        text = f"a {type(value).__name__}"
    return text if len(text) <= 60 else text[:57] + "..."


# ---------------------------------------------------------------- judgement: which strategy

STRATEGIES = ("cache-aside", "write-through", "write-behind")
SCENARIOS: dict[str, str] = {
    "catalogue": (
        "Product pages: 50,000 products, read about a thousand times for every price change, "
        "most of them rarely viewed; a price may be a minute stale."
    ),
    "flash sale": (
        "Stock counters of 20 products in a flash sale: 5,000 decrements per second, but the "
        "database takes 500 writes per second. Redis runs with appendonly yes."
    ),
    "settings": (
        "A user saves their settings and the next page load must read them from Redis (a hit); "
        "the database must have every save before the user sees 'saved', and Redis keeps no "
        "data on disk."
    ),
}
_RIGHT = {"catalogue": "cache-aside", "flash sale": "write-behind", "settings": "write-through"}
_WHY_NOT: dict[tuple[str, str], str] = {
    ("catalogue", "write-through"): (
        "write-through puts every written product in Redis, read or not: memory spent on the "
        "long tail nobody views, for a workload that writes rarely anyway"
    ),
    ("catalogue", "write-behind"): (
        "write-behind buys write throughput this workload does not need, and risks acknowledged "
        "price changes that sit only in Redis"
    ),
    ("flash sale", "cache-aside"): (
        "cache-aside sends every decrement to the database (5,000/s against a 500/s limit) and "
        "deletes the hot entries on each write, so readers miss too"
    ),
    ("flash sale", "write-through"): (
        "write-through still writes the database on every decrement, 10x what it can take; "
        "only a backlog that merges writes to the same product absorbs the burst"
    ),
    ("settings", "cache-aside"): (
        "cache-aside deletes the entry on a save, so the very next read is a miss, which this "
        "scenario forbids"
    ),
    ("settings", "write-behind"): (
        "write-behind says 'saved' while the save is only in Redis, and this Redis keeps nothing "
        "on disk: a restart loses acknowledged saves"
    ),
}


def check_strategies(answer: object) -> Feedback:
    """Is ``answer`` (scenario -> strategy) the right cache strategy for each of :data:`SCENARIOS`?"""
    missing = not_answered(answer)
    if missing is not None:
        return missing
    if not isinstance(answer, dict):
        return wrong(f"answer is a dict from scenario to strategy, got {type(answer).__name__}.")
    unknown = sorted(set(answer) - set(SCENARIOS), key=str)
    if unknown:
        return wrong(f"the scenarios are {sorted(SCENARIOS)}; {unknown} is not one of them.")
    problems = []
    for scenario in SCENARIOS:
        choice = answer.get(scenario, ...)
        if isinstance(choice, str):
            choice = "-".join(choice.strip().lower().replace("_", " ").replace("-", " ").split())
        if choice is None or choice is Ellipsis:
            problems.append(f"'{scenario}': choose one of {list(STRATEGIES)}")
        elif not isinstance(choice, str) or choice not in STRATEGIES:
            problems.append(f"'{scenario}': {choice!r} is not one of {list(STRATEGIES)}")
        elif choice != _RIGHT[scenario]:
            problems.append(f"'{scenario}': {_WHY_NOT[scenario, choice]}")
    if problems:
        return wrong("; ".join(problems) + ".")
    return correct(
        "each choice fits what its workload can pay on the write path, what it must find in Redis, "
        "and what may be acknowledged before the database has it."
    )
