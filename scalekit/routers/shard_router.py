"""A router over SQLite shards: one-shard queries and scatter-gather queries.

Users and their posts live on the same shard (the shard of the user's routing key), so
"this user's posts" touches one database. A question about everyone, such as the most
liked posts overall, has to ask every shard and merge the answers: :class:`QueryResult`
reports how many shards were touched and how many rows travelled back to the router.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any, Protocol

from scalekit import db

ShardId = Hashable

_USER_COLUMNS = ("id", "name", "email", "country", "created_at")
_POST_COLUMNS = ("id", "user_id", "body", "likes", "created_at")


class Strategy(Protocol):
    """What :class:`ShardRouter` needs from a sharding strategy."""

    def shard_for(self, key: Any) -> ShardId: ...

    def shard_ids(self) -> list[ShardId]: ...


@dataclass(frozen=True)
class QueryResult:
    """Rows of a routed query and what it cost: shards asked, rows sent back to the router."""

    rows: list[dict[str, Any]]
    shards_touched: int
    rows_moved: int


class ShardRouter:
    """Routes users and posts to SQLite shards with a sharding ``strategy``.

    ``shards`` is a list of connections (shard ids 0, 1, ...) or a mapping from shard id
    to connection. The routing key of a user is the user id unless ``shard_key`` maps a
    user id to something else (a country for :class:`GeoSharding`, a sign-up time for
    :class:`RangeSharding`). Post ids are global: per-shard autoincrement would repeat ids.
    One lock serialises the router's calls, so threads sharing it cannot open a
    transaction inside another thread's, nor roll back rows another thread was told
    were stored.
    """

    def __init__(
        self,
        strategy: Strategy,
        shards: Sequence[sqlite3.Connection] | Mapping[ShardId, sqlite3.Connection],
        *,
        shard_key: Callable[[int], Any] | None = None,
    ) -> None:
        if isinstance(shards, Mapping):
            self._shards = dict(shards)
        elif isinstance(shards, Sequence) and not isinstance(shards, (str, bytes)):
            self._shards = dict(enumerate(shards))
        else:
            raise TypeError(
                f"shards must be a list or a mapping of sqlite3 connections, got {type(shards).__name__}"
            )
        if not self._shards:
            raise ValueError("a ShardRouter needs at least one shard, got none")
        owners: dict[int, ShardId] = {}
        for shard_id, connection in self._shards.items():
            if not isinstance(connection, sqlite3.Connection):
                raise TypeError(
                    f"shard {shard_id!r} must be a sqlite3.Connection, got {type(connection).__name__}"
                )
            if connection.isolation_level is not None:
                raise ValueError(
                    f"shard {shard_id!r} needs an autocommit connection (isolation_level=None), "
                    "like those from scalekit.db.connect(): the router opens its own transactions"
                )
            if id(connection) in owners:
                raise ValueError(
                    f"shards {owners[id(connection)]!r} and {shard_id!r} share one connection: "
                    "each shard is its own database"
                )
            owners[id(connection)] = shard_id
        missing = [sid for sid in strategy.shard_ids() if sid not in self._shards]
        if missing:
            raise ValueError(
                f"the strategy routes to shards {missing} that were not given; "
                f"shards given: {list(self._shards)}"
            )
        self.strategy = strategy
        self.shard_key = shard_key
        self._lock = threading.RLock()

    @property
    def shard_ids(self) -> list[ShardId]:
        """The ids of this router's shards."""
        return list(self._shards)

    def shard_for(self, user_id: int) -> ShardId:
        """The shard holding ``user_id`` and that user's posts."""
        key = user_id if self.shard_key is None else self.shard_key(user_id)
        shard_id = self.strategy.shard_for(key)
        if shard_id not in self._shards:
            raise KeyError(
                f"the strategy sent user {user_id!r} to shard {shard_id!r}, which this router does not have"
            )
        return shard_id

    def connection(self, shard_id: ShardId) -> sqlite3.Connection:
        """The connection of shard ``shard_id``."""
        try:
            return self._shards[shard_id]
        except KeyError:
            raise KeyError(f"no shard {shard_id!r}; the shards are {list(self._shards)}") from None

    def create_tables(self) -> None:
        """Create the users and posts tables on every shard."""
        with self._lock:
            for connection in self._shards.values():
                db.create_tables(connection, ("users", "posts"))

    def load(self, users: Iterable[Mapping[str, Any]] = (), posts: Iterable[Mapping[str, Any]] = ()) -> None:
        """Insert users and posts, each on its user's shard.

        Every row is routed before anything is written, so a key no shard accepts
        changes nothing. Then every shard that gets rows opens a transaction, all
        inserts run, and any failure rolls back every shard; only if all succeeded
        does each shard commit. Those COMMITs run one after another and are not
        atomic together: a crash between two of them leaves some shards written and
        others not. Closing that gap takes a distributed transaction (two-phase
        commit), which sharded systems mostly avoid: one of the costs of sharding.
        """
        with self._lock:
            batches: dict[ShardId, tuple[list[tuple], list[tuple]]] = {sid: ([], []) for sid in self._shards}
            for user in users:
                batches[self.shard_for(user["id"])][0].append(
                    _row(user, _USER_COLUMNS, "user", {"country": "US"})
                )
            for post in posts:
                batches[self.shard_for(post["user_id"])][1].append(
                    _row(post, _POST_COLUMNS, "post", {"likes": 0})
                )
            filled = {sid: rows for sid, rows in batches.items() if rows[0] or rows[1]}
            with ExitStack() as transactions:
                for shard_id in filled:
                    transactions.enter_context(db.transaction(self._shards[shard_id]))
                for shard_id, (user_rows, post_rows) in filled.items():
                    _insert(self._shards[shard_id], user_rows, post_rows)

    def add_user(
        self, user_id: int, name: str, email: str, country: str = "US", created_at: float = 0.0
    ) -> ShardId:
        """Insert one user on its shard and return the shard id."""
        row = {"id": user_id, "name": name, "email": email, "country": country, "created_at": created_at}
        self.load(users=[row])
        return self.shard_for(user_id)

    def add_post(
        self, post_id: int, user_id: int, body: str, likes: int = 0, created_at: float = 0.0
    ) -> ShardId:
        """Insert one post on its author's shard and return the shard id."""
        row = {"id": post_id, "user_id": user_id, "body": body, "likes": likes, "created_at": created_at}
        self.load(posts=[row])
        return self.shard_for(user_id)

    def get_user_posts(self, user_id: int) -> QueryResult:
        """One user's posts, newest first: a query on exactly one shard."""
        with self._lock:
            rows = db.query(
                self._shards[self.shard_for(user_id)],
                "SELECT * FROM posts WHERE user_id = ? ORDER BY created_at DESC, id",
                (user_id,),
            )
            return QueryResult(rows, shards_touched=1, rows_moved=len(rows))

    def top_posts(self, limit: int = 10, *, push_down: bool = True) -> QueryResult:
        """The ``limit`` most liked posts overall: scatter to every shard, gather, merge.

        With ``push_down`` each shard sends only its own top ``limit`` rows (at most
        ``shards * limit`` rows move); without it every shard ships every post.
        """
        with self._lock:
            if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
                raise ValueError(f"limit must be an int >= 1, got {limit!r}")
            sql = "SELECT * FROM posts ORDER BY likes DESC, id"
            params: tuple[Any, ...] = ()
            if push_down:
                sql += " LIMIT ?"
                params = (limit,)
            gathered: list[dict[str, Any]] = []
            for connection in self._shards.values():
                gathered.extend(db.query(connection, sql, params))
            merged = sorted(gathered, key=lambda row: (-row["likes"], row["id"]))[:limit]
            return QueryResult(merged, shards_touched=len(self._shards), rows_moved=len(gathered))

    def counts(self) -> dict[ShardId, dict[str, int]]:
        """Users and posts stored on each shard."""
        with self._lock:
            return {
                shard_id: {
                    "users": connection.execute("SELECT COUNT(*) FROM users").fetchone()[0],
                    "posts": connection.execute("SELECT COUNT(*) FROM posts").fetchone()[0],
                }
                for shard_id, connection in self._shards.items()
            }

    def __repr__(self) -> str:
        return f"ShardRouter({self.strategy!r}, shards={list(self._shards)!r})"


def _row(
    values: Mapping[str, Any], columns: tuple[str, ...], what: str, defaults: Mapping[str, Any]
) -> tuple:
    missing = [c for c in columns if c not in values and c not in defaults and c != "created_at"]
    if missing:
        raise ValueError(
            f"a {what} row needs the columns {list(columns)}; missing {missing} in {dict(values)!r}"
        )
    return tuple(values.get(c, defaults.get(c, 0.0)) for c in columns)


def _insert(connection: sqlite3.Connection, user_rows: list[tuple], post_rows: list[tuple]) -> None:
    if user_rows:
        connection.executemany("INSERT INTO users VALUES (?, ?, ?, ?, ?)", user_rows)
    if post_rows:
        connection.executemany("INSERT INTO posts VALUES (?, ?, ?, ?, ?)", post_rows)
