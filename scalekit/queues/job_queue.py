"""A job queue on Redis with at-least-once delivery: leases, retries, dead letters, idempotency keys.

A job is a JSON payload with an id. ``enqueue`` puts it at the back of the ``ready``
list; ``reserve`` takes the oldest ready job and *leases* it to the caller until a
deadline on the queue's clock. The worker then ``ack``s it (done) or ``nack``s it
(failed: retry later with exponential backoff, or, after ``max_attempts``, move it to
the dead-letter list). A worker that crashes does neither; its lease runs out and
``reap`` puts the job back at the front of the line. So every job runs *at least*
once, and sometimes twice: handlers must be idempotent.

Each step is one Lua script, so two workers never take the same job and a crash
between two Redis commands cannot lose one. Lease deadlines are plain numbers from the
queue's clock: a ``SimClock`` in tests and notebooks, the machine's wall clock by default.
Every process that shares a queue must read the same time line: on one machine the wall
clock is one; across machines their clocks must agree to well within the lease, or pass
``clock=ServerClock(client)`` everywhere to read the Redis server's clock instead.

Keys live under ``<prefix>:``: lists and sorted sets of
job ids, and one hash per job field (``<prefix>:payload``, ``:attempts``, ...) keyed by id,
so every script names all its keys up front. On Redis Cluster the prefix needs a hash tag
(e.g. ``"{jobs}"``) so those keys share a slot.

Durability: the queue is only as durable as the Redis under it. A server with no
persistence loses every job, lease and dead letter when it restarts; RDB snapshots lose
the jobs enqueued since the last snapshot. Run it with ``appendonly yes``: with
``appendfsync everysec`` (the usual choice) a crash of the Redis process alone loses
nothing acknowledged (each write reached the operating system before its reply), and a
crash of the machine loses at most about the last second of jobs; ``appendfsync always``
loses none even then, at the cost of a disk sync per write. Replicas do not replace this:
their replication is asynchronous, so a failover can lose the last writes.
And keep ``maxmemory-policy noeviction`` (the default): an evicting policy may delete a
queue's keys to make room, silently dropping jobs.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import redis
from redis.cluster import RedisCluster

from scalekit.clock import Clock, WallClock
from scalekit.queues import lua
from scalekit.queues.encoding import describe_error, safe_text, to_json
from scalekit.routers.slots import has_hash_tag

_PURGE_KEYS = ("finished", "payload", "attempts", "lease", "status", "error", "idem", "keyof")


def _decoded(body: str) -> Any:
    """A stored payload, or its raw text if it is not JSON (a damaged record)."""
    try:
        return json.loads(body)
    except ValueError:
        return body


def is_number(value: object) -> bool:
    """True for an int or float (numpy's too), False for bools, text and everything else."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


class QueueFull(Exception):
    """``enqueue`` refused a job because the queue already holds ``max_backlog`` unfinished jobs.

    This is back-pressure, the 429/503 of a web service: tell the caller to come back later
    (or shed the request) rather than let the backlog, and every job's wait, grow without bound.
    """

    def __init__(self, prefix: str, backlog: int, max_backlog: int) -> None:
        self.prefix, self.backlog, self.max_backlog = prefix, backlog, max_backlog
        super().__init__(
            f"queue {prefix!r} is full: {backlog} unfinished jobs (max_backlog={max_backlog}); "
            "refuse the request (HTTP 429 or 503) or try again after some jobs finish"
        )


@dataclass(frozen=True)
class Job:
    """A reserved job: its id, payload, which attempt this is (1 = first), its lease deadline,
    and the lease token that proves this reservation is the latest one."""

    id: str
    payload: Any
    attempt: int
    lease_until: float
    token: int = 0


class JobQueue:
    """A named queue of JSON jobs in Redis, with leases, retries and a dead-letter list.

    ``lease`` is how long a worker may hold a job before the reaper gives it to another;
    a failed job waits ``backoff(attempt)`` seconds (``base_backoff`` doubling per attempt,
    capped at ``max_backoff``; with ``rng``, a random "full jitter" share of it) and after
    ``max_attempts`` attempts goes to the dead-letter list.

    ``retention`` (seconds, optional) is how long a finished job's record and its idempotency
    key are kept: ``reap`` (so every worker step) then deletes the records of jobs acked longer
    ago, and a client that retries with that key afterwards creates a new job (SQS keeps its
    deduplication ids for five minutes). Without it, every finished job stays in Redis memory.
    Dead jobs are always kept, for a person to read.

    ``max_backlog`` (optional) bounds the unfinished jobs (ready, waiting to retry, or leased):
    ``enqueue`` beyond it raises ``QueueFull``. The count and the push are one script, so
    racing producers can never take the backlog past the bound.
    """

    def __init__(
        self,
        client: redis.Redis,
        prefix: str = "jobs",
        *,
        lease: float = 30.0,
        max_attempts: int = 5,
        base_backoff: float = 1.0,
        max_backoff: float = 300.0,
        clock: Clock | None = None,
        rng: np.random.Generator | None = None,
        max_backlog: int | None = None,
        retention: float | None = None,
    ) -> None:
        if not isinstance(prefix, str) or not prefix:
            raise ValueError(f"prefix must be a non-empty string, got {prefix!r}")
        if not (is_number(lease) and lease > 0 and math.isfinite(lease)):
            raise ValueError(f"lease must be a finite number of seconds > 0, got {lease!r}")
        if not (is_number(max_attempts) and math.isfinite(max_attempts)) or int(max_attempts) != max_attempts:
            raise ValueError(f"max_attempts must be a whole number >= 1, got {max_attempts!r}")
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be a whole number >= 1, got {max_attempts!r}")
        finite = is_number(base_backoff) and is_number(max_backoff) and math.isfinite(max_backoff)
        if not (finite and 0 <= base_backoff <= max_backoff):
            raise ValueError(
                "backoff needs finite numbers of seconds with 0 <= base_backoff <= max_backoff, "
                f"got {base_backoff!r} and {max_backoff!r}"
            )
        whole = isinstance(max_backlog, (int, np.integer)) and not isinstance(max_backlog, bool)
        if max_backlog is not None and not (whole and max_backlog >= 1):
            raise ValueError(f"max_backlog must be a whole number >= 1 or None, got {max_backlog!r}")
        if isinstance(client, RedisCluster) and not has_hash_tag(prefix):
            raise ValueError(
                "on Redis Cluster the queue prefix needs a {hash tag} so all its keys share a slot, "
                f"e.g. '{{{prefix}}}', got {prefix!r}"
            )
        self.client, self.prefix = client, prefix
        self.lease, self.max_attempts = float(lease), int(max_attempts)
        self.base_backoff, self.max_backoff = float(base_backoff), float(max_backoff)
        self.clock: Clock = clock if clock is not None else WallClock()
        self.rng = rng
        if retention is not None and not (is_number(retention) and 0 < retention < math.inf):
            raise ValueError(f"retention must be None or a finite number of seconds > 0, got {retention!r}")
        self.max_backlog = None if max_backlog is None else int(max_backlog)
        self.retention = None if retention is None else float(retention)
        self.keys = {
            name: f"{prefix}:{name}"
            for name in (
                *("seq", "ready", "delayed", "leased", "dead", "idem", "stats"),
                *("payload", "attempts", "lease", "status", "error", "finished", "keyof"),
            )
        }
        self._enqueue = client.register_script(lua.ENQUEUE)
        self._reserve = client.register_script(lua.RESERVE)
        self._ack = client.register_script(lua.ACK)
        self._nack = client.register_script(lua.NACK)
        self._extend = client.register_script(lua.EXTEND)
        self._reap = client.register_script(lua.REAP)
        self._retry_dead = client.register_script(lua.RETRY_DEAD)
        self._purge = client.register_script(lua.PURGE)

    def enqueue(self, payload: Any, *, key: str | None = None, delay: float = 0.0) -> str:
        """Add a job and return its id; with an idempotency ``key`` seen before, return that job's id.

        The payload must come back from JSON unchanged (string dict keys, lists not tuples,
        finite numbers), or it is refused with a ValueError before anything is written.

        The key makes retried submissions harmless: a client that enqueues, times out and
        enqueues again with the same key creates one job, not two (the first payload wins).
        Keys are remembered as long as the queue's keys exist. ``delay`` (seconds) holds
        the job back before any worker can reserve it. Raises ``QueueFull`` when the queue
        already holds ``max_backlog`` unfinished jobs (a known key is still answered).
        """
        if key is not None and (not isinstance(key, str) or not key):
            raise ValueError(f"an idempotency key must be a non-empty string or None, got {key!r}")
        if not (is_number(delay) and delay >= 0 and math.isfinite(delay)):
            raise ValueError(f"delay must be a finite number of seconds >= 0, got {delay!r}")
        delay = float(delay)
        body = to_json(payload, "a job payload")
        now = self.clock.now()
        job_id, created = self._run(
            self._enqueue,
            ("seq", "ready", "delayed", "idem", "stats", "payload", "attempts", "status", "leased", "keyof"),
            body,
            key or "",
            repr(now),
            repr(now + delay),
            "" if self.max_backlog is None else self.max_backlog,
        )
        if int(created) < 0:
            raise QueueFull(self.prefix, int(job_id), self.max_backlog or 0)
        return str(job_id)

    def reserve(self) -> Job | None:
        """Lease the oldest ready job (due retries first join the line), or None if none is ready.

        A job whose record is damaged (payload deleted, or not JSON) goes to the dead letters
        with the reason instead of reaching a worker."""
        now = self.clock.now()
        lease_until = now + self.lease
        keys = (
            "ready",
            "delayed",
            "leased",
            "status",
            "payload",
            "attempts",
            "lease",
            "error",
            "dead",
        )
        while True:
            found = self._run(self._reserve, keys, repr(now), repr(lease_until))
            if not found:
                return None
            job_id, body, attempt, token = found
            try:
                payload = json.loads(body)
            except ValueError as exc:
                job = Job(str(job_id), None, self.max_attempts, lease_until, int(token))
                self.nack(job, f"payload is not valid JSON ({exc})")
                continue
            return Job(str(job_id), payload, int(attempt), lease_until, int(token))

    def ack(self, job: Job) -> bool:
        """Mark ``job`` done. False if this worker no longer holds its lease (it was reaped).

        Acking the same reservation again returns True and changes nothing, so a client that
        re-sends an ack after a dropped connection does not see its finished job as lost."""
        keys = ("leased", "stats", "lease", "status", "finished")
        done = self._run(self._ack, keys, job.id, str(job.token), repr(self.clock.now()))
        return bool(done)

    def nack(self, job: Job, error: str | BaseException = "failed") -> str:
        """Report that ``job`` failed: return ``"retry"`` (scheduled after a backoff), ``"dead"``
        (out of attempts, moved to the dead-letter list) or ``"lost"`` (lease no longer held).

        Sending the same nack again (after a dropped reply) returns the same outcome."""
        retry_at = self.clock.now() + self.backoff(job.attempt)
        outcome = self._run(
            self._nack,
            ("leased", "delayed", "dead", "stats", "lease", "status", "error"),
            job.id,
            str(job.token),
            safe_text(error if isinstance(error, str) else describe_error(error)),
            repr(retry_at),
            self.max_attempts,
            job.attempt,
        )
        return {0: "lost", 1: "retry", 2: "dead"}[int(outcome)]

    def extend(self, job: Job, seconds: float | None = None) -> Job | None:
        """Renew the lease of a long job (a heartbeat); the renewed job, or None if the lease was lost."""
        seconds = self.lease if seconds is None else seconds
        if not (is_number(seconds) and seconds > 0 and math.isfinite(seconds)):
            raise ValueError(f"a lease extension must be a finite number of seconds > 0, got {seconds!r}")
        seconds = float(seconds)
        lease_until = self.clock.now() + seconds
        renewed = self._run(self._extend, ("leased", "lease"), job.id, str(job.token), repr(lease_until))
        return Job(job.id, job.payload, job.attempt, lease_until, job.token) if renewed else None

    def reap(self) -> tuple[list[str], list[str]]:
        """Take back jobs whose lease ran out (their worker crashed or hung).

        Returns ``(requeued, dead)`` job ids: requeued jobs go to the front of the line;
        a job that has already used all its attempts, or whose record was deleted, goes to
        the dead-letter list.
        """
        requeued, dead = self._run(
            self._reap,
            ("leased", "ready", "dead", "stats", "attempts", "status", "error"),
            repr(self.clock.now()),
            self.max_attempts,
        )
        if self.retention is not None:
            self.purge(self.retention)
        return [str(i) for i in requeued], [str(i) for i in dead]

    def purge(self, older_than: float) -> int:
        """Delete the records (and idempotency keys) of jobs acked more than ``older_than``
        seconds ago; return how many. A re-sent ack of such a job then reports it lost."""
        if not (is_number(older_than) and older_than >= 0 and math.isfinite(older_than)):
            raise ValueError(f"older_than must be a finite number of seconds >= 0, got {older_than!r}")
        cutoff, keys, purged = repr(self.clock.now() - float(older_than)), _PURGE_KEYS, 0
        while True:
            batch = int(self._run(self._purge, keys, cutoff, 500))
            purged += batch
            if batch < 500:
                return purged

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before retrying after failed attempt number ``attempt`` (1, 2, ...)."""
        if attempt < 1:
            raise ValueError(f"attempt numbers start at 1, got {attempt}")
        delay = min(self.max_backoff, self.base_backoff * 2.0 ** min(attempt - 1, 60))
        return float(self.rng.uniform(0.0, delay)) if self.rng is not None else delay

    def next_change(self) -> float | None:
        """The earliest time a delayed job becomes due or a lease runs out (None: nothing pending)."""
        times = []
        for name in ("delayed", "leased"):
            first = self.client.zrange(self.keys[name], 0, 0, withscores=True)
            if first:
                times.append(float(first[0][1]))
        return min(times) if times else None

    def info(self, job_id: str) -> dict[str, Any]:
        """Status, attempts, payload and last error of job ``job_id`` (empty dict if unknown;
        a payload that is not JSON comes back as its raw text)."""
        with self.client.pipeline(transaction=False) as pipe:
            for field in ("status", "attempts", "payload", "error"):
                pipe.hget(self.keys[field], str(job_id))
            status, attempts, payload, error = pipe.execute()
        if status is None:
            return {}
        return {
            "id": str(job_id),
            "status": status,
            "attempts": int(attempts or 0),
            "payload": None if payload is None else _decoded(payload),
            "error": error or "",
        }

    def dead_letters(self) -> list[dict[str, Any]]:
        """The jobs in the dead-letter list, oldest first, with their last error."""
        ids = self.client.lrange(self.keys["dead"], 0, -1)
        return [self.info(job_id) for job_id in reversed(ids)]

    def retry_dead(self, job_id: str) -> bool:
        """Give a dead job a fresh set of attempts (after fixing its cause); False if it is not dead.

        Its lease token is kept, so a worker still holding an old reservation stays locked out.
        Raises ``QueueFull`` if the queue already holds ``max_backlog`` unfinished jobs."""
        limit = "" if self.max_backlog is None else self.max_backlog
        keys = ("dead", "ready", "status", "attempts", "delayed", "leased")
        outcome = int(self._run(self._retry_dead, keys, str(job_id), limit))
        if outcome < 0:
            raise QueueFull(self.prefix, -outcome - 1, self.max_backlog or 0)
        return bool(outcome)

    def _run(self, script: Any, key_names: tuple[str, ...], *args: Any) -> Any:
        """Run a Lua ``script`` with the queue keys named in ``key_names`` as its KEYS."""
        return script(keys=[self.keys[name] for name in key_names], args=list(args))

    def stats(self) -> dict[str, int]:
        """How many jobs are ready, delayed, leased and dead now, and the lifetime counters."""
        with self.client.pipeline(transaction=False) as pipe:
            pipe.llen(self.keys["ready"])
            pipe.zcard(self.keys["delayed"])
            pipe.zcard(self.keys["leased"])
            pipe.llen(self.keys["dead"])
            pipe.hgetall(self.keys["stats"])
            ready, delayed, leased, dead, counters = pipe.execute()
        result = {"ready": int(ready), "delayed": int(delayed), "leased": int(leased), "dead": int(dead)}
        for name in ("enqueued", "duplicates", "refused", "acked", "retried", "reaped"):
            result[name] = int(counters.get(name, 0))
        return result

    def pending(self) -> int:
        """Jobs not finished yet: ready, waiting to retry, or leased."""
        counts = self.stats()
        return counts["ready"] + counts["delayed"] + counts["leased"]

    def __repr__(self) -> str:
        bound = "" if self.max_backlog is None else f", max_backlog={self.max_backlog}"
        bound += "" if self.retention is None else f", retention={self.retention:g}"
        settings = f"lease={self.lease:g}, max_attempts={self.max_attempts}{bound}"
        return f"JobQueue(prefix={self.prefix!r}, {settings})"
