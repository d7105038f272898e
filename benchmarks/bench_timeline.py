"""Benchmark: timeline fan-out against the server's own write rate, measured in the same run.

One author with FOLLOWERS followers posts; ``Timeline.post`` pushes the post id into every
follower's home timeline. Rows:

* the default ``Timeline.post`` (server-side Lua, lazy trim: one ZADD per follower),
  on fresh home timelines, and with fewer followers on fresh ones and on ones already
  holding ``capacity`` posts (the steady state of a running system: bigger sorted sets,
  and a trim every ``trim_margin`` posts);
* ``server_side=False``: a pipelined ZADD plus an eager ZREMRANGEBYRANK per follower;
* a raw pipelined LPUSH per key from Python;
* the queued fan-out: how long ``QueuedFanout.post`` takes (store + one plan job), and one
  worker's rate through the plan and every batch;
* with ``$REDIS_CLUSTER_URL`` set, the default post on that cluster (buckets spread over
  its nodes, each node fed in parallel).

The reference is ``redis-benchmark -q -P 64 -r 1000000 lpush <key>:__rand_int__ x``
against the same server, run by this script when ``redis-benchmark`` is on the PATH and
``$REDIS_URL`` names a real server. It alternates with the default post, and each keeps
its best of ``REPEATS``, so a busy machine slows both alike. Keys live under prefixes
unique to this run and are deleted afterwards. Run:

    REDIS_URL=redis://127.0.0.1:6379/0 [REDIS_CLUSTER_URL=redis://127.0.0.1:7000/0] \\
        .venv/bin/python benchmarks/bench_timeline.py
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable
from urllib.parse import urlsplit

import numpy as np

from scalekit import backend
from scalekit.queues import JobQueue
from scalekit.timeline import QueuedFanout, Timeline

FOLLOWERS = 50_000
EMBEDDED_FOLLOWERS, EMBEDDED_FULL = 10_000, 200  # fakeredis is a Python program: keep its run short
FULL_FOLLOWERS = 2_000
CHUNK = 1_000
REPEATS = 3
CELEBRITY = 10**9


def best_time(func: Callable[[], object], repeats: int = REPEATS) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - started)
    return best


def redis_benchmark_rate(url: str, client) -> float | None:
    """Requests/s of redis-benchmark's pipelined random-key LPUSH on the server at ``url``."""
    tool = shutil.which("redis-benchmark")
    if tool is None:
        return None
    parts = urlsplit(url)
    tag = f"bench-tl-{uuid.uuid4().hex[:12]}"
    command = [tool, "-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 6379)]
    if parts.password:
        command += ["-a", parts.password, "--no-auth-warning"]
    database = parts.path.strip("/") or "0"
    command += ["--dbnum", database, "-q", "-P", "64", "-r", "1000000"]
    command += ["lpush", f"{tag}:__rand_int__", "x"]
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True).stdout
    finally:
        backend.namespace(tag, client).clear()
    found = re.findall(r"([\d.]+) requests per second", out)
    return float(found[-1]) if found else None


def raw_lpush(client, keys: list[str]) -> None:
    for start in range(0, len(keys), CHUNK):
        with client.pipeline(transaction=False) as pipe:
            for key in keys[start : start + CHUNK]:
                pipe.lpush(key, "0000000001")
            pipe.execute()


def fill_homes(client, timeline: Timeline, users: int) -> None:
    """Give each of ``users`` home timelines ``capacity`` old posts, as in a system that has run a while."""
    script = client.register_script(
        "for _, key in ipairs(KEYS) do for i = 1, tonumber(ARGV[1]) do "
        "redis.call('ZADD', key, -i, string.format('%010d', 9000000000 + i)) end end"
    )
    for start in range(0, users, 200):
        script(
            keys=[timeline.home_key(u) for u in range(start, min(users, start + 200))],
            args=[timeline.capacity],
        )


def post_rate(timeline: Timeline, followers: int, repeats: int = REPEATS) -> float:
    stamps = iter(range(10**6))
    return followers / best_time(lambda: timeline.post(CELEBRITY, "hello", float(next(stamps))), repeats)


def cluster_rate(url: str) -> float:
    from redis.cluster import RedisCluster

    client = RedisCluster.from_url(url, decode_responses=True)
    prefix = f"bench-tl-{uuid.uuid4().hex[:12]}"
    try:
        timeline = Timeline(client, prefix, strategy="write")
        timeline.load_graph(np.full(FOLLOWERS, CELEBRITY), np.arange(FOLLOWERS))
        return post_rate(timeline, FOLLOWERS)
    finally:
        for key in list(client.scan_iter(match=f"{prefix}:*", count=1000)):
            client.delete(key)
        client.close()


