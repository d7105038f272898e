"""Timelines: the three strategies agree with each other and with a plain-Python model."""

from __future__ import annotations

import contextlib
import json
import math
import uuid

import numpy as np
import pytest
import redis as redis_py
from hypothesis import given, settings
from hypothesis import strategies as st

from scalekit import workload
from scalekit.timeline import STRATEGIES, Timeline, fanout_model


def make_all(redis, ns, **kwargs) -> dict[str, Timeline]:
    timelines = {name: Timeline(redis, f"{ns.prefix}:{name}", strategy=name, **kwargs) for name in STRATEGIES}
    for name in ("write", "hybrid"):
        timelines[f"{name}-pipelined"] = Timeline(
            redis, f"{ns.prefix}:{name}-pipelined", strategy=name, server_side=False, **kwargs
        )
        timelines[f"{name}-buckets"] = Timeline(
            redis, f"{ns.prefix}:{name}-buckets", strategy=name, buckets=3, **kwargs
        )
    timelines["write-eager"] = Timeline(
        redis, f"{ns.prefix}:write-eager", strategy="write", trim_margin=0, **kwargs
    )
    return timelines


def expected_timeline(
    edges: set[tuple[int, int]], posts: list[tuple[str, int, float]], user: int, limit: int
):
    followees = {b for a, b in edges if a == user}
    mine = [(ts, pid) for pid, author, ts in posts if author in followees]
    return [pid for ts, pid in sorted(mine, reverse=True)[:limit]]


operations = st.lists(
    st.one_of(
        st.tuples(st.just("follow"), st.integers(0, 5), st.integers(0, 5)),
        st.tuples(st.just("post"), st.integers(0, 5), st.integers(0, 4)),
    ),
    max_size=30,
)


@settings(max_examples=40)
@given(ops=operations, threshold=st.integers(0, 4), capacity=st.integers(1, 4))
def test_all_strategies_return_the_model_timeline(redis, ns, ops, threshold, capacity):
    ns.clear()
    timelines = make_all(redis, ns, threshold=threshold, capacity=capacity)
    edges: set[tuple[int, int]] = set()
    posts: list[tuple[str, int, float]] = []
    for kind, a, b in ops:
        if kind == "follow":
            if a == b:
                continue
            added = {t.follow(a, b) for t in timelines.values()}
            assert added == {(a, b) not in edges}
            edges.add((a, b))
        else:
            ids = {t.post(a, f"post by {a}", float(b)).post_id for t in timelines.values()}
            assert len(ids) == 1
            posts.append((ids.pop(), a, float(b)))
    for user in range(6):
        want = expected_timeline(edges, posts, user, capacity)
        for name, timeline in timelines.items():
            got = [post.id for post in timeline.read(user, limit=capacity)]
            assert got == want, f"{name} timeline of user {user}"


def test_posts_come_back_whole_and_ordered_by_time_then_id(redis, ns):
    timeline = Timeline(redis, ns.prefix, strategy="hybrid", threshold=2)
    timeline.follow(1, 7)
    timeline.follow(1, 8)
    first = timeline.post(7, "hello", 10.0).post_id
    second = timeline.post(8, "same second", 10.0).post_id
    third = timeline.post(7, "earlier", 5.0).post_id
    posts = timeline.read(1)
    assert [p.id for p in posts] == [second, first, third]
    assert (posts[0].author, posts[0].text, posts[0].ts) == (8, "same second", 10.0)


def test_in_server_fan_out_reaches_followers_who_sort_anywhere(redis, ns):
    timeline = Timeline(redis, ns.prefix, strategy="write", capacity=3)
    users = np.array([0, 1, 9, 10, 99, 100, 1000, 10**6 + 7, *range(2000, 4100)])
    timeline.load_graph(np.full(users.size, 5), users)
    receipt = timeline.post(5, "hi", 1.0)
    assert receipt.fanned_out == users.size
    assert receipt.commands == 5 + 3
    assert timeline.delivered(receipt.post_id, users.tolist()) == users.size
    assert timeline.followers(5) == sorted(users.tolist())


def test_pipelined_fan_out_on_write_costs(redis, ns):
    timeline = Timeline(redis, ns.prefix, strategy="write", server_side=False)
    timeline.load_graph(np.full(5, 9), np.arange(5))
    receipt = timeline.post(9, "hi", 1.0)
    assert receipt.fanned_out == 5
    assert receipt.commands == 6 + 2 * 5
    assert [p.id for p in timeline.read(3)] == [receipt.post_id]
    assert timeline.last_read.merged == 0
    assert timeline.last_read.commands == 2


