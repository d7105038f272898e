"""Spreading home timelines over a Redis Cluster: bucket hash tags and per-node dispatch.

A Redis Cluster puts a key on the node that owns its hash slot, and a Lua script may only
touch keys of one slot. So home timelines are grouped into buckets: user ``u`` lives in
bucket ``u % buckets``, and every key of a bucket carries the same ``{hash tag}``. One
script call then covers one bucket's followers, and the buckets' tags are chosen so that
their slots are spread evenly over the slot space, hence over every node. Fan-out sends
each node its own buckets, all nodes at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import redis
from redis.cluster import RedisCluster

from scalekit.routers.slots import SLOT_COUNT as SLOTS
from scalekit.routers.slots import cluster_slot

CALLS_PER_TRIP = 8


def bucket_tags(prefix: str, buckets: int) -> list[str]:
    """One hash tag per bucket, bucket ``k``'s slot in the ``k``-th of ``buckets`` equal slot ranges.

    Candidate tags ``<prefix>:t<j>`` are tried for ``j = 0, 1, ...`` and each range keeps
    the first one that lands in it, so the tags are the same every time, the buckets cover
    the slot space evenly (a cluster that splits its slots evenly then holds an equal share
    of buckets on every node), and filling every range takes about ``buckets * ln(buckets)``
    tries, not ``buckets`` tries per bucket.
    """
    if isinstance(buckets, bool) or not isinstance(buckets, int) or not 1 <= buckets <= SLOTS:
        raise ValueError(f"buckets must be a whole number from 1 to {SLOTS}, got {buckets!r}")
    tags: list[str | None] = [None] * buckets
    missing, j = buckets, 0
    while missing:
        tag = f"{prefix}:t{j}"
        k = cluster_slot(tag) * buckets // SLOTS
        if tags[k] is None:
            tags[k], missing = tag, missing - 1
        j += 1
    return [tag for tag in tags if tag is not None]


def is_cluster(client: Any) -> bool:
    """True for a redis-py Redis Cluster client."""
    return isinstance(client, RedisCluster)


def dispatch(client: redis.Redis, calls: Sequence[tuple[list[str], list[Any]]], script: Any) -> int:
    """Run ``script`` once per ``(keys, args)`` call; return the round trips used.

    On one server the calls go one per round trip. On a Redis Cluster each node gets a
    thread that sends its own calls in pipelines of ``CALLS_PER_TRIP``, so the nodes work
    in parallel; the round trips of all nodes are added up.
    """
    if not calls:
        return 0
    if not is_cluster(client):
        for keys, args in calls:
            script(keys=keys, args=args)
        return len(calls)
    by_node: dict[str, list[tuple[list[str], list[Any]]]] = {}
    nodes: dict[str, Any] = {}
    for keys, args in calls:
        node = client.get_node_from_key(keys[0])
        by_node.setdefault(node.name, []).append((keys, args))
        nodes[node.name] = node

    def send(name: str) -> int:
        connection = client.get_redis_connection(nodes[name])
        own = by_node[name]
        for start in range(0, len(own), CALLS_PER_TRIP):
            with connection.pipeline(transaction=False) as pipe:
                for keys, args in own[start : start + CALLS_PER_TRIP]:
                    script(keys=keys, args=args, client=pipe)
                pipe.execute()
        return -(-len(own) // CALLS_PER_TRIP)

    with ThreadPoolExecutor(max_workers=len(by_node)) as pool:
        return sum(pool.map(send, sorted(by_node)))


def node_shares(client: Any, keys: Sequence[str]) -> dict[str, int]:
    """How many of ``keys`` each node of a Redis Cluster holds (its ``host:port`` -> count)."""
    counts = {node.name: 0 for node in client.get_primaries()}
    for key in keys:
        counts[client.get_node_from_key(key).name] += 1
    return counts


def group_calls(
    users: Sequence[str], bucket_of: Callable[[str], int], chunk: int
) -> dict[int, list[list[str]]]:
    """``users`` grouped by bucket, each bucket cut into chunks of at most ``chunk``."""
    grouped: dict[int, list[str]] = {}
    for user in users:
        grouped.setdefault(bucket_of(user), []).append(user)
    return {
        bucket: [members[start : start + chunk] for start in range(0, len(members), chunk)]
        for bucket, members in sorted(grouped.items())
    }
