"""The limiters on a real Redis Cluster: each client's keys in one slot, clients spread over the nodes."""

from __future__ import annotations

import uuid

import numpy as np
from redis.cluster import RedisCluster

from scalekit.clock import SimClock
from scalekit.limits import (
    GCRA,
    FixedWindow,
    FixedWindowModel,
    GCRAModel,
    SlidingLog,
    SlidingLogModel,
    TokenBucket,
    TokenBucketModel,
)


def test_limiters_on_a_cluster_match_their_models(redis_cluster_url):
    client = RedisCluster.from_url(redis_cluster_url, decode_responses=True)
    prefix = f"test-limits-{uuid.uuid4().hex[:12]}"
    clients = [f"user{n}" for n in range(12)]
    clock = SimClock(1_000.0)
    limiters = [
        (TokenBucket(client, prefix + ":tb", 5.0, 4, clock=clock), lambda: TokenBucketModel(5.0, 4)),
        (GCRA(client, prefix + ":gcra", 5.0, 4, clock=clock), lambda: GCRAModel(5.0, 4)),
        (FixedWindow(client, prefix + ":fw", 4, 1.0, clock=clock), lambda: FixedWindowModel(4, 1.0)),
        (SlidingLog(client, prefix + ":sl", 4, 1.0, clock=clock), lambda: SlidingLogModel(4, 1.0)),
    ]
    models = [{who: make() for who in clients} for _, make in limiters]
    rng = np.random.default_rng(7)
    written: set[str] = set()
    try:
        for gap, who in zip(
            rng.exponential(0.05, 400).tolist(), rng.choice(clients, 400).tolist(), strict=True
        ):
            clock.advance(gap)
            for (limiter, _), per_client in zip(limiters, models, strict=True):
                assert limiter.check(who) == per_client[who].check(clock.now())
                written.add(
                    limiter.window_key(who, clock.now())
                    if isinstance(limiter, FixedWindow)
                    else limiter.key(who)
                )
        nodes = {client.get_node_from_key(key).name for key in written}
        assert len(nodes) > 1, "different clients should land on different nodes"
    finally:
        for key in list(client.scan_iter(match=f"{prefix}:*")):
            client.delete(key)
        client.close()
