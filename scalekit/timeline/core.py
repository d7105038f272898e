"""Home timelines on Redis: fan-out on write, fan-out on read, and the hybrid.

A post is stored once (a JSON field in ``<prefix>:bodies``) and its id is added to the
author's own sorted set ``<prefix>:posts:<author>``. What happens next is the strategy:

* **fan-out on write** ("write"): the id is also pushed into the home timeline
  ``<prefix>:home:<follower>`` of every follower, so a read is one range query;
* **fan-out on read** ("read"): nothing is pushed; a read merges the recent posts of
  everyone the reader follows;
* **hybrid** ("hybrid"): authors with fewer than ``threshold`` followers are fanned out
  on write; a read takes the home timeline and merges in the celebrities it follows.

All three return the same timeline: the newest posts of the reader's followees, ordered
by ``(ts, post id)`` descending. Every call records how many home timelines it wrote,
how many author lists it merged, and how many Redis commands and round trips it used.

Home timelines are trimmed lazily: a push is one ZADD and a size check, and only a timeline that has
grown ``trim_margin`` past its ``capacity`` is cut back, so reads (never more than
``capacity`` posts) see exactly what an eagerly trimmed timeline would show. With
``buckets > 1`` home timelines carry bucket hash tags (see :mod:`scalekit.timeline.buckets`)
so a Redis Cluster spreads them over every node.
"""

from __future__ import annotations

import json
import math
import numbers
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import redis

from scalekit.routers.slots import has_hash_tag
from scalekit.timeline.buckets import bucket_tags, dispatch, group_calls, is_cluster

STRATEGIES = ("write", "read", "hybrid")
_CHUNK = 1000
_FOLLOW = """
if redis.call('ZADD', KEYS[1], 'NX', 0, ARGV[1]) == 0 then return -1 end
redis.call('SADD', KEYS[2], ARGV[2])
return redis.call('HINCRBY', KEYS[3], ARGV[2], 1)
"""
# load_graph's chunk of edges in one call: KEYS[i], KEYS[i + 1] are the followee's follower set and
# the follower's following set of the edge ARGV[i] (follower) -> ARGV[i + 1] (followee); the last
# key holds the counts. The graph keys share one slot, so this runs on a cluster too.
_FOLLOW_MANY = """
local added, counts = 0, KEYS[#KEYS]
for i = 1, #ARGV, 2 do
  if redis.call('ZADD', KEYS[i], 'NX', 0, ARGV[i]) == 1 then
    redis.call('SADD', KEYS[i + 1], ARGV[i + 1])
    redis.call('HINCRBY', counts, ARGV[i + 1], 1)
    added = added + 1
  end
end
return added
"""
_FANOUT = """
local cap = tonumber(ARGV[3])
local limit = cap + tonumber(ARGV[4])
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, ARGV[2], ARGV[1])
  if redis.call('ZCARD', key) > limit then redis.call('ZREMRANGEBYRANK', key, 0, -cap - 1) end
end
return #KEYS
"""
# The whole fan-out inside Redis (one server, or one hash tag): the script reads the next chunk
# of the author's followers after a cursor and pushes to their home timelines, so the
# follower ids never travel to the client. Returns how many it pushed and the last one. It
# touches home keys it was not given, which Redis allows on one server and inside one cluster
# slot: the only two places this path runs (buckets=1).
_SPREAD = """
local cap = tonumber(ARGV[3])
local limit = cap + tonumber(ARGV[4])
local users = redis.call('ZRANGEBYLEX', KEYS[1], ARGV[6], '+', 'LIMIT', 0, tonumber(ARGV[7]))
for _, user in ipairs(users) do
  local key = ARGV[5] .. user
  redis.call('ZADD', key, ARGV[2], ARGV[1])
  if redis.call('ZCARD', key) > limit then redis.call('ZREMRANGEBYRANK', key, 0, -cap - 1) end
end
return {#users, users[#users] or ''}
"""
CLUSTER_BUCKETS = 48


@dataclass(frozen=True)
class Post:
    """One post as a reader sees it."""

    id: str
    author: int
    text: str
    ts: float


@dataclass(frozen=True)
class PostReceipt:
    """What one :meth:`Timeline.post` cost: home timelines written, commands, round trips."""

    post_id: str
    fanned_out: int
    commands: int
    round_trips: int


