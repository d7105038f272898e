"""Notebook 07's checks: right answers pass, typical wrong ones get a reason and never "Correct"."""

from __future__ import annotations

import pytest

from scalekit import datasets
from scalekit.exercises.real_world import (
    check_db_queries,
    check_merge_timeline,
    check_merged_per_read,
    check_strategy_choice,
    merge_cases,
)
from scalekit.timeline import fanout_model


def merge_right(home, celebrity_lists, limit):
    best = {}
    for found in [home, *celebrity_lists]:
        for post_id, ts in found:
            best[post_id] = ts
    ordered = sorted(best.items(), key=lambda item: (item[1], int(item[0])), reverse=True)
    return [post_id for post_id, _ in ordered[:limit]]


def merge_duplicates(home, celebrity_lists, limit):
    pairs = [pair for found in [home, *celebrity_lists] for pair in found]
    ordered = sorted(pairs, key=lambda item: (item[1], int(item[0])), reverse=True)
    return [post_id for post_id, _ in ordered[:limit]]


def merge_time_only(home, celebrity_lists, limit):
    best = {post_id: ts for found in [home, *celebrity_lists] for post_id, ts in found}
    return [post_id for post_id, _ in sorted(best.items(), key=lambda item: -item[1])[:limit]]


def merge_no_limit(home, celebrity_lists, limit):
    return merge_right(home, celebrity_lists, 10**6)


def merge_home_only(home, celebrity_lists, limit):
    return [post_id for post_id, _ in home][:limit]


def merge_pairs(home, celebrity_lists, limit):
    return sorted({pair for found in [home, *celebrity_lists] for pair in found}, reverse=True)[:limit]


def merge_smaller_id_first(home, celebrity_lists, limit):
    best = {post_id: ts for found in [home, *celebrity_lists] for post_id, ts in found}
    return [post_id for post_id, _ in sorted(best.items(), key=lambda item: (-item[1], item[0]))[:limit]]


def merge_first_celebrity_only(home, celebrity_lists, limit):
    return merge_right(home, celebrity_lists[:1], limit)


def merge_one_short(home, celebrity_lists, limit):
    return merge_right(home, celebrity_lists, limit - 1)


def merge_truncate_before_sorting(home, celebrity_lists, limit):
    pairs = [pair for found in [home, *celebrity_lists] for pair in found][:limit]
    return merge_right(pairs, [], limit)


def merge_integers(home, celebrity_lists, limit):
    return [int(post_id) for post_id in merge_right(home, celebrity_lists, limit)]


def test_merge_cases_contain_the_traps():
    cases = merge_cases()
    assert any(c["celebrity_lists"] for c in cases)
    assert any(
        {p for p, _ in c["home"]} & {p for found in c["celebrity_lists"] for p, _ in found} for c in cases
    ), "some post must sit in a home timeline and a celebrity list"
    assert all(merge_right(c["home"], c["celebrity_lists"], c["limit"]) == c["expected"] for c in cases)


def test_merge_timeline_right_and_wrong():
    assert check_merge_timeline(merge_right).ok
    assert "Correct" in repr(check_merge_timeline(merge_right))
    stub = check_merge_timeline(lambda home, lists, limit: None)
    assert not stub.ok and "not finished" in stub.message
    assert "define merge_timeline" in check_merge_timeline(...).message
    for broken, clue in [
        (merge_duplicates, "show it once"),
        (merge_time_only, "larger post id first"),
        (merge_no_limit, "at most `limit`"),
        (merge_home_only, "newest posts of all the lists"),
        (merge_pairs, "post ids only"),
        (merge_smaller_id_first, "larger post id first"),
        (merge_first_celebrity_only, "newest posts of all the lists"),
        (merge_one_short, "return `limit` posts"),
        (merge_truncate_before_sorting, "newest posts of all the lists"),
        (merge_integers, "(strings)"),
        (lambda home, lists, limit: "0000000001", "return a list"),
    ]:
        feedback = check_merge_timeline(broken)
        assert not feedback.ok, broken.__name__
        assert clue in feedback.message, (broken.__name__, feedback.message)
        assert "Timeline.read gives" in feedback.message or "return" in feedback.message
        assert not repr(feedback).startswith("Correct")
    crash = check_merge_timeline(lambda home, lists, limit: 1 / 0)
    assert not crash.ok and "ZeroDivisionError" in crash.message


def test_strategy_choice():
    right = {"newsroom": "read", "book club": "write", "video platform": "hybrid"}
    feedback = check_strategy_choice(right)
    assert feedback.ok
    assert not any(word in feedback.message for word in ("'read'", "'write'", "'hybrid'"))
    all_push = check_strategy_choice(dict.fromkeys(right, "write"))
    assert not all_push.ok and "2,000,000 timeline writes" in all_push.message
    assert "tens of millions of writes" in all_push.message and "book club" not in all_push.message
    all_hybrid = check_strategy_choice(dict.fromkeys(right, "hybrid"))
    assert not all_hybrid.ok and "never pulls" in all_hybrid.message and "celebrities" in all_hybrid.message
    swapped = check_strategy_choice({**right, "book club": "read", "video platform": "write"})
    assert not swapped.ok and "merge about 50 lists" in swapped.message and "one burst" in swapped.message
    assert "exactly the keys" in check_strategy_choice({"newsroom": "read"}).message
    assert "choose 'write'" in check_strategy_choice({**right, "newsroom": "push"}).message
    assert not check_strategy_choice(...).ok
    unfinished = check_strategy_choice({"newsroom": ..., "book club": ..., "video platform": ...})
    assert not unfinished.ok and "replace every `...`" in unfinished.message


def test_merged_per_read():
    counts = datasets.load("followers_100k.csv")["followers"].to_numpy()
    written, merged = fanout_model(counts, [3_000])
    feedback = check_merged_per_read(float(merged[0]))
    assert (
        feedback.ok
        and f"{merged[0]:.3f}" not in feedback.message
        and f"{merged[0]:.2f}" not in feedback.message
    )
    assert "fan-out per post" in check_merged_per_read(float(written[0])).message
    assert "counts the celebrities" in check_merged_per_read(int((counts >= 3_000).sum())).message
    assert "every follow edge" in check_merged_per_read(counts.mean()).message
    assert "too high" in check_merged_per_read(merged[0] * 1.5).message
    outline_t = fanout_model(counts, [1_000])[1][0]
    assert "outline's threshold" in check_merged_per_read(outline_t).message
    assert not check_merged_per_read("many").ok
    assert "finite number" in check_merged_per_read(float("nan")).message
    assert "finite number" in check_merged_per_read(True).message


@pytest.mark.parametrize(
    ("answer", "ok", "clue"),
    [
        (200_000, True, "every miss"),
        (9_800_000, False, "number of hits"),
        (200_000 * 60, False, "units"),
        (210_000, False, "writes"),
        (0.02, False, "share of requests"),
        (100_000, False, "how many more reads"),
        (150_000, False, "too low"),
        (..., False, "replace the `...`"),
        (float("inf"), False, "finite number"),
    ],
)
def test_db_queries(answer, ok, clue):
    feedback = check_db_queries(answer)
    assert feedback.ok is ok and clue in feedback.message
    if ok:
        assert "200" not in feedback.message


def test_strategy_choice_reads_any_case():
    assert check_strategy_choice({"newsroom": "Read", "book club": " write", "video platform": "HYBRID"}).ok
    right = {"newsroom": "read", "book club": "write", "video platform": "hybrid"}
    wrong_case = check_strategy_choice({**right, "newsroom": "Write"})
    assert not wrong_case.ok and "2,000,000 timeline writes" in wrong_case.message
