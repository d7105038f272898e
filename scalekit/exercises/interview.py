"""Checks for notebook 08 (interview questions), and the outline's scaling checklist."""

from __future__ import annotations

from collections.abc import Mapping

from scalekit.exercises.feedback import Feedback, check_number, not_answered, wrong

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


def check_db_load_after(
    answer: object, reads: float = 900, writes: float = 100, hit_ratio: float = 0.95
) -> Feedback:
    """Exercise: queries/s that still reach the database in Q2's "after" design."""
    missing = not_answered(answer)
    if missing is not None:
        return missing
    expected = reads * (1 - hit_ratio) + writes
    if isinstance(answer, (int, float)) and abs(float(answer) - (reads + writes) * (1 - hit_ratio)) < 1e-9:
        return wrong(
            "that applies the hit ratio to the writes too; a cache answers reads only, "
            "every write reaches the DB."
        )
    return check_number(
        answer,
        expected,
        what="queries per second reaching the database",
        hint="misses of the reads, plus all the writes.",
    )


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


def check_capacity_gain(answer: object) -> Feedback:
    """Exercise: the real gain of Q2's design (the outline says 20x)."""
    missing = not_answered(answer)
    if missing is not None:
        return missing
    if isinstance(answer, (int, float)) and float(answer) == 20:
        return wrong("20x is the outline's claim (1000 / 50); compute the busiest node's limit instead.")
    return check_number(
        answer,
        q2_capacity_gain(),
        what="the gain in requests per second",
        hint="Take the smaller of the primary's limit (1 / write fraction) and a replica's limit.",
    )


def check_downtime_minutes(answer: object, availability: float = 0.999, hours: float = 24) -> Feedback:
    """Exercise: minutes of downtime ``availability`` allows over ``hours`` hours."""
    missing = not_answered(answer)
    if missing is not None:
        return missing
    expected = (1 - availability) * hours * 60
    if isinstance(answer, (int, float)) and abs(float(answer) - expected * 60) < 1e-6:
        return wrong("that is seconds; the question asks for minutes.")
    return check_number(
        answer, expected, what="allowed downtime in minutes", hint="(1 - availability) * hours * 60."
    )
