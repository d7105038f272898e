"""cluster_slot: CRC16/XMODEM mod 16384 with hash tags, against redis-py and a real cluster."""

from __future__ import annotations

import itertools

import pytest
import redis
from hypothesis import given, settings
from hypothesis import strategies as st
from redis.crc import key_slot

from scalekit.routers import cluster_slot, crc16_xmodem, hash_tag, master_for_slot, slot_ranges
from scalekit.routers.slots import has_hash_tag

TRICKY = [
    "",
    "{",
    "}",
    "{}",
    "{}{}",
    "}{",
    "foo{}bar",
    "foo{}{bar}",
    "foo{{bar}}zap",
    "foo{bar}{zap}",
    "{user1000}.following",
    "{user1000}.followers",
    "user:{42}:profile",
    "user:{42}:posts",
    "a{b",
    "a}b{c",
    "{{}}",
    "{ }",
    "ключ{42}",
    "emoji{🙂}",
    "123456789",
]
text_keys = st.text(alphabet=st.sampled_from(list("ab{}:1é🙂 ")), max_size=12) | st.text(max_size=20)


def test_crc16_xmodem_check_value():
    assert crc16_xmodem(b"123456789") == 0x31C3


def test_known_slots_from_the_cluster_spec():
    assert cluster_slot("123456789") == 0x31C3 % 16384 == 12739
    assert cluster_slot("{user1000}.following") == cluster_slot("{user1000}.followers")
    assert cluster_slot("foo{}{bar}") == cluster_slot(b"foo{}{bar}")
    assert hash_tag("foo{}{bar}") == b"foo{}{bar}"
    assert hash_tag("foo{{bar}}zap") == b"{bar"
    assert hash_tag("foo{bar}{zap}") == b"bar"


@pytest.mark.parametrize("key", TRICKY)
def test_tricky_keys_match_redis_py(key):
    assert cluster_slot(key) == key_slot(key.encode()) == cluster_slot(key.encode())


@settings(max_examples=400)
@given(key=text_keys)
def test_any_text_key_matches_redis_py(key):
    assert cluster_slot(key) == key_slot(key.encode("utf-8"))


@settings(max_examples=200)
@given(key=st.binary(max_size=30))
def test_any_bytes_key_matches_redis_py(key):
    assert cluster_slot(key) == key_slot(key)


@given(
    tag=st.text(min_size=1, max_size=10).filter(lambda t: "}" not in t), a=st.text(max_size=5), b=st.text()
)
@settings(max_examples=100)
def test_keys_sharing_a_tag_share_a_slot(tag, a, b):
    a = a.replace("{", "")
    assert cluster_slot(f"{a}{{{tag}}}{b}") == cluster_slot(tag)


@pytest.mark.parametrize("bad", [42, 4.2, None, ["k"]])
def test_non_key_types_are_rejected(bad):
    with pytest.raises(TypeError, match="a Redis key must be str or bytes"):
        cluster_slot(bad)


def test_slot_ranges_cover_every_slot_once():
    assert slot_ranges(3) == [(0, 5460), (5461, 10922), (10923, 16383)]
    for masters in (1, 2, 5, 7, 100):
        ranges = slot_ranges(masters)
        assert ranges[0][0] == 0 and ranges[-1][1] == 16383
        assert all(prev[1] + 1 == nxt[0] for prev, nxt in itertools.pairwise(ranges))
    assert [master_for_slot(s, 3) for s in (0, 5460, 5461, 16383)] == [0, 0, 1, 2]
    with pytest.raises(ValueError, match="masters must be between 1 and 16384"):
        slot_ranges(0)
    with pytest.raises(ValueError, match="slot must be an int from 0 to 16383"):
        master_for_slot(16384, 3)


def test_cluster_keyslot_on_a_real_cluster(redis_cluster_url):
    client = redis.Redis.from_url(redis_cluster_url, decode_responses=True)
    try:
        keys = TRICKY + [f"user:{{{i}}}:posts" for i in range(50)] + [f"k{i}" for i in range(200)]
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.execute_command("CLUSTER KEYSLOT", key)
        assert pipe.execute() == [cluster_slot(key) for key in keys]
    finally:
        client.close()


def test_slot_ranges_match_the_real_clusters_masters(redis_cluster_url):
    client = redis.Redis.from_url(redis_cluster_url, decode_responses=True)
    try:
        served = sorted((int(lo), int(hi)) for lo, hi, *_ in client.execute_command("CLUSTER SLOTS"))
    finally:
        client.close()
    assert served == slot_ranges(len(served))


def test_same_slot_exercise_check():
    from scalekit.exercises.database import check_same_slot

    assert check_same_slot(("cart:{user:42}", "profile:{user:42}"))
    assert "without a hash tag" in repr(check_same_slot(("cart:42", "profile:42")))
    assert "same key" in repr(check_same_slot(("{42}cart profile", "{42}cart profile")))
    assert "pair of key names" in repr(check_same_slot("cart:{42}"))


def test_numpy_integers_and_broken_text_are_handled():
    import numpy as np

    from scalekit.routers import stable_hash

    assert master_for_slot(np.int64(5), np.int64(3)) == 0
    assert slot_ranges(np.int32(3)) == slot_ranges(3)
    for call in (lambda: cluster_slot("\ud800"), lambda: stable_hash("bad \udcff")):
        with pytest.raises(ValueError, match="lone surrogate"):
            call()


@given(st.text(alphabet="{}ab:", max_size=8), st.lists(st.text(alphabet="{}xy", max_size=4), max_size=6))
def test_has_hash_tag_says_whether_every_key_under_a_prefix_shares_a_slot(prefix, suffixes):
    """The check the queue, the caches and the timeline make before they accept a cluster prefix."""
    if has_hash_tag(prefix):
        assert len({hash_tag(prefix + suffix) for suffix in ["", *suffixes]}) == 1
    else:
        assert hash_tag(prefix + "{x}") != hash_tag(prefix + "{y}")
