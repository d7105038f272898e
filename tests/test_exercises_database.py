"""Notebook 03's exercise checks: right answers pass, typical wrong ones are explained, never "Correct"."""

from __future__ import annotations

from bisect import bisect_right

import pytest

from scalekit.exercises import database as ex
from scalekit.routers import stable_hash


def points(nodes, vnodes):
    return sorted((stable_hash(f"{node}#{i}"), str(node), node) for node in nodes for i in range(vnodes))


def ring(key, nodes, vnodes=16):
    placed = points(nodes, vnodes)
    index = bisect_right([p for p, _, _ in placed], stable_hash(key))
    return placed[index % len(placed)][2]


def modulo(key, nodes, vnodes=16):
    return nodes[stable_hash(key) % len(nodes)]


def no_wrap(key, nodes, vnodes=16):
    placed = points(nodes, vnodes)
    return placed[bisect_right([p for p, _, _ in placed], stable_hash(key))][2]


def one_point(key, nodes, vnodes=16):
    return ring(key, nodes, 1)


def point_before(key, nodes, vnodes=16):
    placed = points(nodes, vnodes)
    return placed[bisect_right([p for p, _, _ in placed], stable_hash(key)) - 1][2]


def python_hash(key, nodes, vnodes=16):
    placed = sorted((hash(f"{node}#{i}") & (2**64 - 1), node) for node in nodes for i in range(vnodes))
    index = bisect_right([p for p, _ in placed], hash(key) & (2**64 - 1))
    return placed[index % len(placed)][1]


def right_on_first_layout_only(key, nodes, vnodes=16):
    return ring(key, nodes, vnodes) if len(nodes) == 3 else nodes[0]


def wrap_to_first_node(key, nodes, vnodes=16):
    """Past the last point it goes to nodes[0], not to the owner of the smallest point."""
    placed = points(nodes, vnodes)
    index = bisect_right([p for p, _, _ in placed], stable_hash(key))
    return placed[index][2] if index < len(placed) else nodes[0]


def stub(key, nodes, vnodes=16): ...


def verdict(feedback) -> str:
    return repr(feedback)


def test_ring_build_it_accepts_a_ring() -> None:
    feedback = ex.check_node_for(ring)
    assert feedback and "every one of them to the newcomer" in verdict(feedback)


@pytest.mark.parametrize(
    ("func", "says"),
    [
        (modulo, "hash(key) % n"),
        (no_wrap, "wrap around"),
        (wrap_to_first_node, "wraps around to the owner of the smallest point"),
        (one_point, "Place every node at 16 points"),
        (point_before, "point before the key"),
        (python_hash, "returned"),
        (right_on_first_layout_only, "['alpha', 'beta', 'gamma', 'delta', 'epsilon']"),
        (stub, "not finished"),
        (None, "define node_for"),
        ("node_for", "pass the function itself"),
    ],
)
def test_ring_build_it_explains_wrong_versions(func, says) -> None:
    feedback = ex.check_node_for(func)
    assert not feedback
    assert verdict(feedback).startswith("Not yet") and says in verdict(feedback)


def test_a_ring_that_moves_keys_between_old_nodes_is_caught() -> None:
    """Right on every fixed layout, but reshuffles old nodes when db-4 joins."""

    def sneaky(key, nodes, vnodes=16):
        if "db-4" in nodes:
            return nodes[stable_hash(key) % len(nodes)]
        return ring(key, nodes, vnodes)

    feedback = ex.check_node_for(sneaky)
    assert not feedback and "only ever moves to the node that joined" in verdict(feedback)


def test_same_slot_by_luck_without_a_tag_is_not_correct() -> None:
    """Two untagged keys whose slots happen to collide share a slot by luck, not by design."""
    from scalekit.routers import cluster_slot

    target = cluster_slot("cart:42")
    profile = next(f"profile:42:{i}" for i in range(200_000) if cluster_slot(f"profile:42:{i}") == target)
    feedback = ex.check_same_slot(("cart:42", profile))
    assert not feedback and "by luck" in verdict(feedback)


def test_ring_build_it_names_a_wrong_signature() -> None:
    def two_arguments(key, nodes):
        return ring(key, nodes)

    feedback = ex.check_node_for(two_arguments)
    assert not feedback and "Keep the signature" in verdict(feedback)


def test_shard_key_judgement_explains_every_wrong_choice() -> None:
    right = ex.check_shard_key("conversation_id")
    assert right and "conversation" not in verdict(right)
    for choice, reason in [
        ("message_id", "scatter-gather"),
        ("created_at", "hot shard"),
        ("sender_country", "uneven"),
    ]:
        feedback = ex.check_shard_key(choice)
        assert not feedback and reason in verdict(feedback)
    assert "one of the column names" in verdict(ex.check_shard_key("user_id"))
    assert "replace the `...`" in verdict(ex.check_shard_key(...))


def test_same_slot() -> None:
    right = ex.check_same_slot(("cart:{user:42}", "profile:{user:42}"))
    assert right and "slot" in verdict(right)
    for wrong, says in [
        (("cart:user:42", "profile:user:42"), "hash tag"),
        (("cart:{user:42}", "cart:{user:42}"), "same key"),
        (("cart:{user:7}", "profile:{user:7}"), "user 42"),
        ("cart:{42}", "pair of key names"),
        # a tag that shares a slot but names another user, or no user at all: every user's keys
        # would pile onto one slot
        (("cart:{420}", "profile:{420}"), "names 420"),
        (("cart:42:{user}", "profile:42:{user}"), "does not name user 42"),
        (("cart{x}42", "profile{x}42"), "does not name user 42"),
        # tags on both keys whose text differs
        (("cart:{42:cart}", "profile:{42:profile}"), "text inside them differs"),
        (("cart:\ud800:42", "profile:42"), "lone surrogate"),
    ]:
        feedback = ex.check_same_slot(wrong)
        assert not feedback and says in verdict(feedback)


def test_shard_key_reads_the_column_whatever_its_case() -> None:
    assert ex.check_shard_key(" Conversation_ID ")
    assert "one hot shard" in verdict(ex.check_shard_key("Created_at"))