def test_server_side_fan_out_is_one_script_call_per_chunk_and_the_default(redis, ns):
    timeline = Timeline(redis, ns.prefix, strategy="write", capacity=2)
    timeline.load_graph(np.full(2500, 9999), np.arange(2500))
    receipts = [timeline.post(9999, "hi", float(ts)) for ts in range(3)]
    assert receipts[0].fanned_out == 2500
    assert receipts[0].commands == 5 + 3
    assert receipts[0].round_trips == 2 + 3
    assert [p.id for p in timeline.read(2499, limit=2)] == [receipts[2].post_id, receipts[1].post_id]
    assert redis.zcard(timeline.home_key(0)) == 3


def test_fan_out_on_read_costs(redis, ns):
    timeline = Timeline(redis, ns.prefix, strategy="read")
    timeline.load_graph(np.array([1, 2, 3]), np.array([0, 0, 0]))
    receipt = timeline.post(2, "hi", 1.0)
    assert (receipt.fanned_out, receipt.commands) == (0, 5)
    assert [p.id for p in timeline.read(0)] == [receipt.post_id]
    assert timeline.last_read.merged == 3
    assert timeline.last_read.commands == 1 + 3 + 1


def test_hybrid_merges_only_celebrities(redis, ns):
    timeline = Timeline(redis, ns.prefix, strategy="hybrid", threshold=3)
    star, regular = 100, 200
    timeline.load_graph(np.array([star] * 4 + [regular] * 2), np.array([0, 1, 2, 3, 0, 1]))
    assert timeline.post(star, "to many", 1.0).fanned_out == 0
    assert timeline.post(regular, "to few", 2.0).fanned_out == 2
    assert [p.text for p in timeline.read(0)] == ["to few", "to many"]
    assert timeline.last_read.merged == 1
    assert [p.text for p in timeline.read(3)] == ["to many"]
    assert timeline.stats["posts"] == 2 and timeline.stats["reads"] == 2


def test_model_predicts_measured_fanout_and_merges(redis, ns):
    counts = workload.follower_counts(60, exponent=2.1, maximum=59, seed=4)
    followees, followers = workload.follower_graph(counts, seed=5)
    real = np.bincount(followees, minlength=60)
    for threshold in (0, 3, 10, 1000):
        timeline = Timeline(redis, f"{ns.prefix}:{threshold}", strategy="hybrid", threshold=threshold)
        timeline.load_graph(followees, followers)
        for user in range(60):
            timeline.post(user, "x", float(user))
        for user in range(60):
            timeline.read(user)
        written, merged = fanout_model(real, [threshold])
        assert timeline.stats["fanned_out"] == pytest.approx(written[0] * 60)
        assert timeline.stats["merged"] == pytest.approx(merged[0] * 60)


def test_model_extremes():
    counts = np.array([0, 1, 5, 50])
    written, merged = fanout_model(counts, [0, 5, math.inf])
    assert written.tolist() == [0, 0.25, 14]
    assert merged.tolist() == [14, 13.75, 0]


def test_home_timelines_are_capped_and_keys_stay_under_the_prefix(redis, ns):
    timeline = Timeline(redis, ns.prefix, strategy="write", capacity=3, trim_margin=2)
    timeline.follow(1, 2)
    sizes = []
    for ts in range(10):
        timeline.post(2, "p", float(ts))
        sizes.append(redis.zcard(timeline.home_key(1)))
    assert sizes == [1, 2, 3, 4, 5, 3, 4, 5, 3, 4]
    assert redis.zcard(timeline.key("posts", 2)) == 3
    assert [p.ts for p in timeline.read(1, limit=3)] == [9.0, 8.0, 7.0]
    assert all(key.startswith(f"{ns.prefix}:") for key in ns.keys())
    assert ns.clear() > 0 and ns.keys() == []


