"""The claims ledger: every verdict is pinned, so a change to scalekit that flips one fails here."""

from __future__ import annotations

from pathlib import Path

import pytest

from scalekit import ledger
from scalekit import patterns_table as pt
from scalekit.ledger import ASSUMED, HOLDS, WRONG, Finding

EXPECTED = {
    "black_friday_smooth": ASSUMED,
    "user_growth": ASSUMED,
    "pay_for_use": ASSUMED,
    "vertical_8000": ASSUMED,
    "horizontal_4000": HOLDS,
    "vertical_cost": ASSUMED,
    "horizontal_cost": HOLDS,
    "vertical_limit": ASSUMED,
    "horizontal_unlimited": ASSUMED,
    "zero_downtime": ASSUMED,
    "high_availability": HOLDS,
    "replicas_3x": ASSUMED,
    "replica_90": HOLDS,
    "get_shard": HOLDS,
    "shard_labels": ASSUMED,
    "hash_even": HOLDS,
    "hash_rebalance": HOLDS,
    "range_add": HOLDS,
    "range_hotspot": HOLDS,
    "geo_uneven": HOLDS,
    "independent_scaling": ASSUMED,
    "fault_isolation": HOLDS,
    "cpu_40": WRONG,
    "cpu_50": WRONG,
    "group_2_20": ASSUMED,
    "plus_2": ASSUMED,
    "no_flapping": HOLDS,
    "total_hit_98": HOLDS,
    "latency_5ms": WRONG,
    "latency_7_4": ASSUMED,
    "db_200": HOLDS,
    "db_50x": HOLDS,
    "instant_response": HOLDS,
    "celebrity_5_min": ASSUMED,
    "hybrid_1000": ASSUMED,
    "ten_x_servers": HOLDS,
    "ramp_15_min": ASSUMED,
    "replicas_20": HOLDS,
    "hit_99": ASSUMED,
    "q2_50": WRONG,
    "q2_20x": WRONG,
    "q4_sessions": HOLDS,
    "q5_replicas": ASSUMED,
    "q5_uptime": ASSUMED,
    "q5_cost": WRONG,
    "summary_replicas": ASSUMED,
    "summary_sharding": ASSUMED,
    "summary_caching": ASSUMED,
    "summary_queues": ASSUMED,
    "summary_autoscaling": ASSUMED,
    "summary_cdn": ASSUMED,
}

ROWS = {row["key"]: row for row in ledger.ledger()}


def test_every_claim_has_a_pinned_verdict():
    assert set(ROWS) == set(EXPECTED), "a claim was added or removed: pin its verdict here"
    assert len(ROWS) >= 30


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_verdict(key):
    row = ROWS[key]
    assert row["verdict"] == EXPECTED[key], f"{key}: {row['claim']!r} now computes {row['computed']!r}"


def test_rows_are_complete_and_name_an_existing_notebook():
    notebooks = Path(__file__).resolve().parent.parent / "notebooks"
    for key, row in ROWS.items():
        assert row["claim"] and row["where in the outline"] and row["computed"], key
        assert (row["assumption"] != "") == (row["verdict"] == ASSUMED), key
        if row["notebook"] != pt.NOTEBOOKS["09"]:
            assert (notebooks / row["notebook"]).exists(), row["notebook"]


def test_keys_are_unique_and_claims_keep_the_outline_order():
    keys = [claim.key for claim in ledger.CLAIMS]
    assert len(keys) == len(set(keys))
    assert keys[0] == "black_friday_smooth" and keys[-1] == "summary_cdn"


def test_verdict_follows_from_the_two_booleans():
    assert Finding("x", True, False).verdict == HOLDS
    assert Finding("x", True, True).verdict == HOLDS
    assert Finding("x", False, True, "if so").verdict == ASSUMED
    assert Finding("x", False, False).verdict == WRONG


def test_ledger_is_deterministic():
    assert ledger.ledger() == list(ROWS.values())


def test_frame_has_one_row_per_claim_and_full_text():
    frame = ledger.ledger_frame()
    assert list(frame.index) == [claim.key for claim in ledger.CLAIMS]
    assert list(frame.columns) == [
        "claim",
        "where in the outline",
        "computed",
        "verdict",
        "assumption",
        "notebook",
    ]


def test_patterns_table_links_each_row_to_its_notebook():
    table = pt.patterns_table()
    assert len(table) == 7
    assert table["notebook"].str.match(r"^\[\d\d\]\(\d\d_[a-z_]+\.ipynb\)$").all()
    markdown = pt.as_markdown(table)
    assert markdown.count("\n") == len(table) + 1 and "[03](03_database_scaling.ipynb)" in markdown


def test_patterns_table_numbers_agree_with_the_ledger():
    replicas = pt.replica_speedups()
    assert replicas["3 replicas"] < 3 <= replicas["3 replicas, free replay"]
    assert replicas["20 replicas, free replay"] == pytest.approx(replicas["write cap"])
    assert pt.shard_write_scaling() == pytest.approx({"hash": 4.0, "range": 1.0})
    assert pt.cache_speedup(0.0) == pytest.approx(1.0)
    assert pt.cdn_speedup(8_000) > pt.cdn_speedup(1_000) > 1


def _verdict(key: str) -> str:
    return next(c for c in ledger.CLAIMS if c.key == key).compute().verdict


def test_a_model_change_flips_verdicts(monkeypatch):
    """The pins bite: change a model the claims rely on and their verdicts move."""
    from scalekit import autoscale, models

    monkeypatch.setattr(
        models, "SCALE_OUT", models.SCALE_OUT.__class__(**{**vars(models.SCALE_OUT), "contention": 0.0})
    )
    assert _verdict("user_growth") == HOLDS
    assert _verdict("horizontal_unlimited") == HOLDS
    monkeypatch.setattr(
        autoscale, "rescaled_utilisation", lambda cpu, before, after: cpu * before / (after + 1)
    )
    assert _verdict("cpu_40") == HOLDS


def test_the_uptime_chain_needs_its_spares(monkeypatch):
    from scalekit import models

    real = models.k_of_n_availability
    monkeypatch.setattr(models, "k_of_n_availability", lambda k, n, p: real(n, n, p))
    assert _verdict("q5_uptime") == WRONG
