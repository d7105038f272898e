"""Checks for notebook 07 (real-world examples): a hybrid timeline read, push or pull, Black Friday."""

from __future__ import annotations

import math
from collections.abc import Callable

import fakeredis
import numpy as np

from scalekit import datasets
from scalekit.exercises.feedback import Feedback, correct, not_answered, wrong
from scalekit.timeline import Timeline, fanout_model

Pairs = list[tuple[str, float]]

STRATEGY_CASES = {
    "newsroom": "3 editors post to the same 2,000,000 readers, who open the app every few minutes",
    "book club": "20,000 members follow about 50 others each; nobody has more than 300 followers",
    "video platform": "most creators have a few hundred followers, a few have tens of millions",
}
_RIGHT = {"newsroom": "read", "book club": "write", "video platform": "hybrid"}
_WHY_NOT = {
    ("newsroom", "write"): (
        "every editor's post would be 2,000,000 timeline writes in one burst (breaking news reaching "
        "the last reader seconds late) and 2,000,000 identical home timelines to keep in memory, "
        "only to spare each read two lookups that travel in the same round trip anyway"
    ),
    ("newsroom", "hybrid"): (
        "any sensible threshold is far below 2,000,000 followers, so all three editors are "
        "celebrities: the hybrid is pull with an unused home timeline and an extra lookup per read"
    ),
    ("book club", "read"): (
        "every read would merge about 50 lists, and reads far outnumber posts, while pushing "
        "costs at most 300 small writes per post"
    ),
    ("book club", "hybrid"): (
        "no member comes near a threshold worth having, so the hybrid never pulls: it is push "
        "plus a follower-count lookup on every read"
    ),
    ("video platform", "write"): (
        "one post by a creator with tens of millions of followers is tens of millions of writes "
        "in one burst, and the posts queued behind it wait"
    ),
    ("video platform", "read"): (
        "every read would merge one list per creator the reader follows, although most creators, "
        "with a few hundred followers, are cheap to push"
    ),
}


def check_strategy_choice(answer: object) -> Feedback:
    """Judgement: "write", "read" or "hybrid" for each of the apps in ``STRATEGY_CASES``."""
    missing = not_answered(answer)
    if missing is not None:
        return missing
    if not isinstance(answer, dict) or set(answer) != set(STRATEGY_CASES):
        return wrong(
            f"answer with a dict that has exactly the keys {sorted(STRATEGY_CASES)}, got {answer!r}."
        )
    if any(choice is Ellipsis or choice is None for choice in answer.values()):
        return wrong("replace every `...` with 'write', 'read' or 'hybrid' and run the cell again.")
    problems = []
    for case in STRATEGY_CASES:
        choice = answer[case].strip().lower() if isinstance(answer[case], str) else answer[case]
        if choice not in ("write", "read", "hybrid"):
            return wrong(f"{case}: choose 'write', 'read' or 'hybrid', got {choice!r}.")
        if choice != _RIGHT[case]:
            problems.append(f"{case}, {choice!r}: {_WHY_NOT[(case, choice)]}")
    if problems:
        return wrong("; ".join(problems) + ".")
    return correct("each app gets the strategy whose cost lands where its traffic is cheapest to serve.")


def check_merged_per_read(answer: object, threshold: int = 3_000) -> Feedback:
    """Exercise: celebrity lists an average read merges at ``threshold`` on data/followers_100k.csv."""
    missing = not_answered(answer)
    if missing is not None:
        return missing
    try:
        value = float(answer)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return wrong(f"the answer should be a number of lists per read, got {answer!r}.")
    if isinstance(answer, bool) or not math.isfinite(value):
        return wrong(f"the answer should be a finite number of lists per read, got {answer!r}.")
    counts = datasets.load("followers_100k.csv")["followers"].to_numpy()
    written, merged = fanout_model(counts, [threshold])
    if math.isclose(value, written[0], rel_tol=1e-3):
        return wrong(
            "that is the fan-out per post (authors below the threshold); the question asks for merges."
        )
    if math.isclose(value, counts.mean(), rel_tol=1e-3):
        return wrong("that is every follow edge per user: it counts authors below the threshold too.")
    if math.isclose(value, float((counts >= threshold).sum()), rel_tol=1e-3):
        return wrong(
            "that counts the celebrities; an average reader follows only some of them "
            "(each celebrity is merged by its followers, out of all users)."
        )
    if threshold != 1_000 and math.isclose(value, fanout_model(counts, [1_000])[1][0], rel_tol=1e-3):
        return wrong(f"that is the read cost at the outline's threshold of 1,000; this one is {threshold:,}.")
    if math.isclose(value, merged[0], rel_tol=0.01):
        return correct("that is what an average read merges at this threshold.")
    direction = "high" if value > merged[0] else "low"
    return wrong(
        f"{value:.4g} lists per read is too {direction}. fanout_model(counts, [threshold]) "
        "returns (written per post, merged per read)."
    )