def test_follow_after_posting_backfills_and_duplicates_are_ignored(redis, ns):
    timeline = Timeline(redis, ns.prefix, strategy="write")
    old = timeline.post(5, "before you followed", 1.0).post_id
    assert timeline.follow(6, 5) is True
    assert timeline.follow(6, 5) is False
    assert timeline.follower_count(5) == 1
    assert timeline.following(6) == [5]
    assert [p.id for p in timeline.read(6)] == [old]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"strategy": "push"}, "strategy must be one of"),
        ({"threshold": -1}, "threshold must be"),
        ({"capacity": 0}, "capacity must be a whole number >= 1"),
        ({"capacity": -1}, "capacity must be a whole number >= 1"),
        ({"capacity": 2.5}, "capacity must be a whole number >= 1"),
        ({"trim_margin": -1}, "trim_margin must be"),
        ({"buckets": 0}, "buckets must be"),
    ],
)
def test_bad_configuration_is_refused(redis, ns, kwargs, message):
    with pytest.raises(ValueError, match=message):
        Timeline(redis, ns.prefix, **kwargs)


def test_bad_input_is_refused_and_writes_nothing(redis, ns):
    timeline = Timeline(redis, ns.prefix, capacity=10)
    with pytest.raises(ValueError, match="cannot follow themselves"):
        timeline.follow(3, 3)
    with pytest.raises(ValueError, match="follower id must be an int >= 0"):
        timeline.follow(-1, 3)
    with pytest.raises(ValueError, match="author id"):
        timeline.post(True, "x", 1.0)
    with pytest.raises(ValueError, match="ts must be a finite number"):
        timeline.post(1, "x", float("nan"))
    with pytest.raises(TypeError, match="post text must be a str"):
        timeline.post(1, b"bytes", 1.0)
    with pytest.raises(ValueError, match="same length"):
        timeline.load_graph(np.array([1, 2]), np.array([3]))
    with pytest.raises(ValueError, match="cannot follow themselves"):
        timeline.load_graph(np.array([1, 2]), np.array([3, 2]))
    assert ns.keys() == []
    with pytest.raises(ValueError, match="limit must be between 1 and capacity"):
        timeline.read(1, limit=11)
    timeline.post(1, "x", 1.0)
    with pytest.raises(ValueError, match="only before the first post"):
        timeline.load_graph(np.array([1]), np.array([2]))


@pytest.mark.parametrize("server_side", [False, True])
def test_works_on_redis_cluster_with_a_hash_tag_prefix(redis_cluster_url, server_side):
    from redis.cluster import RedisCluster

    client = RedisCluster.from_url(redis_cluster_url, decode_responses=True)
    prefix = f"{{test-{uuid.uuid4().hex[:12]}}}:timeline"
    try:
        timeline = Timeline(
            client, prefix, strategy="hybrid", threshold=3, server_side=server_side, buckets=1
        )
        timeline.load_graph(np.array([9, 9, 9, 9, 5]), np.array([0, 1, 2, 3, 0]))
        timeline.follow(4, 5)
        assert timeline.post(5, "pushed", 1.0).fanned_out == 2
        assert timeline.post(9, "pulled", 2.0).fanned_out == 0
        assert [p.text for p in timeline.read(0)] == ["pulled", "pushed"]
        assert [p.text for p in timeline.read(4)] == ["pushed"]
    finally:
        for key in list(client.scan_iter(match=f"{prefix}:*")):
            client.delete(key)
        client.close()


@pytest.mark.parametrize(
    ("users", "ts", "message"),
    [
        ([1, -2], 1.0, "user id must be an int >= 0"),
        ([1, True], 1.0, "user id must be an int >= 0"),
        ([1, "abc"], 1.0, "user id must be an int >= 0"),
        ([1, 2.5], 1.0, "user id must be an int >= 0"),
        ([1, 2], float("nan"), "ts must be a finite number"),
    ],
)
@pytest.mark.parametrize("buckets", [1, 3])
def test_push_refuses_bad_users_and_times_before_writing(redis, ns, users, ts, message, buckets):
    timeline = Timeline(redis, ns.prefix, strategy="write", buckets=buckets)
    with pytest.raises(ValueError, match=message):
        timeline.push("0000000001", ts, users)
    assert ns.keys() == []


def test_push_accepts_ids_as_digit_strings_and_repeats(redis, ns):
    timeline = Timeline(redis, ns.prefix, strategy="write", capacity=3, buckets=2)
    timeline.push("0000000007", 1.0, ["4", 4, np.int64(4), 5])
    assert timeline.delivered("0000000007", [4, 5, 6]) == 2
    assert redis.zcard(timeline.home_key(4)) == 1


