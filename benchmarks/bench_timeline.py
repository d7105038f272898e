"""Benchmark: fan-out on write against the server's own pipelined write rate.

One author with FOLLOWERS followers posts; ``Timeline.post`` pushes the post id into
every follower's home timeline (ZADD plus a ZREMRANGEBYRANK cap, pipelined in chunks of
1,000). The references, measured in the same run on the same server, are the raw
pipelined LPUSH rate (one command per key, the floor cost of touching a key) and a raw
pipelined ZADD + ZREMRANGEBYRANK (the same two commands without the service around
them). ``server_side=True`` runs the same two commands in a Lua script, one call per chunk.
Runs on the embedded fakeredis, or on ``$REDIS_URL`` when set; keys live under a
prefix unique to this run (a uuid, so runs sharing a server never clear each other's
keys) and are deleted afterwards. Run: .venv/bin/python benchmarks/bench_timeline.py
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import numpy as np

from scalekit import backend
from scalekit.timeline import Timeline

FOLLOWERS = 20_000
CHUNK = 1_000
REPEATS = 3
CELEBRITY = 10**9


def best_time(func: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(REPEATS):
        started = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - started)
    return best


def raw_pipelined(client, keys: list[str], two_commands: bool) -> None:
    for start in range(0, len(keys), CHUNK):
        with client.pipeline(transaction=False) as pipe:
            for key in keys[start : start + CHUNK]:
                if two_commands:
                    pipe.zadd(key, {"0000000001": 1.0})
                    pipe.zremrangebyrank(key, 0, -801)
                else:
                    pipe.lpush(key, "0000000001")
            pipe.execute()


def main() -> None:
    client = backend.connect()
    space = backend.namespace(f"bench-timeline-{uuid.uuid4().hex[:12]}", client)
    try:
        timeline = Timeline(client, space.key("tl"), strategy="write")
        timeline.load_graph(np.full(FOLLOWERS, CELEBRITY), np.arange(FOLLOWERS))
        ts = iter(range(10**6))
        fanout = best_time(lambda: timeline.post(CELEBRITY, "hello", float(next(ts))))
        timeline.server_side = True
        scripted = best_time(lambda: timeline.post(CELEBRITY, "hello", float(next(ts))))
        lpush_keys = [space.key("l", i) for i in range(FOLLOWERS)]
        zadd_keys = [space.key("z", i) for i in range(FOLLOWERS)]
        lpush = best_time(lambda: raw_pipelined(client, lpush_keys, two_commands=False))
        zadd = best_time(lambda: raw_pipelined(client, zadd_keys, two_commands=True))
    finally:
        space.clear()
    where = "embedded fakeredis" if backend.is_embedded(client) else "real Redis at $REDIS_URL"
    print(
        f"{where}: one post to {FOLLOWERS:,} followers, pipelined in chunks of {CHUNK:,}, best of {REPEATS}"
    )
    print(f"{'':44s}{'seconds':>9s}{'keys/s':>12s}")
    rows = [
        ("Timeline.post fan-out (ZADD + cap per key)", fanout),
        ("Timeline.post fan-out, server_side=True", scripted),
        ("raw pipelined ZADD + ZREMRANGEBYRANK", zadd),
        ("raw pipelined LPUSH (one command per key)", lpush),
    ]
    for name, seconds in rows:
        print(f"{name:44s}{seconds:9.3f}{FOLLOWERS / seconds:12,.0f}")
    print()
    for name, seconds in rows[:2]:
        print(f"50M followers at the rate of {name!r}: {50e6 * seconds / FOLLOWERS / 60:5.1f} minutes")
    print("(the outline says 5 minutes, which needs 50e6 / 300 s = 166,667 keys/s)")
    print(f"fan-out followers/s / pipelined LPUSH keys/s              = {lpush / fanout:5.2f}x")
    print(f"server-side fan-out followers/s / pipelined LPUSH keys/s  = {lpush / scripted:5.2f}x")
    print(f"fan-out followers/s / raw ZADD+cap keys/s                 = {zadd / fanout:5.2f}x")


if __name__ == "__main__":
    main()