def main() -> None:
    global FOLLOWERS, FULL_FOLLOWERS
    client = backend.connect()
    embedded = backend.is_embedded(client)
    if embedded:
        FOLLOWERS, FULL_FOLLOWERS = EMBEDDED_FOLLOWERS, EMBEDDED_FULL
    space = backend.namespace(f"bench-timeline-{uuid.uuid4().hex[:12]}", client)
    try:
        timeline = Timeline(client, space.key("tl"), strategy="write")
        timeline.load_graph(np.full(FOLLOWERS, CELEBRITY), np.arange(FOLLOWERS))
        default, reference = 0.0, None
        for _ in range(REPEATS):
            default = max(default, post_rate(timeline, FOLLOWERS, repeats=1))
            if not embedded:
                rate = redis_benchmark_rate(os.environ[backend.ENV_VAR], client)
                reference = rate if reference is None or rate is None else max(reference, rate)
        timeline.server_side = False
        pipelined = post_rate(timeline, FOLLOWERS)
        fresh = Timeline(client, space.key("fresh"), strategy="write")
        fresh.load_graph(np.full(FULL_FOLLOWERS, CELEBRITY), np.arange(FULL_FOLLOWERS))
        fresh_rate = post_rate(fresh, FULL_FOLLOWERS)
        full = Timeline(client, space.key("full"), strategy="write")
        full.load_graph(np.full(FULL_FOLLOWERS, CELEBRITY), np.arange(FULL_FOLLOWERS))
        fill_homes(client, full, FULL_FOLLOWERS)
        posts, stamps = full.trim_margin, iter(range(10**6))

        def one_trim_cycle() -> None:
            for _ in range(posts):
                full.post(CELEBRITY, "hello", float(next(stamps)))

        full_rate = FULL_FOLLOWERS * posts / best_time(one_trim_cycle)
        keys = [space.key("l", i) for i in range(FOLLOWERS)]
        lpush = FOLLOWERS / best_time(lambda: raw_lpush(client, keys))
        queued = QueuedFanout(
            Timeline(client, space.key("q-tl"), strategy="write"), JobQueue(client, space.key("q"))
        )
        queued.timeline.load_graph(np.full(FOLLOWERS, CELEBRITY), np.arange(FOLLOWERS))
        started = time.perf_counter()
        queued.post(CELEBRITY, "hello", 1.0)
        enqueue_seconds = time.perf_counter() - started
        started = time.perf_counter()
        queued.worker().run()
        worker_rate = FOLLOWERS / (time.perf_counter() - started)
    finally:
        space.clear()
    cluster_url = os.environ.get("REDIS_CLUSTER_URL")
    spread = cluster_rate(cluster_url) if cluster_url else None

    where = "embedded fakeredis" if embedded else "real Redis at $REDIS_URL"
    print(f"{where}: one post to {FOLLOWERS:,} followers, best of {REPEATS}")
    print(
        f"(full homes: {FULL_FOLLOWERS:,} followers, best of {REPEATS} runs of {posts} posts, "
        "each run one trim per home)"
    )
    rows = [
        ("Timeline.post, default (Lua, lazy trim)", default),
        (f"  same, {FULL_FOLLOWERS:,} followers, empty homes", fresh_rate),
        (f"  same, {FULL_FOLLOWERS:,} followers, homes already full", full_rate),
        ("Timeline.post, server_side=False (pipelined)", pipelined),
        ("raw pipelined LPUSH from Python", lpush),
        ("QueuedFanout: one worker draining batches", worker_rate),
    ]
    if spread is not None:
        rows.append(("Timeline.post on the Redis Cluster", spread))
    if reference is not None:
        rows.append(("redis-benchmark -P 64 -r 1000000 lpush", reference))
    print(f"{'':52s}{'followers/s':>14s}")
    for name, rate in rows:
        print(f"{name:52s}{rate:14,.0f}")
    print(
        f"QueuedFanout.post (store + one plan job, {FOLLOWERS:,} followers): {enqueue_seconds * 1e3:.1f} ms"
    )
    print()
    if reference is not None:
        ratio = default / reference
        print(
            f"default fan-out / redis-benchmark LPUSH             = {ratio:5.2f}  (empty homes, target 0.4)"
        )
        print(f"default fan-out, full homes / redis-benchmark LPUSH = {full_rate / reference:5.2f}  (steady)")
        print(f"pipelined fan-out / redis-benchmark LPUSH           = {pipelined / reference:5.2f}")
    else:
        print("redis-benchmark ratio: needs $REDIS_URL (a real server) and redis-benchmark on the PATH")
    print(f"default fan-out / Python pipelined LPUSH            = {default / lpush:5.2f}")
    if spread is not None:
        print(f"cluster fan-out / single-server fan-out             = {spread / default:5.2f}  (report only)")
    print(f"full homes / empty homes, {FULL_FOLLOWERS:,} followers each   = {full_rate / fresh_rate:5.2f}")
    print(f"50M followers at the default rate: {50e6 / default / 60:.1f} minutes (outline: 5)")
    print(f"50M followers at the full-homes rate: {50e6 / full_rate / 60:.1f} minutes")


if __name__ == "__main__":
    main()
