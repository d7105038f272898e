"""Checks for notebook 09 (summary): size a read-replica tier, and choose the first fix for a system."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from scalekit.audit import Architecture, replicas_needed, review
from scalekit.exercises.feedback import Feedback, correct, not_answered, wrong
from scalekit.exercises.scalability import call_learner, uses_reference

ReplicaFunction = Callable[[float, float, float], "int | None"]


def replica_cases(seed: int = 9, n: int = 200) -> list[tuple[float, float, float]]:
    """Seeded ``(read_load, write_rate, node_capacity)`` cases: easy ones first, then edges, then random."""
    cases = [(2_000.0, 100.0, 1_000.0), (900.0, 100.0, 1_000.0), (5_000.0, 1_500.0, 1_000.0)]
    cases += [
        (1_000.0, 0.0, 1_000.0),
        (0.0, 0.0, 1_000.0),
        (3_000.0, 500.0, 1_000.0),
        (400.0, 1_000.0, 1_000.0),
        (0.0, 1_000.0, 1_000.0),
    ]
    rng = np.random.default_rng(seed)
    for _ in range(n):
        capacity = float(rng.integers(1, 40) * 500)
        writes = float(np.round(rng.uniform(0, 1.1) * capacity))
        reads = float(np.round(rng.uniform(0, 25) * capacity))
        cases.append((reads, writes, capacity))
    return cases


def check_replicas_needed(function: object) -> Feedback:
    """Build-it exercise: the learner's ``replicas_needed(read_load, write_rate, node_capacity)``.

    Compared with :func:`scalekit.audit.replicas_needed` (replaying a write costs one query)
    on seeded generated cases; the first disagreement is reported with a hint.
    """
    missing = not_answered(function)
    if missing is not None:
        return missing
    if not callable(function):
        return wrong(
            f"pass the function itself, e.g. check_replicas_needed(replicas_needed), not {function!r}."
        )
    if uses_reference(function, replicas_needed):
        return wrong(
            "that hands in scalekit.audit.replicas_needed, the reference the check compares with: "
            "write the sizing yourself from what each replica has left after replaying the writes."
        )
    cases = replica_cases()
    answers = []
    for reads, writes, capacity in cases:
        got, failure = call_learner(function, (reads, writes, capacity))
        if failure is not None:
            return wrong(f"replicas_needed({reads:g}, {writes:g}, {capacity:g}) {failure}.")
        answers.append(got)
    if all(answer is None or answer is Ellipsis for answer in answers):
        return wrong(
            "your function returns nothing yet: replace the `...` in its body and run the cell again."
        )
    for (reads, writes, capacity), got in zip(cases, answers, strict=True):
        expected = replicas_needed(reads, writes, capacity)
        if _same(got, expected):
            continue
        call = f"replicas_needed({reads:g}, {writes:g}, {capacity:g})"
        return wrong(f"{call} returned {got!r}, but {_hint(reads, writes, capacity, got, expected)}")
    return correct(f"your function agrees with scalekit on all {len(cases)} generated cases, edges included.")


def _same(got: object, expected: int | None) -> bool:
    if expected is None or got is None:
        return got is expected
    if isinstance(got, bool) or not isinstance(got, (int, np.integer, float)):
        return False
    return float(got) == expected


def _hint(reads: float, writes: float, capacity: float, got: object, expected: int | None) -> str:
    if expected is None:
        return (
            "no number of replicas is enough: every replica replays all the writes, which leave it no room "
            "for reads (or the writes overflow the primary itself); return None."
        )
    if got is not None and (isinstance(got, bool) or not isinstance(got, (int, float, np.integer))):
        return f"return a whole number of replicas (or None), not a {type(got).__name__}."
    if got is None and expected == 0:
        return (
            f"the primary alone runs the {reads:g} reads and {writes:g} writes a second within its "
            f"{capacity:g} queries/s, so no replica is needed: return 0."
        )
    if got is None:
        return (
            f"this load has an answer: the writes fit on the primary, and each replica keeps "
            f"{capacity - writes:g} of its {capacity:g} queries/s for reads after replaying them."
        )
    if expected == 0:
        return "the primary alone runs the reads and the writes together here, so no replica is needed."
    if not float(got).is_integer():
        return "a number of replicas is a whole number: round up, as a fraction of a replica serves no reads."
    if isinstance(got, (int, float, np.integer)) and float(got) < expected:
        return (
            f"that is too few: each replica replays all {writes:g} writes/s, so it has only "
            f"{capacity - writes:g} of its {capacity:g} queries/s left for reads."
        )
    return "that is more than needed: look for the fewest replicas whose spare room covers the reads."


PAYMENTS = Architecture(
    name="payments ledger",
    peak_rps=6_000.0,
    app_servers=10,
    server_rps=800.0,
    sessions="redis",
    write_fraction=0.6,
    cache_hit_ratio=0.8,
    db_node_qps=3_000.0,
    replicas=2,
    query_plans=("SEARCH payments USING INDEX payments_by_account (account_id=?)",),
    autoscaling=True,
    max_servers=20,
    load_tested_x=3.0,
    expected_peak_x=3.0,
    monitored=frozenset({"latency percentiles", "error rate", "saturation", "queue depth"}),
)
"""The judgement exercise's system: a sustained write load, not a spike."""

FIRST_STEPS = ("caching", "replicas", "sharding", "autoscaling", "queue")


def check_first_step(answer: object, system: Architecture = PAYMENTS) -> Feedback:
    """Judgement exercise: which single change lets ``system`` carry its peak?"""
    missing = not_answered(answer)
    if missing is not None:
        return missing
    choice = str(answer).strip().lower()
    if choice not in FIRST_STEPS:
        return wrong(f"answer with one of {list(FIRST_STEPS)}, got {answer!r}.")
    items = {item.item: item for item in review(system)}
    writes, capacity = system.db_writes, system.db_node_qps
    reasons = {
        "caching": (
            f"a cache answers reads; the {writes:,.0f} writes/s still reach the primary, which runs "
            f"{capacity:,.0f} queries/s (the cache already answers {system.cache_hit_ratio:.0%} of reads)."
        ),
        "replicas": (
            f"every replica replays all {writes:,.0f} writes/s, more than the {capacity:,.0f} queries/s "
            "a node runs, so replicas would fall behind forever, and the primary cannot keep up either."
        ),
        "autoscaling": (
            f"the app tier is not short: {items['autoscaling'].evidence}. More app servers "
            "send the same writes to the same primary."
        ),
        "queue": (
            f"a queue absorbs a spike, but these writes arrive all day: {writes:,.0f}/s against "
            f"{capacity:,.0f}/s grows the queue by {writes - capacity:,.0f} jobs a second, "
            f"{3600 * (writes - capacity):,.0f} an hour, and each payment waits longer than the one before."
        ),
    }
    if choice == "sharding" and math.isfinite(writes) and writes > capacity:
        return correct(
            "it is the only option here that lowers the writes each database node must run; pick a key "
            "that spreads new rows evenly (a hashed account id), not one that grows with time."
        )
    return wrong(reasons.get(choice, "check the write load against what one node runs."))
