"""Read replicas: writes go to the primary, reads are spread over copies that lag behind.

The primary keeps a replication log of every successful write (statement and
parameters, the way statement-based replication works). Each replica replays the
log after its own delay, measured on a clock (a ``SimClock`` in the course), so a
read sent to a replica right after a write can return old data. The router shows
the three standard answers to that: read-your-writes pinning, ejecting replicas
that fall too far behind, and falling back to the primary when no replica is fit.

Replaying statements is only faithful for deterministic SQL: ``random()`` or
``CURRENT_TIMESTAMP`` would give each replica a different value, which is why real
databases often ship row changes instead. Pass such values as parameters. The log
is kept whole, for inspection; a real primary discards what every replica has.
"""

from __future__ import annotations

import math
import numbers
import sqlite3
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from scalekit import db
from scalekit.clock import Clock

PRIMARY = "primary"


class LogEntry(NamedTuple):
    """One committed write: when the primary committed it, and what to replay."""

    at: float
    sql: str
    params: tuple[Any, ...] | dict[str, Any]


class ReplicationError(RuntimeError):
    """A replica could not replay a logged write: it has diverged from the primary."""


@dataclass
class Replica:
    """A replica's connection, its replication delay, where it is in the log, and why it failed."""

    name: str
    connection: sqlite3.Connection
    lag: float
    position: int = 0
    reads: int = 0
    applied: int = 0
    failed: str | None = None