@dataclass(frozen=True)
class ReadCost:
    """What one :meth:`Timeline.read` cost: author lists merged, commands, round trips."""

    merged: int
    commands: int
    round_trips: int


class Timeline:
    """A timeline service over a redis-py client, with every key under ``prefix``.

    ``strategy`` is "write", "read" or "hybrid"; ``threshold`` (hybrid only) is the
    follower count from which an author is treated as a celebrity and merged at read
    time. ``capacity`` caps what a read can return from each home timeline and each
    author's list (Twitter kept about 800 ids per home timeline); a home timeline is cut
    back to ``capacity`` once it holds ``capacity + trim_margin`` ids (default: a quarter
    of the capacity, at least 1), so memory stays bounded and most pushes are one command.

    By default (``server_side=True``) each chunk of up to 1,000 followers is one Lua
    script call that pushes inside Redis: with one bucket the script even reads the
    followers itself, so no follower id crosses the network; the server does nothing
    else while a chunk runs. ``server_side=False`` reads the followers and pipelines a
    ZADD and an eager ZREMRANGEBYRANK per follower instead.

    ``buckets`` (default 1, or ``CLUSTER_BUCKETS`` on a Redis Cluster) groups home
    timelines under bucket hash tags so they spread over a cluster's nodes; each node
    then receives its buckets' pushes in parallel. The follow graph, the bodies and the
    authors' lists share one hash tag of their own. With ``buckets=1`` nothing is tagged,
    and on a cluster the prefix must then carry a ``{hash tag}`` (every key on one node).
    """

    def __init__(
        self,
        client: redis.Redis,
        prefix: str,
        *,
        strategy: str = "hybrid",
        threshold: int = 1000,
        capacity: int = 800,
        server_side: bool = True,
        buckets: int | None = None,
        trim_margin: int | None = None,
    ) -> None:
        if strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
        if not isinstance(prefix, str) or not prefix:
            raise ValueError(f"prefix must be a non-empty string, got {prefix!r}")
        _require_count("threshold", threshold)
        if isinstance(capacity, bool) or not isinstance(capacity, numbers.Integral) or capacity < 1:
            raise ValueError(f"capacity must be a whole number >= 1 post, got {capacity!r}")
        cluster = is_cluster(client)
        if buckets is None:
            buckets = CLUSTER_BUCKETS if cluster else 1
        _require_count("buckets", buckets)
        if not 1 <= buckets <= 16384:
            raise ValueError(f"buckets must be between 1 and 16384 (the cluster's hash slots), got {buckets}")
        if trim_margin is None:
            trim_margin = max(1, int(capacity) // 4)
        _require_count("trim_margin", trim_margin)
        braces = "{" in prefix or "}" in prefix
        if buckets > 1 and braces:
            raise ValueError(
                "with buckets > 1 the timeline chooses its own hash tags; "
                f"use a prefix without braces, got {prefix!r}"
            )
        if buckets == 1 and cluster and not has_hash_tag(prefix):
            raise ValueError(
                "on Redis Cluster use buckets > 1 (home timelines spread over the nodes), or give the "
                f"prefix a non-empty {{hash tag}} to keep every key on one node, got {prefix!r}"
            )
        self.client = client
        self.prefix = prefix
        self.strategy = strategy
        self.threshold = {"write": math.inf, "read": 0, "hybrid": int(threshold)}[strategy]
        self.capacity = int(capacity)
        self.trim_margin = int(trim_margin)
        self.buckets = int(buckets)
        self.stats: Counter[str] = Counter()
        self.last_read = ReadCost(0, 0, 0)
        self.server_side = bool(server_side)
        self._base = prefix if buckets == 1 else f"{prefix}:{{{prefix}:g}}"
        self._tags = bucket_tags(prefix, buckets) if buckets > 1 else []
        self._follow = client.register_script(_FOLLOW)
        self._follow_many = client.register_script(_FOLLOW_MANY)
        self._fanout = client.register_script(_FANOUT)
        self._spread = client.register_script(_SPREAD)

    def key(self, *parts: object) -> str:
        """The Redis key for ``parts`` (graph, bodies, authors' lists) under this timeline's prefix."""
        return ":".join([self._base, *(str(part) for part in parts)])

    def home_key(self, user: int | str) -> str:
        """The key of ``user``'s home timeline (in bucket ``user % buckets``)."""
        if self.buckets == 1:
            return f"{self.prefix}:home:{user}"
        return f"{self.prefix}:{{{self._tags[int(user) % self.buckets]}}}:home:{user}"

    def follow(self, follower: int, followee: int) -> bool:
        """``follower`` starts following ``followee``; False if they already did.

        When the followee's posts will not be merged at read time, their recent posts
        are copied into the follower's home timeline now (a backfill), so the result
        does not depend on whether the follow came before or after the posts.
        """
        follower, followee = _user(follower, "follower"), _user(followee, "followee")
        if follower == followee:
            raise ValueError(f"user {follower} cannot follow themselves")
        count = int(
            self._follow(
                keys=[self.key("followers", followee), self.key("following", follower), self.key("counts")],
                args=[follower, followee],
            )
        )
        if count < 0:
            return False
        if count < self.threshold:
            recent = self.client.zrevrange(self.key("posts", followee), 0, self.capacity - 1, withscores=True)
            if recent:
                home = self.home_key(follower)
                with self.client.pipeline(transaction=False) as pipe:
                    pipe.zadd(home, dict(recent))
                    pipe.zremrangebyrank(home, 0, -self.capacity - 1)
                    pipe.execute()
        return True

    def load_graph(self, followees: Any, followers: Any) -> int:
        """Add the edges ``followers[i] follows followees[i]`` in bulk; return how many were new.

        Only before the first post (a bulk load does no backfill); use :meth:`follow` after.
        Each chunk of 1,000 edges is one script (an edge's follower set, following set and
        count move together), so a load cut short and run again leaves the same graph.
        """
        if self.client.exists(self.key("next_id")):
            raise ValueError("load_graph works only before the first post; use follow() for later edges")
        src = np.asarray(followees)
        dst = np.asarray(followers)
        if src.shape != dst.shape or src.ndim != 1:
            raise ValueError(
                f"followees and followers must be 1-D and the same length, got {src.shape} and {dst.shape}"
            )
        if src.size and (
            not np.issubdtype(src.dtype, np.integer) or not np.issubdtype(dst.dtype, np.integer)
        ):
            raise ValueError("user ids must be integers")
        if src.size and (src.min() < 0 or dst.min() < 0):
            raise ValueError("user ids must be >= 0")
        if (src == dst).any():
            raise ValueError(f"user {int(src[src == dst][0])} cannot follow themselves")
        pairs = np.unique(np.stack([src, dst], axis=1), axis=0) if src.size else np.empty((0, 2), int)
        added = 0
        for start in range(0, len(pairs), _CHUNK):
            keys, args = [], []
            for followee, follower in pairs[start : start + _CHUNK].tolist():
                keys += [self.key("followers", followee), self.key("following", follower)]
                args += [follower, followee]
            added += int(self._follow_many(keys=[*keys, self.key("counts")], args=args))
        return added

    def follower_count(self, user: int) -> int:
        """How many followers ``user`` has."""
        return int(self.client.hget(self.key("counts"), _user(user)) or 0)

    def followers(self, user: int) -> list[int]:
        """Who follows ``user``, sorted."""
        return sorted(int(u) for u in self.client.zrange(self.key("followers", _user(user)), 0, -1))

    def following(self, user: int) -> list[int]:
        """Whom ``user`` follows, sorted."""
        return sorted(int(u) for u in self.client.smembers(self.key("following", _user(user))))

    def post(self, author: int, text: str, ts: float) -> PostReceipt:
        """Store a post once and deliver it according to the strategy.

        Fan-out on write here is neither atomic nor resumable. The body and the author's
        list are written first; then the follower set is read once and the id is pushed
        into home timelines (see :meth:`push`). If the process dies or Redis fails
        part-way, the followers in chunks already sent have the post, the rest never get
        it, and nothing records where it stopped; calling ``post`` again stores a second
        copy under a new id. :class:`scalekit.timeline.QueuedFanout` stores the post and
        fans out from a durable queue instead: workers push in batches and acknowledge a
        batch only once it is written, so a crashed worker's batch is retried (a repeated
        ZADD of the same id and score changes nothing).
        """
        post_id, count = self.store(author, text, ts)
        commands, trips, fanned = 5, 2, 0
        if 0 < count < self.threshold and self.server_side and self.buckets == 1:
            fanned, calls = self._push_in_server(post_id, float(ts), self.key("followers", author))
            commands, trips = commands + calls, trips + calls
        elif 0 < count < self.threshold:
            followers = self.client.zrange(self.key("followers", author), 0, -1)
            pushed, sent = self._push(post_id, float(ts), followers)
            commands, trips, fanned = commands + 1 + pushed, trips + 1 + sent, len(followers)
        receipt = PostReceipt(post_id, fanned, commands, trips)
        self.stats.update(posts=1, fanned_out=fanned, post_commands=commands, post_round_trips=trips)
        return receipt

    def store(self, author: int, text: str, ts: float) -> tuple[str, int]:
        """Store the body and add the id to the author's list; return the post id and follower count.

        Five commands in two round trips; no home timeline is touched.
        """
        author = _user(author, "author")
        if not isinstance(text, str):
            raise TypeError(f"post text must be a str, got {type(text).__name__}")
        if isinstance(ts, bool) or not isinstance(ts, numbers.Real) or not math.isfinite(ts):
            raise ValueError(f"ts must be a finite number of seconds, got {ts!r}")
        ts = float(ts)
        post_id = f"{int(self.client.incr(self.key('next_id'))):010d}"
        body = json.dumps({"author": author, "text": text, "ts": ts}, sort_keys=True)
        own = self.key("posts", author)
        with self.client.pipeline(transaction=False) as pipe:
            pipe.hset(self.key("bodies"), post_id, body)
            pipe.zadd(own, {post_id: ts})
            pipe.zremrangebyrank(own, 0, -self.capacity - 1)
            pipe.hget(self.key("counts"), author)
            count = int(pipe.execute()[-1] or 0)
        return post_id, count

    def push(self, post_id: str, ts: float, users: Any) -> tuple[int, int]:
        """Add ``post_id`` (scored ``ts``) to the home timelines of ``users``; return (commands, round trips).

        Pushing the same post to the same user again changes nothing, so a retried batch
        is harmless. Users are grouped by bucket and cut into chunks of 1,000; server-side,
        each chunk is one script call (on a cluster, every node gets its chunks in parallel).
        """
        if not isinstance(post_id, str) or not post_id:
            raise ValueError(f"post_id must be a non-empty string, got {post_id!r}")
        if isinstance(ts, bool) or not isinstance(ts, numbers.Real) or not math.isfinite(ts):
            raise ValueError(f"ts must be a finite number of seconds, got {ts!r}")
        return self._push(post_id, float(ts), [_member(u) for u in users])

    def _push(self, post_id: str, ts: float, users: list[str]) -> tuple[int, int]:
        """:meth:`push` for users already known to be canonical ids (as read back from Redis)."""
        if not users:
            return 0, 0
        if self.buckets == 1:
            groups = [users[start : start + _CHUNK] for start in range(0, len(users), _CHUNK)]
        else:
            grouped = group_calls(users, lambda u: int(u) % self.buckets, _CHUNK)
            groups = [chunk for chunks in grouped.values() for chunk in chunks]
        if not self.server_side:
            for group in groups:
                with self.client.pipeline(transaction=False) as pipe:
                    for user in group:
                        home = self.home_key(user)
                        pipe.zadd(home, {post_id: ts})
                        pipe.zremrangebyrank(home, 0, -self.capacity - 1)
                    pipe.execute()
            return 2 * len(users), len(groups)
        args = [post_id, repr(float(ts)), self.capacity, self.trim_margin]
        calls = [([home + user for user in group], args) for home, group in self._home_prefixes(groups)]
        trips = dispatch(self.client, calls, self._fanout)
        return len(calls), trips

    def _push_in_server(self, post_id: str, ts: float, followers_key: str) -> tuple[int, int]:
        """Fan out inside Redis, 1,000 followers per script call; return (followers pushed, calls).

        The cursor is the last follower pushed (members are ordered as strings), so a follow
        that arrives meanwhile neither shifts nor repeats anyone; the new follower gets the
        post from :meth:`follow`'s backfill.
        """
        args = [post_id, repr(ts), self.capacity, self.trim_margin, f"{self.prefix}:home:"]
        pushed, calls, cursor = 0, 0, "-"
        while True:
            count, last = self._spread(keys=[followers_key], args=[*args, cursor, _CHUNK])
            pushed, calls = pushed + int(count), calls + 1
            if int(count) < _CHUNK:
                return pushed, calls
            cursor = f"({last}"

    def _home_prefixes(self, groups: list[list[str]]) -> list[tuple[str, list[str]]]:
        """Each group of users (all in one bucket) with the key prefix of that bucket's home timelines."""
        if self.buckets == 1:
            return [(f"{self.prefix}:home:", group) for group in groups]
        return [(self.home_key(group[0])[: -len(group[0])], group) for group in groups]

    def delivered(self, post_id: str, users: Any) -> int:
        """How many of ``users`` have ``post_id`` in their home timeline."""
        found = 0
        users = list(users)
        for start in range(0, len(users), _CHUNK):
            with self.client.pipeline(transaction=False) as pipe:
                for user in users[start : start + _CHUNK]:
                    pipe.zscore(self.home_key(user), post_id)
                found += sum(score is not None for score in pipe.execute())
        return found

    def read(self, user: int, limit: int | None = None) -> list[Post]:
        """The newest ``limit`` posts (default 20, at most ``capacity``) of ``user``'s followees."""
        user = _user(user)
        if limit is None:
            limit = min(20, self.capacity)
        _require_count("limit", limit)
        if not 1 <= limit <= self.capacity:
            raise ValueError(f"limit must be between 1 and capacity ({self.capacity}), got {limit}")
        commands, trips = 0, 0
        celebrities: list[str] = []
        if self.strategy != "write":
            followees = sorted(self.client.smembers(self.key("following", user)), key=int)
            commands, trips = commands + 1, trips + 1
            if self.strategy == "read":
                celebrities = followees
            elif followees:
                counts = self.client.hmget(self.key("counts"), followees)
                commands, trips = commands + 1, trips + 1
                celebrities = [
                    f for f, c in zip(followees, counts, strict=True) if int(c or 0) >= self.threshold
                ]
        lists = [self.home_key(user)] if self.strategy != "read" else []
        lists += [self.key("posts", author) for author in celebrities]
        ranges = []
        if lists:
            with self.client.pipeline(transaction=False) as pipe:
                for key in lists:
                    pipe.zrevrange(key, 0, limit - 1, withscores=True)
                ranges = pipe.execute()
            commands, trips = commands + len(lists), trips + 1
        newest = sorted({pid: score for found in ranges for pid, score in found}.items(), key=_order)[:limit]
        posts: list[Post] = []
        if newest:
            bodies = self.client.hmget(self.key("bodies"), [pid for pid, _ in newest])
            commands, trips = commands + 1, trips + 1
            for (pid, _), body in zip(newest, bodies, strict=True):
                fields = json.loads(body)
                posts.append(Post(pid, fields["author"], fields["text"], fields["ts"]))
        self.last_read = ReadCost(len(celebrities), commands, trips)
        self.stats.update(reads=1, merged=len(celebrities), read_commands=commands, read_round_trips=trips)
        return posts


def fanout_model(follower_counts: Any, thresholds: Any) -> tuple[np.ndarray, np.ndarray]:
    """Mean home timelines written per post and author lists merged per read, per threshold.

    Assumes every user posts and reads equally often and followers are spread evenly
    (as in :func:`scalekit.workload.follower_graph`). An author with ``f < T``
    followers is fanned out (``f`` writes); one with ``f >= T`` is merged by each of
    its ``f`` followers at read time, ``sum(f >= T) / N`` merges per average read.
    ``T = 0`` is pure fan-out on read; ``T = inf`` pure fan-out on write.
    """
    counts = np.asarray(follower_counts, dtype=float)
    if counts.ndim != 1 or counts.size == 0 or (counts < 0).any():
        raise ValueError("follower_counts must be a non-empty 1-D array of counts >= 0")
    limits = np.asarray(thresholds, dtype=float)
    if (limits < 0).any():
        raise ValueError("thresholds must be >= 0")
    ordered = np.sort(counts)
    cumulative = np.concatenate([[0.0], np.cumsum(ordered)])
    below = np.searchsorted(ordered, limits, side="left")
    written = cumulative[below] / counts.size
    merged = (cumulative[-1] - cumulative[below]) / counts.size
    return written, merged


def _order(item: tuple[str, float]) -> tuple[float, int]:
    pid, score = item
    return (-score, -int(pid))


def _member(value: Any) -> str:
    """A user id as stored in Redis: from an int, or from the digits Redis or JSON gave back."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return str(int(value))
    return str(_user(value))


def _user(value: Any, what: str = "user") -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{what} id must be an int >= 0, got {value!r}")
    return int(value)


def _require_count(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{name} must be a whole number >= 0, got {value!r}")
