"""Checks for notebook 08 (interview questions), and the outline's scaling checklist."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from scalekit import models
from scalekit.exercises.feedback import Feedback, correct, not_answered, wrong
from scalekit.exercises.scalability import call_learner, uses_reference

CHECKLIST: dict[str, str] = {
    "stateless": "Keep sessions and uploads off the servers (Redis, S3): any server can serve anyone.",
    "caching": "Cache the hottest reads (Redis; a CDN for static files) and measure the hit ratio.",
    "read_replicas": "Send reads to replicas and keep read-your-writes for users who just wrote.",
    "indexes": "Read the query plans of the slowest queries; a SCAN on a big table wants an index.",
    "autoscaling": "Scale on a leading signal, with a schedule for known peaks: boots take minutes.",
    "queues": "Queue slow work (emails, reports, checkout spikes), with retries and a dead-letter list.",
    "load_testing": "Load-test at the peak you expect (10x for a sale) before the peak does it for you.",
    "monitoring": "Watch latency percentiles, error rate, saturation and queue depth, with alerts.",
}


def scaling_checklist(answers: Mapping[str, bool]) -> list[dict[str, str]]:
    """The outline's scaling checklist as a self-assessment: one row per item, with a next step.

    ``answers`` maps checklist items (the keys of :data:`CHECKLIST`) to True or False;
    an item left out counts as not done. Unknown items are an error, so a typo is not
    silently ignored.
    """
    unknown = sorted(set(answers) - set(CHECKLIST))
    if unknown:
        raise ValueError(f"unknown checklist items {unknown}; the items are {list(CHECKLIST)}")
    for item, done in answers.items():
        if not isinstance(done, bool):
            raise TypeError(f"answer for {item!r} must be True or False, got {done!r}")
    return [
        {
            "item": item,
            "done": "yes" if answers.get(item, False) else "no",
            "next step": "-" if answers.get(item, False) else step,
        }
        for item, step in CHECKLIST.items()
    ]


def q2_capacity_gain(
    hit_ratio: float = 0.95, replicas: int = 4, write_fraction: float = 0.1, apply_cost: float = 1.0
) -> float:
    """How many times more requests/s Q2's design carries than one database node alone.

    The primary runs every write (``w X <= C``); each replica runs its share of the cache
    misses plus every replayed write (``(1 - w)(1 - h) X / n + a w X <= C``).
    """
    primary = 1 / write_fraction
    per_replica = (1 - write_fraction) * (1 - hit_ratio) / replicas + apply_cost * write_fraction
    return min(primary, 1 / per_replica)


K_OF_N_SEED = 808


def k_of_n_cases(count: int = 40, seed: int = K_OF_N_SEED) -> list[tuple[int, int, float]]:
    """Seeded ``(k, n, p)`` cases: small tiers, and tiers of hundreds that need most of their parts."""
    rng = np.random.default_rng(seed)
    cases = [
        (1, 1, 0.99),
        (2, 3, 0.9),
        (3, 3, 0.9),
        (1, 4, 0.95),
        (0, 3, 0.5),
        (480, 500, 0.97),
        (3, 4, 1.0),
        (1, 3, 0.0),
    ]
    while len(cases) < count:
        n = int(rng.choice([int(rng.integers(1, 12)), int(rng.integers(50, 600))]))
        k = (
            int(rng.integers(max(0, n - n // 5 - 2), n + 1))
            if rng.random() < 0.7
            else int(rng.integers(0, n + 1))
        )
        p = float(np.round(rng.choice([rng.uniform(0.5, 0.999), rng.uniform(0.9, 0.9999)]), 4))
        cases.append((k, n, p))
    return cases


def check_k_of_n(k_of_n: object) -> Feedback:
    """Build-it: ``k_of_n(k, n, p)`` against `models.k_of_n_availability` on seeded tiers."""
    missing = not_answered(k_of_n)
    if missing is not None:
        return missing
    if not callable(k_of_n):
        return wrong(f"pass the function itself (k_of_n, no parentheses), got {k_of_n!r}.")
    if uses_reference(k_of_n, models.k_of_n_availability):
        return wrong(
            "your function calls models.k_of_n_availability, the reference the check compares with: "
            "add up the binomial terms yourself."
        )
    for k, n, p in k_of_n_cases():
        expected = models.k_of_n_availability(k, n, p)
        got, failure = call_learner(k_of_n, (k, n, p))
        where = f"k_of_n({k}, {n}, {p:g})"
        if failure is not None:
            return wrong(f"{where} {failure}.")
        if got is None or got is Ellipsis:
            return wrong(f"{where} returned {got!r}: finish the function so it returns a probability.")
        if isinstance(got, (str, bytes, bool, np.bool_)) or not isinstance(got, (float, int, np.number)):
            return wrong(f"{where} returned {got!r}; return a probability, a number between 0 and 1.")
        value = float(got)
        if math.isclose(value, expected, rel_tol=1e-7, abs_tol=1e-10):
            continue
        hint = ""
        off_by_one = models.k_of_n_availability(k + 1, n, p) if k < n else 0.0
        if math.isclose(value, off_by_one, abs_tol=1e-10):
            hint = " It looks like exactly k parts up is not counted: 'at least k' includes k."
        elif math.isclose(value, 1 - (1 - p) ** n, abs_tol=1e-10):
            hint = " That is 'any one of n'; this tier needs k of them."
        elif math.isclose(value, p**k, abs_tol=1e-10):
            hint = " That is 'these k are all up'; any k of the n will do."
        return wrong(
            f"{where} returned {value:.10g}; the probability that at least {k} of {n} are up "
            f"is {expected:.10g}.{hint}"
        )
    return correct("your function agrees with the binomial tail on every generated tier.")


FIRST_STEP_CHOICES = {
    "a": "shard the table",
    "b": "add read replicas",
    "c": "add an index for the query that scans the table",
    "d": "move to a machine twice the size",
}


def check_first_step(answer: object) -> Feedback:
    """Judgement: the first step for a database at 85 % CPU whose top query is a full scan."""
    missing = not_answered(answer)
    if missing is not None:
        return missing
    choice = str(answer).strip().lower()
    if choice not in FIRST_STEP_CHOICES:
        return wrong(f"answer with one letter, one of {sorted(FIRST_STEP_CHOICES)}; got {answer!r}.")
    if choice == "c":
        return correct(
            "the query that dominates the time reads every row; an index turns the scan into a search, "
            "costs an hour, and may make every step after it unnecessary. Measure again afterwards."
        )
    reasons = {
        "b": "replicas would each run the same full scan: you would pay for several machines to repeat "
        "work an index removes, and add replication lag to reason about.",
        "a": "sharding splits the scan into smaller scans on several machines, at the price of a shard "
        "key, cross-shard queries and rebalancing: the most expensive fix, for a problem one index solves.",
        "d": "a machine twice the size runs the scan a bit faster, until the table doubles; the work per "
        "query is still proportional to the table, so the problem returns.",
    }
    return wrong(reasons[choice])
