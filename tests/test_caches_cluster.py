"""The Redis cache tiers on Redis Cluster: a prefix without a {hash tag} is refused up front,
and a tagged one works end to end on a real cluster (when REDIS_CLUSTER_URL is set)."""

from __future__ import annotations

import uuid
from unittest import mock

import pytest
from redis.cluster import RedisCluster

from scalekit.caches import CacheAside, ProductStore, WriteBehind, WriteThrough
from scalekit.caches._ttl import check_prefix, has_hash_tag
from scalekit.clock import SimClock

TIERS = {
    "cache-aside": lambda client, store, prefix: CacheAside(client, store, prefix=prefix, clock=SimClock()),
    "write-through": lambda client, store, prefix: WriteThrough(client, store, prefix=prefix),
    "write-behind": lambda client, store, prefix: WriteBehind(client, store, prefix=prefix, clock=SimClock()),
}


def product(price: int) -> dict:
    return {"name": f"p{price}", "price_cents": price, "stock": 1}


@pytest.mark.parametrize(
    ("prefix", "tagged"),
    [("{shop}", True), ("nb05:{shop}:aside", True), ("shop", False), ("{}shop", False), ("shop}{", False)],
)
def test_hash_tag_detection(prefix, tagged):
    assert has_hash_tag(prefix) is tagged


@pytest.mark.parametrize("tier", sorted(TIERS))
def test_untagged_prefix_on_a_cluster_client_is_refused_before_anything_is_written(tier):
    cluster = mock.MagicMock(spec=RedisCluster)
    store = ProductStore()
    with pytest.raises(ValueError, match="hash tag"):
        TIERS[tier](cluster, store, "shop")
    assert store.snapshot() == {} and store.writes == 0
    assert not cluster.method_calls or all(
        name in ("get_connection_kwargs",) for name, *_ in cluster.method_calls
    )
    TIERS[tier](cluster, store, "{shop}")


def test_plain_redis_accepts_any_prefix(redis):
    check_prefix(redis, "shop", "write-through")
    with pytest.raises(ValueError, match="non-empty"):
        check_prefix(redis, "", "write-through")


@pytest.fixture
def cluster(redis_cluster_url):
    client = RedisCluster.from_url(redis_cluster_url, decode_responses=True)
    tag = f"{{test-{uuid.uuid4().hex[:10]}}}"
    yield client, tag
    for node in client.get_primaries():
        keys = list(client.scan_iter(match=f"{tag}*", target_nodes=node))
        for key in keys:
            client.delete(key)
    client.close()


@pytest.mark.parametrize("tier", sorted(TIERS))
def test_tier_on_a_real_cluster(cluster, tier):
    client, tag = cluster
    store = ProductStore()
    with pytest.raises(ValueError, match="hash tag"):
        TIERS[tier](client, store, tag.strip("{}"))
    assert store.snapshot() == {}
    cached = TIERS[tier](client, store, f"{tag}:{tier}")
    for key in range(20):
        cached.put(key, product(key))
    cached.put(3, product(33))
    cached.delete(4)
    if isinstance(cached, WriteBehind):
        assert cached.flush() == 0
    expected = {key: product(key) for key in range(20) if key != 4} | {3: product(33)}
    assert store.snapshot() == expected
    for key in range(20):
        assert cached.get(key) == expected.get(key)
        assert cached.get(key) == expected.get(key)