def check_db_queries(answer: object, requests: float = 10e6, hit_ratio: float = 0.98) -> Feedback:
    """Exercise: database reads per second when ``requests`` reads/s meet a cache with ``hit_ratio``."""
    missing = not_answered(answer)
    if missing is not None:
        return missing
    try:
        value = float(answer)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return wrong(f"the answer should be a number of reads per second, got {answer!r}.")
    if isinstance(answer, bool) or not math.isfinite(value):
        return wrong(f"the answer should be a finite number of reads per second, got {answer!r}.")
    expected = requests * (1 - hit_ratio)
    if math.isclose(value, requests * hit_ratio, rel_tol=1e-3):
        return wrong(
            "that is the number of hits; the database sees the misses, 1 - hit ratio of the requests."
        )
    if math.isclose(value, expected / 60, rel_tol=1e-3) or math.isclose(value, expected * 60, rel_tol=1e-3):
        return wrong("check the units: the question asks for reads per second.")
    if math.isclose(value, 1 - hit_ratio, rel_tol=1e-3):
        return wrong("that is the share of requests that miss; the question asks for reads per second.")
    if math.isclose(value, requests * (0.99 - hit_ratio), rel_tol=1e-3):
        return wrong(
            "that is how many more reads the drop causes; the question asks for every read the misses cause."
        )
    if math.isclose(value, expected + 10_000, rel_tol=1e-3):
        return wrong("that includes the 10,000 writes a second; the question leaves them out.")
    if math.isclose(value, expected, rel_tol=0.01):
        return correct("every miss becomes a database read.")
    direction = "high" if value > expected else "low"
    return wrong(f"{value:,.0f} reads/s is too {direction}: misses = requests * (1 - hit_ratio).")


def merge_cases(seed: int = 7, users: int = 40, limit: int = 4) -> list[dict]:
    """Seeded hybrid-read cases from a real :class:`Timeline`: inputs and what ``Timeline.read`` returns.

    Each case has ``home`` and ``celebrity_lists`` (lists of ``(post_id, ts)`` pairs, newest
    first, as Redis returns them), ``limit`` and ``expected`` (post ids). Some authors cross
    the celebrity threshold after posting, so a post can sit in both a home timeline and a
    celebrity list; timestamps repeat, so ties occur.
    """
    rng = np.random.default_rng(seed)
    client = fakeredis.FakeRedis(server=fakeredis.FakeServer(), decode_responses=True)
    timeline = Timeline(client, "exercise", strategy="hybrid", threshold=6, capacity=limit)
    for _ in range(users * 3):
        a, b = (int(x) for x in rng.integers(0, users, 2))
        if a != b:
            timeline.follow(a, b)
    for round_ in range(3):
        for _ in range(users):
            timeline.post(int(rng.integers(0, users)), "post", float(rng.integers(0, 6) + 6 * round_))
        for _ in range(users):
            follower = int(rng.integers(0, users))
            if follower != round_:
                timeline.follow(follower, round_)
    cases = []
    for user in range(users):
        home = client.zrevrange(timeline.home_key(user), 0, limit - 1, withscores=True)
        stars = [u for u in timeline.following(user) if timeline.follower_count(u) >= timeline.threshold]
        lists = [client.zrevrange(timeline.key("posts", u), 0, limit - 1, withscores=True) for u in stars]
        expected = [post.id for post in timeline.read(user, limit)]
        cases.append(
            {"user": user, "home": home, "celebrity_lists": lists, "limit": limit, "expected": expected}
        )
    return sorted(cases, key=lambda c: (len(c["home"]) + sum(map(len, c["celebrity_lists"])), c["user"]))


def check_merge_timeline(func: Callable[..., object], seed: int = 7) -> Feedback:
    """Build-it: the learner's ``merge_timeline(home, celebrity_lists, limit)`` against ``Timeline.read``."""
    if func is None or func is Ellipsis:
        return wrong("define merge_timeline(home, celebrity_lists, limit) and run the cell again.")
    if not callable(func):
        return wrong(f"pass the function itself (merge_timeline, no brackets), got {type(func).__name__}.")
    cases = merge_cases(seed)
    for case in cases:
        home = [tuple(pair) for pair in case["home"]]
        lists = [[tuple(pair) for pair in found] for found in case["celebrity_lists"]]
        call = f"merge_timeline({home}, {lists}, {case['limit']})"
        try:
            got = func([*home], [[*found] for found in lists], case["limit"])
        except Exception as error:
            return wrong(f"{call} raised {type(error).__name__}: {error}.")
        if got is None or got is Ellipsis:
            return wrong(f"{call} returned {got!r}: the function body is not finished yet.")
        if isinstance(got, (str, bytes)):
            return wrong(f"{call} returned {got!r}; return a list of post ids.")
        try:
            got = list(got)
        except TypeError:
            return wrong(f"{call} returned {got!r}; return a list of post ids.")
        if any(isinstance(item, (tuple, list)) for item in got):
            return wrong(f"{call} returned {got!r}; return the post ids only (strings), not pairs.")
        if not all(isinstance(item, str) for item in got):
            return wrong(f"{call} returned {got!r}; return the post ids as the lists give them (strings).")
        expected = case["expected"]
        if got != expected:
            return wrong(
                f"{call} returned {got}, Timeline.read gives {expected}: {_merge_hint(got, expected, case)}"
            )
    return correct(f"your merge agrees with Timeline.read for all {len(cases)} readers of the seeded graph.")


def _merge_hint(got: list[str], expected: list[str], case: dict) -> str:
    if len(set(got)) < len(got):
        return "a post that was pushed before its author became a celebrity sits in both lists; show it once."
    if len(got) > case["limit"]:
        return "return at most `limit` posts."
    if 0 < len(got) < len(expected) and got == expected[: len(got)]:
        return "the lists hold more posts than you returned: return `limit` posts when there are that many."
    if sorted(got) == sorted(expected):
        return (
            "the same posts in another order: newest first, and among equal times the larger post id first."
        )
    return "take the newest posts of all the lists together, newest first."
