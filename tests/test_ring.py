"""ConsistentHashRing: who owns a key, what moves when nodes come and go, against uhashring."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from uhashring import HashRing

from scalekit.routers import ConsistentHashRing, HashSharding, load_spread, moved_fraction, stable_hash

KEYS = [f"user:{i}" for i in range(20_000)]
node_names = st.lists(
    st.text(alphabet="abcdefgh0123456789", min_size=1, max_size=6), min_size=1, max_size=6, unique=True
)
key_lists = st.lists(st.one_of(st.text(max_size=20), st.integers()), min_size=1, max_size=200)


@settings(max_examples=60)
@given(nodes=node_names, new=st.text(alphabet="xyz", min_size=1, max_size=4), keys=key_lists)
def test_adding_a_node_moves_keys_only_to_it(nodes, new, keys):
    ring = ConsistentHashRing(nodes, vnodes=20)
    before = {key: ring.node_for(key) for key in keys}
    ring.add_node(new)
    for key in keys:
        after = ring.node_for(key)
        assert after in (before[key], new)


@settings(max_examples=60)
@given(nodes=node_names.filter(lambda n: len(n) >= 2), keys=key_lists, data=st.data())
def test_removing_a_node_moves_only_its_keys(nodes, keys, data):
    ring = ConsistentHashRing(nodes, vnodes=20)
    gone = data.draw(st.sampled_from(nodes))
    before = {key: ring.node_for(key) for key in keys}
    ring.remove_node(gone)
    for key in keys:
        after = ring.node_for(key)
        assert after != gone
        if before[key] != gone:
            assert after == before[key]


@settings(max_examples=60)
@given(nodes=node_names, keys=key_lists)
def test_every_key_maps_to_exactly_one_node_of_the_ring(nodes, keys):
    ring = ConsistentHashRing(nodes, vnodes=8)
    for key in keys:
        assert ring.node_for(key) in nodes
        assert ring.node_for(key) == ring.node_for(key)


def test_ring_does_not_depend_on_node_order():
    one = ConsistentHashRing(["a", "b", "c"], vnodes=50)
    two = ConsistentHashRing(["c", "a", "b"], vnodes=50)
    assert all(one.node_for(k) == two.node_for(k) for k in KEYS[:2000])


def test_ownership_matches_sampled_keys():
    ring = ConsistentHashRing(["a", "b", "c", "d"], vnodes=10)
    share = ring.ownership()
    assert sum(share.values()) == pytest.approx(1.0)
    counts = {node: 0 for node in ring.nodes}
    for key in KEYS:
        counts[ring.node_for(key)] += 1
    for node in ring.nodes:
        assert counts[node] / len(KEYS) == pytest.approx(share[node], abs=0.015)


def test_more_vnodes_spread_load_more_evenly():
    nodes = [f"db{i}" for i in range(8)]
    spreads = [load_spread(ConsistentHashRing(nodes, vnodes=v).ownership().values()) for v in (1, 16, 256)]
    assert spreads[0] > spreads[1] > spreads[2]
    assert spreads[2] < 1.15


def test_ring_moves_about_one_in_n_plus_one_versus_modulo():
    four = ConsistentHashRing([f"s{i}" for i in range(4)], vnodes=160)
    five = ConsistentHashRing([f"s{i}" for i in range(5)], vnodes=160)
    ring_moved = moved_fraction(KEYS, four.node_for, five.node_for)
    modulo_moved = moved_fraction(KEYS, HashSharding(4).shard_for, HashSharding(5).shard_for)
    assert 0.15 < ring_moved < 0.25
    assert 0.77 < modulo_moved < 0.83


def test_moved_fraction_agrees_with_uhashring():
    nodes = [f"node-{i}" for i in range(10)]
    ours_before, theirs_before = ConsistentHashRing(nodes, vnodes=160), HashRing(nodes, vnodes=160)
    ours_after, theirs_after = ConsistentHashRing(nodes, vnodes=160), HashRing(nodes, vnodes=160)
    ours_after.add_node("node-10")
    theirs_after.add_node("node-10")
    ours = moved_fraction(KEYS, ours_before.node_for, ours_after.node_for)
    theirs = moved_fraction(KEYS, theirs_before.get_node, theirs_after.get_node)
    assert ours == pytest.approx(1 / 11, abs=0.02)
    assert ours == pytest.approx(theirs, abs=0.02)
    moved_to = {ours_after.node_for(k) for k in KEYS if ours_before.node_for(k) != ours_after.node_for(k)}
    assert moved_to == {"node-10"}


def test_int_keys_route_like_their_decimal_text():
    ring = ConsistentHashRing(["a", "b", "c"], vnodes=16)
    assert all(ring.node_for(i) == ring.node_for(str(i)) for i in range(500))


def test_node_for_is_the_first_point_clockwise_from_stable_hash():
    """An independent model of the documented rule: points at stable_hash(f"{node}#{i}")."""
    nodes = ["a", "b", 3]
    ring = ConsistentHashRing(nodes, vnodes=8)
    points = sorted((stable_hash(f"{node}#{i}"), node) for node in nodes for i in range(8))
    for key in [*KEYS[:300], b"raw bytes", 12345, "ünïcode"]:
        h = stable_hash(key)
        expected = next((node for point, node in points if point > h), points[0][1])
        assert ring.node_for(key) == expected


def test_bad_input_is_explained_and_leaves_the_ring_intact():
    with pytest.raises(ValueError, match="at least one node"):
        ConsistentHashRing([])
    with pytest.raises(ValueError, match="vnodes must be >= 1"):
        ConsistentHashRing(["a"], vnodes=0)
    with pytest.raises(TypeError, match="vnodes must be an int"):
        ConsistentHashRing(["a"], vnodes=1.5)
    with pytest.raises(TypeError, match="node names must be str or int"):
        ConsistentHashRing([("a", 1)])
    ring = ConsistentHashRing(["a", 1], vnodes=4)
    with pytest.raises(ValueError, match="already on the ring"):
        ring.add_node("1")
    with pytest.raises(KeyError, match="node 'z' is not on the ring"):
        ring.remove_node("z")
    with pytest.raises(TypeError, match="routing keys must be str, bytes or int"):
        ring.node_for(2.5)
    assert ring.nodes == ("a", 1)
    ring.remove_node(1)
    with pytest.raises(ValueError, match="last node"):
        ring.remove_node("a")
    assert ring.node_for("anything") == "a"


def test_numpy_integers_are_accepted_like_ints():
    import numpy as np

    ring = ConsistentHashRing(["a", "b", "c"], vnodes=np.int64(8))
    assert ring.vnodes == 8 and type(ring.vnodes) is int
    assert ring.node_for(np.int64(12345)) == ring.node_for(12345) == ring.node_for("12345")


def test_lookups_during_joins_and_leaves_see_a_whole_ring():
    """Readers in threads never see new points with old owners (an IndexError or a stray node)."""
    import threading

    ring = ConsistentHashRing([f"n{i}" for i in range(4)], vnodes=64)
    stop = threading.Event()
    errors: list[str] = []

    def read() -> None:
        while not stop.is_set():
            for key in KEYS[:200]:
                try:
                    owner = ring.node_for(key)
                    share = ring.ownership()
                except Exception as error:  # collected for the main thread
                    errors.append(repr(error))
                    return
                if not owner.startswith("n") or abs(sum(share.values()) - 1) > 1e-9:
                    errors.append(f"{key!r} -> {owner!r}, shares sum to {sum(share.values())}")
                    return

    readers = [threading.Thread(target=read) for _ in range(3)]
    for reader in readers:
        reader.start()
    for step in range(40):
        ring.add_node(f"n{4 + step % 3}") if len(ring) == 4 else ring.remove_node(ring.nodes[-1])
    stop.set()
    for reader in readers:
        reader.join()
    assert errors == []


def test_numpy_integer_nodes_are_the_same_node_as_the_int():
    import numpy as np

    ring = ConsistentHashRing([np.int64(1), 2], vnodes=4)
    assert ring.nodes == (1, 2) and type(ring.nodes[0]) is int
    with pytest.raises(ValueError, match="already on the ring"):
        ring.add_node(np.int32(2))


def test_a_string_of_node_names_is_refused_not_split_into_letters() -> None:
    with pytest.raises(TypeError, match="list of node names"):
        ConsistentHashRing("abc")
