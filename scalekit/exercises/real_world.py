"""Checks for notebook 07 (real-world examples): celebrity fan-out, hybrid merges, Black Friday."""

from __future__ import annotations

from scalekit import datasets
from scalekit.exercises.feedback import Feedback, check_number, not_answered, wrong
from scalekit.timeline import fanout_model


def check_fanout_seconds(answer: object, followers: int = 2_000_000, rate: float = 80_000) -> Feedback:
    """Exercise: seconds until the last of ``followers`` home timelines has a post at ``rate`` writes/s."""
    missing = not_answered(answer)
    if missing is not None:
        return missing
    expected = followers / rate
    if isinstance(answer, (int, float)) and abs(float(answer) - expected / 60) < 1e-9:
        return wrong(
            f"{answer} looks like minutes; the question asks for seconds ({followers:,} / {rate:,.0f})."
        )
    return check_number(
        answer,
        expected,
        what="the fan-out time in seconds",
        hint="Every follower's home timeline is one write: divide the followers by the writes per second.",
    )


def check_merged_per_read(answer: object, threshold: int = 10_000) -> Feedback:
    """Exercise: celebrity lists an average read merges at ``threshold`` on data/followers_100k.csv."""
    missing = not_answered(answer)
    if missing is not None:
        return missing
    counts = datasets.load("followers_100k.csv")["followers"].to_numpy()
    written, merged = fanout_model(counts, [threshold])
    if isinstance(answer, (int, float)) and abs(float(answer) - written[0]) < 1e-9 * max(1.0, written[0]):
        return wrong(
            "that is the fan-out per post (authors below the threshold); the question asks for merges."
        )
    return check_number(
        answer,
        float(merged[0]),
        what=f"the celebrity lists merged per average read at threshold {threshold:,}",
        hint="fanout_model(counts, [threshold]) returns (written per post, merged per read).",
    )


def check_db_queries(answer: object, requests: float = 10e6, hit_ratio: float = 0.98) -> Feedback:
    """Exercise: database reads per second when ``requests`` reads/s meet a cache with ``hit_ratio``."""
    missing = not_answered(answer)
    if missing is not None:
        return missing
    expected = requests * (1 - hit_ratio)
    if isinstance(answer, (int, float)) and abs(float(answer) - requests * hit_ratio) < 1:
        return wrong(
            "that is the number of hits; the database sees the misses, 1 - hit ratio of the requests."
        )
    return check_number(
        answer, expected, what="database reads per second", hint="misses = requests * (1 - hit_ratio)."
    )
