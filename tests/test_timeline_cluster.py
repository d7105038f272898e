"""Timelines spread over a Redis Cluster by bucket hash tags: same reads, every node a fair share."""

from __future__ import annotations

import time
import uuid

import numpy as np
import pytest

from scalekit import workload
from scalekit.routers.slots import cluster_slot
from scalekit.timeline import CLUSTER_BUCKETS, Timeline, bucket_tags, node_shares


def test_bucket_tags_cover_the_slot_space_evenly():
    tags = bucket_tags("feed", 48)
    assert tags == bucket_tags("feed", 48)
    slots = [cluster_slot(tag) for tag in tags]
    assert [slot * 48 // 16384 for slot in slots] == list(range(48))


def test_bucketed_keys_stay_under_the_prefix_and_group_by_bucket(redis, ns):
    timeline = Timeline(redis, ns.prefix, strategy="write", buckets=4)
    assert timeline.home_key(5).startswith(f"{ns.prefix}:{{")
    assert cluster_slot(timeline.home_key(5)) == cluster_slot(timeline.home_key(9))
    assert cluster_slot(timeline.home_key(5)) != cluster_slot(timeline.home_key(6))
    assert cluster_slot(timeline.key("followers", 1)) == cluster_slot(timeline.key("counts"))
    timeline.load_graph(np.full(10, 99), np.arange(10))
    receipt = timeline.post(99, "hi", 1.0)
    assert receipt.fanned_out == 10 and receipt.commands == 6 + 4
    assert timeline.delivered(receipt.post_id, range(12)) == 10
    assert all(key.startswith(f"{ns.prefix}:") for key in ns.keys())


def test_braces_in_a_bucketed_prefix_are_refused(redis):
    with pytest.raises(ValueError, match="without braces"):
        Timeline(redis, "{feed}", buckets=4)


@pytest.fixture
def cluster(redis_cluster_url):
    from redis.cluster import RedisCluster

    client = RedisCluster.from_url(redis_cluster_url, decode_responses=True)
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    yield client, prefix
    for key in list(client.scan_iter(match=f"{prefix}:*", count=1000)):
        client.delete(key)
    client.close()


def test_cluster_reads_match_a_single_server_and_every_node_holds_a_fair_share(cluster, redis, ns):
    client, prefix = cluster
    counts = workload.follower_counts(400, exponent=2.1, maximum=399, seed=11)
    followees, followers = workload.follower_graph(counts, seed=12)
    spread = Timeline(client, prefix, strategy="hybrid", threshold=60)
    single = Timeline(redis, ns.prefix, strategy="hybrid", threshold=60)
    assert spread.buckets == CLUSTER_BUCKETS and single.buckets == 1
    for timeline in (spread, single):
        timeline.load_graph(followees, followers)
        for user in range(400):
            timeline.post(user, f"from {user}", float(user % 37))
    for user in range(400):
        assert [p.id for p in spread.read(user, limit=50)] == [p.id for p in single.read(user, limit=50)]
    homes = [spread.home_key(user) for user in range(400) if client.exists(spread.home_key(user))]
    shares = node_shares(client, homes)
    assert len(shares) >= 3
    fair = len(homes) / len(shares)
    assert min(shares.values()) >= 0.6 * fair, shares


def test_cluster_fan_out_reaches_every_follower(cluster):
    client, prefix = cluster
    timeline = Timeline(client, prefix, strategy="write", capacity=5)
    timeline.load_graph(np.full(3000, 10**6), np.arange(3000))
    receipts = [timeline.post(10**6, "hello", float(ts)) for ts in range(8)]
    assert all(r.fanned_out == 3000 for r in receipts)
    assert timeline.delivered(receipts[-1].post_id, range(3000)) == 3000
    assert [p.id for p in timeline.read(2999, limit=5)] == [r.post_id for r in receipts[::-1][:5]]
    assert max(client.zcard(timeline.home_key(u)) for u in range(0, 3000, 97)) <= 5 + timeline.trim_margin
    assert timeline.follow(5000, 10**6) is True
    assert [p.id for p in timeline.read(5000, limit=5)] == [r.post_id for r in receipts[::-1][:5]]


def test_many_buckets_are_tagged_quickly_and_evenly():
    started = time.perf_counter()
    tags = bucket_tags("feed", 16384)
    assert time.perf_counter() - started < 20
    assert sorted(cluster_slot(tag) for tag in tags) == list(range(16384))


@pytest.mark.parametrize("prefix", ["{}:feed", "x}{y:feed", "{feed", "feed}"])
def test_a_prefix_whose_braces_make_no_hash_tag_is_refused_on_a_cluster(redis_cluster_url, prefix):
    from redis.cluster import RedisCluster

    client = RedisCluster.from_url(redis_cluster_url, decode_responses=True)
    try:
        with pytest.raises(ValueError, match="hash tag"):
            Timeline(client, prefix, buckets=1)
    finally:
        client.close()


@pytest.mark.parametrize("buckets", [0, 16385, 2.0, True])
def test_bucket_tags_refuses_a_bucket_count_outside_the_slot_space(buckets):
    with pytest.raises(ValueError, match="buckets must be a whole number from 1 to 16384"):
        bucket_tags("feed", buckets)
