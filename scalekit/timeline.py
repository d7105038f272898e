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

STRATEGIES = ("write", "read", "hybrid")
_CHUNK = 1000
_FOLLOW = """
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return -1 end
redis.call('SADD', KEYS[2], ARGV[2])
return redis.call('HINCRBY', KEYS[3], ARGV[2], 1)
"""
_FANOUT = """
local cap = tonumber(ARGV[3])
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, ARGV[2], ARGV[1])
  redis.call('ZREMRANGEBYRANK', key, 0, -cap - 1)
end
return #KEYS
"""


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
    time. ``capacity`` caps each home timeline and each author's list (Twitter kept
    about 800 ids per home timeline), so memory stays bounded. With ``server_side=True``
    each chunk of 1,000 followers is one Lua script call that runs the same two commands
    inside Redis: far fewer bytes to encode and parse than a pipeline, but the server does
    nothing else while a chunk runs. The scripts touch several keys at once, so on Redis
    Cluster the prefix needs a ``{hash tag}`` that keeps every key on one node.
    """

    def __init__(
        self,
        client: redis.Redis,
        prefix: str,
        *,
        strategy: str = "hybrid",
        threshold: int = 1000,
        capacity: int = 800,
        server_side: bool = False,
    ) -> None:
        if strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
        if not isinstance(prefix, str) or not prefix:
            raise ValueError(f"prefix must be a non-empty string, got {prefix!r}")
        _require_count("threshold", threshold)
        _require_count("capacity", capacity)
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1 post, got {capacity}")
        self.client = client
        self.prefix = prefix
        self.strategy = strategy
        self.threshold = {"write": math.inf, "read": 0, "hybrid": int(threshold)}[strategy]
        self.capacity = int(capacity)
        self.stats: Counter[str] = Counter()
        self.last_read = ReadCost(0, 0, 0)
        self.server_side = bool(server_side)
        self._follow = client.register_script(_FOLLOW)
        self._fanout = client.register_script(_FANOUT)

    def key(self, *parts: object) -> str:
        """The Redis key for ``parts`` under this timeline's prefix."""
        return ":".join([self.prefix, *(str(part) for part in parts)])

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
                home = self.key("home", follower)
                with self.client.pipeline(transaction=False) as pipe:
                    pipe.zadd(home, dict(recent))
                    pipe.zremrangebyrank(home, 0, -self.capacity - 1)
                    pipe.execute()
        return True

    def load_graph(self, followees: Any, followers: Any) -> int:
        """Add the edges ``followers[i] follows followees[i]`` in bulk; return how many were new.

        Only before the first post (a bulk load does no backfill); use :meth:`follow` after.
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
            chunk = pairs[start : start + _CHUNK].tolist()
            with self.client.pipeline(transaction=False) as pipe:
                for followee, follower in chunk:
                    pipe.sadd(self.key("followers", followee), follower)
                fresh = [pair for pair, new in zip(chunk, pipe.execute(), strict=True) if new]
            with self.client.pipeline(transaction=False) as pipe:
                for followee, follower in fresh:
                    pipe.sadd(self.key("following", follower), followee)
                    pipe.hincrby(self.key("counts"), followee, 1)
                pipe.execute()
            added += len(fresh)
        return added

    def follower_count(self, user: int) -> int:
        """How many followers ``user`` has."""
        return int(self.client.hget(self.key("counts"), _user(user)) or 0)

    def following(self, user: int) -> list[int]:
        """Whom ``user`` follows, sorted."""
        return sorted(int(u) for u in self.client.smembers(self.key("following", _user(user))))

    def post(self, author: int, text: str, ts: float) -> PostReceipt:
        """Store a post once and deliver it according to the strategy.

        Fan-out on write here is neither atomic nor resumable. The body and the author's
        list are written first; then the follower set is read once and the id is pushed
        into home timelines 1,000 followers per round trip (one atomic Lua call per chunk
        with ``server_side``, otherwise a pipeline without a transaction). If the process
        dies or Redis fails part-way, the followers in chunks already sent have the post,
        the rest never get it, and nothing records where it stopped; calling ``post``
        again stores a second copy under a new id. Production systems store the post and
        fan out from a durable queue instead: workers push in batches and acknowledge a
        batch only once it is written, so a crashed worker's batch is retried (a repeated
        ZADD of the same id and score changes nothing).
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
        commands, trips, fanned = 5, 2, 0
        if count < self.threshold and count > 0:
            followers = sorted(self.client.smembers(self.key("followers", author)), key=int)
            commands, trips = commands + 1, trips + 1
            for start in range(0, len(followers), _CHUNK):
                homes = [self.key("home", follower) for follower in followers[start : start + _CHUNK]]
                if self.server_side:
                    self._fanout(keys=homes, args=[post_id, ts, self.capacity])
                    commands += 1
                else:
                    with self.client.pipeline(transaction=False) as pipe:
                        for home in homes:
                            pipe.zadd(home, {post_id: ts})
                            pipe.zremrangebyrank(home, 0, -self.capacity - 1)
                        pipe.execute()
                    commands += 2 * len(homes)
                trips += 1
            fanned = len(followers)
        receipt = PostReceipt(post_id, fanned, commands, trips)
        self.stats.update(posts=1, fanned_out=fanned, post_commands=commands, post_round_trips=trips)
        return receipt

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
        lists = [self.key("home", user)] if self.strategy != "read" else []
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


def _user(value: Any, what: str = "user") -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{what} id must be an int >= 0, got {value!r}")
    return int(value)


def _require_count(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{name} must be a whole number >= 0, got {value!r}")