@settings(max_examples=30)
@given(
    ops=operations,
    capacity=st.integers(1, 4),
    margin=st.integers(0, 3),
    buckets=st.sampled_from([1, 2]),
    server_side=st.booleans(),
)
def test_lazy_trim_reads_the_newest_capacity_under_any_margin(
    redis, ns, ops, capacity, margin, buckets, server_side
):
    ns.clear()
    timeline = Timeline(
        redis,
        ns.prefix,
        strategy="write",
        capacity=capacity,
        trim_margin=margin,
        buckets=buckets,
        server_side=server_side,
    )
    edges: set[tuple[int, int]] = set()
    posts: list[tuple[str, int, float]] = []
    for kind, a, b in ops:
        if kind == "follow" and a != b:
            timeline.follow(a, b)
            edges.add((a, b))
        elif kind == "post":
            posts.append((timeline.post(a, "p", float(b)).post_id, a, float(b)))
        for user in range(6):
            assert redis.zcard(timeline.home_key(user)) <= capacity + margin
    for user in range(6):
        got = [post.id for post in timeline.read(user, limit=capacity)]
        assert got == expected_timeline(edges, posts, user, capacity)


def test_threads_posting_and_reading_at_once_see_ordered_capped_timelines(redis, ns):
    import threading

    capacity, margin = 5, 2
    authors = range(100, 106)
    make = lambda: Timeline(redis, ns.prefix, strategy="write", capacity=capacity, trim_margin=margin)  # noqa: E731
    make().load_graph(np.repeat(np.array(authors), 30), np.tile(np.arange(30), len(authors)))
    problems: list[str] = []

    def poster(author: int) -> None:
        timeline = make()
        for ts in range(40):
            timeline.post(author, "x", float(ts))

    def reader() -> None:
        timeline = make()
        for _ in range(60):
            for user in (0, 29):
                order = [(-p.ts, -int(p.id)) for p in timeline.read(user, limit=capacity)]
                if order != sorted(order) or len(order) > capacity:
                    problems.append(f"user {user}: {order}")
                if redis.zcard(timeline.home_key(user)) > capacity + margin:
                    problems.append(f"user {user} holds too many ids")

    threads = [threading.Thread(target=poster, args=(a,)) for a in authors]
    threads += [threading.Thread(target=reader) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert problems == []
    timeline = make()
    bodies = redis.hgetall(timeline.key("bodies"))
    newest = sorted(((json.loads(b)["ts"], int(pid), pid) for pid, b in bodies.items()), reverse=True)
    want = [pid for _, _, pid in newest[:capacity]]
    assert all([p.id for p in timeline.read(user, limit=capacity)] == want for user in range(30))


class _DropsSecondBatch:
    """A client whose second batch (a pipeline or a script call) fails, like a connection lost
    half-way through a bulk load."""

    def __init__(self, client) -> None:
        self._client, self.batches = client, 0

    def _sent(self) -> None:
        self.batches += 1
        if self.batches == 2:
            raise redis_py.ConnectionError("connection lost")

    def pipeline(self, *args, **kwargs):
        pipe = self._client.pipeline(*args, **kwargs)
        execute = pipe.execute

        def failing(*a, **k):
            self._sent()
            return execute(*a, **k)

        pipe.execute = failing
        return pipe

    def register_script(self, source: str):
        from redis.commands.core import Script

        return Script(self, source)

    def evalsha(self, sha, *args, **kwargs):
        if self._client.script_exists(sha)[0]:  # a call that fails with NOSCRIPT sends no batch
            self._sent()
        return self._client.evalsha(sha, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._client, name)


@pytest.mark.parametrize("edges", [4, 1500])
def test_a_bulk_load_cut_short_and_run_again_leaves_the_whole_graph(redis, ns, edges):
    followers = np.arange(1, edges + 1)
    followees = followers % 3 + 10**6
    timeline = Timeline(_DropsSecondBatch(redis), ns.prefix, strategy="read")
    with contextlib.suppress(redis_py.ConnectionError):
        timeline.load_graph(followees, followers)
    timeline = Timeline(redis, ns.prefix, strategy="read")
    timeline.load_graph(followees, followers)
    assert all(timeline.following(int(u)) == [int(f)] for u, f in zip(followers, followees, strict=True))
    counts = np.bincount(followees - 10**6)
    assert [timeline.follower_count(10**6 + i) for i in range(3)] == counts.tolist()
