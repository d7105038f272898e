"""The Redis server's clock: one time line for every process that shares a queue.

A lease is a deadline written by one process (the worker that reserves or extends a job)
and read by another (the worker that reaps). If each reads its own wall clock, the two
clocks must agree to well within the lease: a worker whose clock runs a lease behind
writes deadlines that are already past for everyone else, so its jobs are taken away
while it works on them, heartbeat or not. NTP usually keeps machines within milliseconds,
but a VM paused and resumed, or a clock stepped by hand, can be off by minutes.

``ServerClock`` asks Redis (``TIME``) instead, so every process reads the same clock
whatever its own says, at the cost of one round trip per reading.
"""

from __future__ import annotations

import time

import redis
from redis.cluster import RedisCluster


class ServerClock:
    """``now()`` is the Redis server's time in seconds since the epoch; ``sleep`` is local.

    On Redis Cluster, pass ``key`` (e.g. the queue's prefix) to read the clock of the node
    that holds it, since each node has its own.
    """

    def __init__(self, client: redis.Redis, key: str | None = None) -> None:
        self.client, self.key = client, key

    def now(self) -> float:
        if isinstance(self.client, RedisCluster):
            node = self.client.get_node_from_key(self.key) if self.key else self.client.get_default_node()
            seconds, micros = self.client.time(target_nodes=node)
        else:
            seconds, micros = self.client.time()
        return int(seconds) + int(micros) / 1e6

    time = now

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def __repr__(self) -> str:
        return "ServerClock()"
