"""The scaling checklist as a function: each item's verdict and next step follow from the facts."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scalekit.audit import ITEMS, SIGNALS, Architecture, audit, audit_table, replicas_needed, review
from scalekit.routers import replica_capacity

READY = Architecture(
    "ready",
    peak_rps=4_000,
    app_servers=10,
    sessions="redis",
    cache_hit_ratio=0.9,
    db_node_qps=5_000,
    replicas=1,
    query_plans=("SEARCH posts USING INDEX posts_by_user (user_id=?)",),
    autoscaling=True,
    max_servers=20,
    load_tested_x=10,
    monitored=frozenset(SIGNALS),
)
BARE = Architecture(
    "bare",
    peak_rps=3_000,
    sessions="memory",
    write_fraction=0.2,
    db_node_qps=2_000,
    query_plans=("SCAN posts",),
    slow_work_s=4.0,
    slow_work_rps=5.0,
    expected_peak_x=5,
)


def brute_force(read_load: float, write_rate: float, capacity: float) -> int | None:
    for n in range(0, 10_000):
        try:
            if replica_capacity(n, node_capacity=capacity, write_rate=write_rate).reads >= read_load:
                return n
        except ValueError:
            return None
    return None


def test_replicas_needed_agrees_with_a_brute_force_search_over_replica_capacity():
    rng = np.random.default_rng(1)
    for _ in range(300):
        capacity = float(rng.integers(1, 20) * 250)
        writes = float(np.round(rng.uniform(0, 1.05) * capacity))
        reads = float(np.round(rng.uniform(0, 15) * capacity))
        assert replicas_needed(reads, writes, capacity) == brute_force(reads, writes, capacity), (
            reads,
            writes,
        )


def test_replicas_needed_edges():
    assert replicas_needed(900, 100, 1_000) == 0  # the primary alone runs both
    assert replicas_needed(901, 100, 1_000) == 2  # one replica has the same 900 reads/s of room
    assert replicas_needed(5_000, 1_500, 1_000) is None  # the writes overflow the primary
    assert replicas_needed(10, 1_000, 1_000) is None  # replicas replaying every write have no room
    assert replicas_needed(0, 1_000, 1_000) == 0
    with pytest.raises(ValueError, match="node_capacity"):
        replicas_needed(1, 1, 0)
    with pytest.raises(ValueError, match="read_load"):
        replicas_needed(math.nan, 1, 10)


def test_review_answers_all_eight_questions_in_the_outline_order():
    assert [item.item for item in review(READY)] == list(ITEMS)
    assert audit(READY) == []


def test_bare_architecture_fails_every_item_with_a_computed_next_step():
    unchecked = {item.item: item for item in audit(BARE)}
    assert set(unchecked) == set(ITEMS)
    assert "50%" in unchecked["stateless"].evidence  # 2 servers, round robin: half the follow-ups miss
    assert "hit ratio of 42%" in unchecked["caching"].next_step  # 1,400 reads/s of room for 2,400
    assert "Add read replicas: 2 (from 0)" in unchecked["read_replicas"].next_step
    assert "'SCAN posts'" in unchecked["indexes"].next_step
    assert "at least 9 servers" in unchecked["autoscaling"].next_step
    assert "instead of 20 (Little's law" in unchecked["queues"].next_step
    assert "Load-test at 5x" in unchecked["load_testing"].next_step
    assert unchecked["load_testing"].evidence.startswith("never load-tested")
    assert "latency percentiles, error rate, saturation and queue depth" in unchecked["monitoring"].next_step


def test_write_heavy_database_gets_sharding_not_replicas():
    heavy = Architecture("heavy", peak_rps=6_000, sessions="redis", write_fraction=0.6, db_node_qps=3_000)
    step = next(item for item in audit(heavy) if item.item == "read_replicas").next_step
    assert step.startswith("Replicas cannot help") and "Shard the writes" in step


def test_autoscaling_group_too_small_names_the_size_it_needs():
    small = Architecture("small", peak_rps=20_000, sessions="redis", autoscaling=True, max_servers=20)
    item = next(item for item in audit(small) if item.item == "autoscaling")
    assert "from 20 to at least 58" in item.next_step and "200% of capacity" in item.next_step


def test_checked_items_have_no_next_step_and_unchecked_ones_always_do():
    for arch in (READY, BARE):
        for item in review(arch):
            assert (item.next_step == "") == item.checked
            assert item.evidence and item.question.endswith("?")


def test_table_keeps_full_sentences():
    table = audit_table(audit(BARE))
    assert list(table.columns) == ["question", "checked", "evidence", "next step"]
    assert table.loc["queues", "next step"] == next(i for i in audit(BARE) if i.item == "queues").next_step


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"sessions": "cookie"}, "sessions must be one of"),
        ({"monitored": frozenset({"vibes"})}, "unknown monitored signals"),
        ({"peak_rps": 0}, "peak_rps must be a number > 0"),
        ({"cache_hit_ratio": 1.5}, "cache_hit_ratio must be a share"),
        ({"replicas": -1}, "replicas must be a whole number"),
        ({"slow_work_s": math.inf}, "slow_work_s must be a number >= 0"),
        ({"peak_rps": math.nan}, "peak_rps must be a number > 0"),
        ({"peak_rps": "3000"}, "peak_rps must be a number > 0"),
        ({"peak_rps": True}, "peak_rps must be a number > 0"),
        ({"write_fraction": "0.2"}, "write_fraction must be a share"),
        ({"write_fraction": math.nan}, "write_fraction must be a share"),
        ({"db_node_qps": -5_000}, "db_node_qps must be a number > 0"),
        ({"app_servers": 2.5}, "app_servers must be a whole number"),
        ({"expected_peak_x": 0}, "expected_peak_x .* >= 1"),
        ({"autoscaling": "yes"}, "autoscaling must be True or False"),
        ({"autoscaling": True, "app_servers": 5, "max_servers": 1}, "max_servers .* below"),
        ({"query_plans": "SCAN posts"}, "query_plans must be a collection"),
        ({"query_plans": ("SCAN posts", None)}, "every entry of query_plans"),
        ({"monitored": "error rate"}, "monitored must be a collection"),
        ({"name": ""}, "name must be a non-empty text"),
    ],
)
def test_bad_facts_are_clear_errors(change, match):
    facts = {"name": "x", "peak_rps": 100.0} | change
    with pytest.raises(ValueError, match=match):
        Architecture(**facts)


def test_audit_takes_an_architecture_or_its_facts():
    with pytest.raises(ValueError, match=r"missing facts \['name', 'peak_rps'\]"):
        audit({"sessions": "redis"})
    with pytest.raises(ValueError, match=r"unknown facts \['peak_qps'\]"):
        audit({"name": "x", "peak_qps": 100})
    with pytest.raises(ValueError, match="peak_rps must be a number > 0"):
        audit({"name": "x", "peak_rps": math.nan})
    assert audit({"name": "x", "peak_rps": 100.0}) == audit(Architecture("x", 100.0))
    with pytest.raises(TypeError, match="Architecture"):
        audit(None)