class ReplicaRouter:
    """Route SQL to a primary and its asynchronous read replicas.

    ``lag`` is each replica's replication delay in seconds (one number for all, or
    one per replica): a write committed at time ``t`` reaches the replica at
    ``t + lag``. ``max_lag`` takes a replica out of the read rotation while it is
    more than that many seconds behind; ``pin_window`` sends a user's reads to the
    primary for that long after the user wrote (read-your-writes; correct only when
    it is at least the largest lag). A replica that cannot replay a logged write has
    diverged: it is marked ``failed`` and leaves the rotation for good, while the
    others keep serving. Connections must be in autocommit mode, as
    :func:`scalekit.db.connect` makes them; replicas are set read-only
    (``PRAGMA query_only``) except while they replay the log. One lock serialises the
    router's calls, so threads may share it: the log keeps the primary's commit order
    and no replica replays an entry twice.
    """

    def __init__(
        self,
        primary: sqlite3.Connection,
        replicas: Sequence[sqlite3.Connection],
        *,
        clock: Clock,
        lag: float | Sequence[float] = 1.0,
        max_lag: float | None = None,
        pin_window: float = 0.0,
        names: Sequence[str] | None = None,
    ) -> None:
        connections = list(replicas)
        for connection in [primary, *connections]:
            if not isinstance(connection, sqlite3.Connection):
                raise TypeError(f"nodes must be sqlite3 connections, got {type(connection).__name__}")
            if connection.isolation_level is not None:
                raise ValueError(
                    "the router needs autocommit connections (isolation_level=None), "
                    "like those from scalekit.db.connect()"
                )
        if len({id(c) for c in [primary, *connections]}) != len(connections) + 1:
            raise ValueError("each node needs its own connection: the primary and replicas must differ")
        if isinstance(lag, (str, bytes)) or not isinstance(lag, (numbers.Real, Sequence)):
            raise TypeError(f"lag must be a number of seconds (or one per replica), got {lag!r}")
        lags = [lag] * len(connections) if isinstance(lag, numbers.Real) else list(lag)
        if len(lags) != len(connections):
            raise ValueError(f"got {len(lags)} lags for {len(connections)} replicas: give one per replica")
        for value in lags:
            _check_seconds("lag", value)
        if max_lag is not None:
            _check_seconds("max_lag", max_lag)
        _check_seconds("pin_window", pin_window)
        labels = list(names) if names is not None else [f"replica-{i + 1}" for i in range(len(connections))]
        if len(labels) != len(connections) or len(set(labels)) != len(labels) or PRIMARY in labels:
            raise ValueError(f"need {len(connections)} distinct replica names other than {PRIMARY!r}")

        self.primary = primary
        self.clock = clock
        self.max_lag = max_lag
        self.pin_window = float(pin_window)
        self.replicas = [Replica(n, c, float(x)) for n, c, x in zip(labels, connections, lags, strict=True)]
        self.log: list[LogEntry] = []
        self.primary_reads = 0
        self.primary_writes = 0
        self.fallbacks = 0
        self.last_node: str | None = None
        self._next = 0
        self._pinned_until: dict[Any, float] = {}
        self._lock = threading.RLock()
        for replica in self.replicas:
            replica.connection.execute("PRAGMA query_only = ON")

    @classmethod
    def from_primary(
        cls, primary: sqlite3.Connection, n_replicas: int, *, clock: Clock, **options: Any
    ) -> ReplicaRouter:
        """A router with ``n_replicas`` in-memory replicas, each a snapshot (backup) of ``primary``."""
        if isinstance(n_replicas, bool) or not isinstance(n_replicas, numbers.Integral) or n_replicas < 0:
            raise ValueError(f"n_replicas must be an int >= 0, got {n_replicas!r}")
        replicas = []
        for _ in range(int(n_replicas)):
            replica = db.connect()
            primary.backup(replica)
            replicas.append(replica)
        return cls(primary, replicas, clock=clock, **options)

    def execute(
        self,
        sql: str,
        params: Sequence[Any] | Mapping[str, Any] = (),
        *,
        is_write: bool | None = None,
        user: Any = None,
    ) -> list[dict[str, Any]]:
        """Run one parameterised statement on the right node and return its rows.

        The router classifies ``sql`` itself; ``is_write`` overrides that for a
        statement it cannot classify (e.g. a PRAGMA), and ``is_write=True`` on a
        SELECT makes a fresh read from the primary. ``user`` identifies whose
        request this is, for read-your-writes: only a logged write pins that user.
        """
        if is_write is not None and not isinstance(is_write, bool):
            raise TypeError(f"is_write must be True, False or None, got {is_write!r}")
        with self._lock:
            frozen = _freeze(params)
            override = None if is_write is None else ("write" if is_write else "read")
            try:
                kind = db.statement_kind(sql, unknown=override)
            except db.UnclassifiedStatement as exc:
                hint = "pass is_write=True or is_write=False to say where it must run"
                raise db.UnclassifiedStatement(exc.keyword, hint) from None
            if is_write is False and kind == "write":
                raise ValueError(
                    "this statement writes; sending it to a replica would make that replica "
                    "differ from the primary. Drop is_write=False."
                )
            if is_write or kind == "write":
                return self._write(sql, frozen, replicate=kind == "write", user=user)
            return self._read(sql, frozen, user=user)

    def _write(self, sql: str, params: Any, *, replicate: bool, user: Any) -> list[dict[str, Any]]:
        now = self.clock.now()
        rows = db.query(self.primary, sql, params)
        self.last_node = PRIMARY
        if not replicate:
            self.primary_reads += 1
            return rows
        self.primary_writes += 1
        self.log.append(LogEntry(now, sql, params))
        if user is not None and self.pin_window > 0:
            self._pinned_until[user] = now + self.pin_window
        return rows

    def _read(self, sql: str, params: Any, *, user: Any) -> list[dict[str, Any]]:
        node = self.choose_read_node(user)
        if node is None:
            self.primary_reads += 1
            self.last_node = PRIMARY
            return db.query(self.primary, sql, params)
        node.reads += 1
        self.last_node = node.name
        return db.query(node.connection, sql, params)

    def choose_read_node(self, user: Any = None) -> Replica | None:
        """The replica the next read goes to (round robin), or None for the primary.

        The primary serves the read when ``user`` is pinned after a recent write, or
        when no replica is healthy and within ``max_lag`` (a fallback, counted in ``fallbacks``).
        """
        with self._lock:
            now = self.clock.now()
            if user is not None and now < self._pinned_until.get(user, -math.inf):
                return None
            count = len(self.replicas)
            for step in range(count):
                index = (self._next + step) % count
                replica = self.replicas[index]
                self._catch_up(replica)
                if self._in_rotation(replica):
                    self._next = index + 1
                    return replica
            if count:
                self.fallbacks += 1
            return None

    def replicate(self) -> int:
        """Let every replica replay all log entries that are due now; return how many it replayed.

        Raises :class:`ReplicationError` if a replica has diverged, after the others caught up.
        """
        with self._lock:
            replayed = sum(self._catch_up(replica) for replica in self.replicas)
            failures = [replica.failed for replica in self.replicas if replica.failed]
            if failures:
                raise ReplicationError("; ".join(failures))
            return replayed

    def behind(self, replica: str | int) -> float:
        """Seconds the replica is behind: the age of the oldest write it has not replayed yet."""
        with self._lock:
            node = self._replica(replica)
            self._catch_up(node)
            if node.position >= len(self.log):
                return 0.0
            return self.clock.now() - self.log[node.position].at

    def set_lag(self, replica: str | int, seconds: float) -> None:
        """Change a replica's replication delay (``math.inf`` stops its replication)."""
        with self._lock:
            _check_seconds("lag", seconds, allow_inf=True)
            node = self._replica(replica)
            self._catch_up(node)
            node.lag = float(seconds)

    def in_rotation(self) -> list[str]:
        """Names of the replicas that may serve reads now."""
        with self._lock:
            return [replica.name for replica in self.replicas if self._in_rotation(replica)]

    def stats(self) -> list[dict[str, Any]]:
        """One row per node: reads served, writes executed or replayed, seconds behind, failure."""
        with self._lock:
            rows = [
                {
                    "node": PRIMARY,
                    "reads": self.primary_reads,
                    "writes": self.primary_writes,
                    "behind_s": 0.0,
                    "in_rotation": True,
                    "failed": None,
                }
            ]
            for replica in self.replicas:
                self._catch_up(replica)
                rows.append(
                    {
                        "node": replica.name,
                        "reads": replica.reads,
                        "writes": replica.applied,
                        "behind_s": self.behind(replica.name),
                        "in_rotation": self._in_rotation(replica),
                        "failed": replica.failed,
                    }
                )
            return rows

    def _in_rotation(self, replica: Replica) -> bool:
        if replica.failed is not None:
            return False
        return self.max_lag is None or self.behind(replica.name) <= self.max_lag

    def _catch_up(self, replica: Replica) -> int:
        now = self.clock.now()
        log = self.log
        start = replica.position
        connection = replica.connection
        if replica.failed is not None or start >= len(log) or log[start].at + replica.lag > now:
            return 0
        connection.execute("PRAGMA query_only = OFF")
        try:
            while replica.position < len(log) and log[replica.position].at + replica.lag <= now:
                entry = log[replica.position]
                try:
                    connection.execute(entry.sql, entry.params)
                except sqlite3.Error as exc:
                    replica.failed = (
                        f"{replica.name} could not replay log entry {replica.position} "
                        f"({entry.sql!r}): {exc}. It no longer matches the primary; rebuild it from a backup."
                    )
                    break
                replica.position += 1
                replica.applied += 1
        finally:
            connection.execute("PRAGMA query_only = ON")
        return replica.position - start

    def _replica(self, key: str | int) -> Replica:
        if isinstance(key, int) and not isinstance(key, bool):
            if 0 <= key < len(self.replicas):
                return self.replicas[key]
        else:
            for replica in self.replicas:
                if replica.name == key:
                    return replica
        known = [replica.name for replica in self.replicas]
        raise KeyError(f"no replica {key!r}; replicas are {known} (or their index 0..{len(known) - 1})")


def _freeze(params: Any) -> tuple[Any, ...] | dict[str, Any]:
    """A private copy of the parameters, so a caller mutating its list cannot change the log."""
    if isinstance(params, Mapping):
        return dict(params)
    if isinstance(params, (tuple, list)):
        return tuple(params)
    raise TypeError(
        "params must be a tuple, list or dict of values for the ? placeholders, "
        f"got {type(params).__name__}: the router only runs parameterised queries"
    )


def _check_seconds(name: str, value: float, *, allow_inf: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value):
        raise TypeError(f"{name} must be a number of seconds, got {value!r}")
    if value < 0 or (math.isinf(value) and not allow_inf):
        allowed = "a number >= 0 (math.inf allowed)" if allow_inf else "a finite number >= 0"
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
