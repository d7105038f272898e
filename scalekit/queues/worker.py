"""A worker: reserve a job, run its handler, acknowledge it; a failure becomes a retry.

The loop is deliberately plain: reap expired leases, reserve, run, ack (or nack on an
exception). ``run(max_jobs=...)`` stops after that many handler runs, or when the queue
has nothing left to do; while retries wait for their backoff or a crashed worker's lease
runs out, it sleeps on the queue's clock (instantly, on a ``SimClock``).

Three things keep a worker alive and its jobs safe:

- a **heartbeat** renews the lease of the running job every ``heartbeat`` seconds, so a
  job may run longer than its lease (see ``scalekit.queues.heartbeat``);
- any exception from the handler becomes a retry, even one that cannot be printed;
- a Redis outage (``ConnectionError``, ``TimeoutError``, or a server that answers but
  cannot serve writes for a while: READONLY after a failover, MISCONF after a failed
  snapshot, BUSY, LOADING) is waited out with bounded exponential backoff and logged; a
  job whose lease ran out meanwhile is reaped and run again, which is why handlers must be
  idempotent.

A handler that raises anything but ``KeyboardInterrupt`` (``SystemExit`` from a library,
``asyncio.CancelledError``: neither is an ``Exception``) fails its job, not the worker.

Run a worker as its own OS process with ``python -m scalekit.queues.worker --help``;
fault tests kill such processes with SIGKILL in the middle of a job.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import math
import os
import sys
import time
from collections import deque
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import redis

from scalekit.backend import redact
from scalekit.clock import SimClock
from scalekit.queues.encoding import describe_error
from scalekit.queues.heartbeat import Heartbeat
from scalekit.queues.job_queue import Job, JobQueue, is_number
from scalekit.queues.server_clock import ServerClock

Handler = Callable[[Job], object]
T = TypeVar("T")
log = logging.getLogger("scalekit.queues")
OUTAGE_ERRORS = (redis.ConnectionError, redis.TimeoutError)
# Replies that mean "the server cannot serve writes right now", not "your command is wrong":
# a replica promoted or demoted (READONLY), a cluster resharding or failing over, a failed
# snapshot that stops writes (MISCONF), a long-running script (BUSY). They pass, so they are
# waited out like a dropped connection.
_PASSING = (
    redis.exceptions.ReadOnlyError,
    redis.exceptions.TryAgainError,
    redis.exceptions.ClusterDownError,
    redis.exceptions.MasterDownError,
)


def is_outage(exc: BaseException) -> bool:
    """True if ``exc`` says Redis is unreachable or briefly unable to serve, so waiting helps."""
    if isinstance(exc, (*OUTAGE_ERRORS, *_PASSING)):
        return True
    return isinstance(exc, redis.ResponseError) and str(exc).startswith(("MISCONF ", "BUSY "))


_COUNT_ONCE = """
if redis.call('SADD', KEYS[2], ARGV[1]) == 1 then
  redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
  return 1
end
return 0
"""


@dataclass(frozen=True)
class Outcome:
    """What happened to one handler run: ``done``, ``retry``, ``dead`` or ``lost`` (lease gone),
    and how many times its heartbeat renewed the lease."""

    job_id: str
    attempt: int
    result: str
    worker: str
    at: float
    error: str = ""
    beats: int = 0


class Worker:
    """Runs ``handler(job)`` for jobs of ``queue``; an exception means "retry later".

    ``heartbeat`` (seconds, default a third of the lease; ``None`` turns it off) is how often
    a background thread renews the lease of the running job; ``max_runtime`` (seconds, default
    no limit) stops renewing a handler that runs that long, so a hung job is reaped. On a
    ``SimClock`` time moves only when code moves it, so there is no background heartbeat.

    A Redis outage is retried after ``reconnect_base`` seconds, doubling up to
    ``reconnect_max``, for as long as it lasts; ``reconnects`` counts the retries.
    ``log`` keeps the latest outcomes (at most ``log_size``) for tables and tests;
    ``poll`` is the longest single sleep while waiting for work.
    """

    def __init__(
        self,
        queue: JobQueue,
        handler: Handler,
        *,
        name: str = "worker",
        poll: float = 1.0,
        log_size: int = 10_000,
        heartbeat: float | bool | None = True,
        max_runtime: float | None = None,
        reconnect_base: float = 0.05,
        reconnect_max: float = 2.0,
    ) -> None:
        if not (is_number(poll) and poll > 0 and math.isfinite(poll)):
            raise ValueError(f"poll must be a finite number of seconds > 0, got {poll!r}")
        if not callable(handler):
            raise ValueError(f"handler must be callable with a Job, got {handler!r}")
        if heartbeat is True:
            heartbeat = queue.lease / 3
        elif heartbeat is False:
            heartbeat = None
        if heartbeat is not None and not (is_number(heartbeat) and 0 < heartbeat < queue.lease):
            raise ValueError(
                f"heartbeat must be None or a number of seconds between 0 and the lease "
                f"({queue.lease:g} s), got {heartbeat}"
            )
        if max_runtime is not None and not (is_number(max_runtime) and 0 < max_runtime < math.inf):
            raise ValueError(f"max_runtime must be None or a number of seconds > 0, got {max_runtime}")
        numbers = is_number(reconnect_base) and is_number(reconnect_max)
        if not (numbers and 0 < reconnect_base <= reconnect_max < math.inf):
            raise ValueError(
                f"reconnect backoff needs 0 < reconnect_base <= reconnect_max, got {reconnect_base} "
                f"and {reconnect_max}"
            )
        self.queue, self.handler, self.name, self.poll = queue, handler, name, float(poll)
        self.heartbeat = None if heartbeat is None else float(heartbeat)
        self.max_runtime = max_runtime
        self.reconnect_base, self.reconnect_max = float(reconnect_base), float(reconnect_max)
        self.reconnects = 0
        self.log: deque[Outcome] = deque(maxlen=log_size)
        self.counts = {"done": 0, "retry": 0, "dead": 0, "lost": 0}

    def step(self) -> Outcome | None:
        """Reap expired leases, then reserve and process one job; None if no job was ready."""
        self._retrying(self.queue.reap)
        job = self._retrying(self.queue.reserve)
        return None if job is None else self.process(job)

    def process(self, job: Job) -> Outcome:
        """Run the handler on a reserved ``job`` (renewing its lease meanwhile) and ack it,
        or nack it if the handler raised."""
        error = ""
        beating = self._heartbeat(job)
        with beating:
            try:
                self.handler(job)
            except KeyboardInterrupt:
                raise
            except BaseException as exc:
                error = describe_error(exc)
        if error:
            result = self._retrying(self.queue.nack, job, error)
        else:
            result = "done" if self._retrying(self.queue.ack, job) else "lost"
        beats = beating.beats if isinstance(beating, Heartbeat) else 0
        at = self._retrying(self.queue.clock.now)
        outcome = Outcome(job.id, job.attempt, result, self.name, at, error, beats)
        self.log.append(outcome)
        self.counts[result] += 1
        return outcome

    def _heartbeat(self, job: Job) -> Heartbeat | nullcontext[None]:
        if self.heartbeat is None or isinstance(self.queue.clock, SimClock):
            return nullcontext()
        return Heartbeat(self.queue, job, self.heartbeat, max_runtime=self.max_runtime)

    def _retrying(self, call: Callable[..., T], *args: Any) -> T:
        """``call(*args)``, retried through a Redis outage with bounded exponential backoff.

        Every queue operation is safe to repeat: a lost reply to ``reserve`` leaves a lease
        that the reaper recovers, and a repeated ``ack`` or ``nack`` of one reservation
        reports the same outcome."""
        failures = 0
        while True:
            try:
                return call(*args)
            except redis.RedisError as exc:
                if not is_outage(exc):
                    raise
                delay = min(self.reconnect_max, self.reconnect_base * 2.0 ** min(failures, 30))
                failures += 1
                self.reconnects += 1
                log.warning(
                    "%s: Redis unreachable during %s (%s); retry %d in %.2f s",
                    self.name,
                    getattr(call, "__name__", "a call"),
                    describe_error(exc),
                    failures,
                    delay,
                )
                self.queue.clock.sleep(delay)

    def run(self, max_jobs: int | None = None, *, forever: bool = False) -> int:
        """Process jobs; return how many handler runs happened.

        Stops after ``max_jobs`` runs, or (unless ``forever``) once nothing is ready,
        waiting to retry or leased. Waiting jobs are waited for on the queue's clock.
        """
        whole = is_number(max_jobs) and math.isfinite(max_jobs) and int(max_jobs) == max_jobs
        if max_jobs is not None and not (whole and max_jobs >= 0):
            raise ValueError(f"max_jobs must be a whole number >= 0 or None, got {max_jobs!r}")
        handled = 0
        while max_jobs is None or handled < max_jobs:
            if self.step() is not None:
                handled += 1
                continue
            upcoming = self._retrying(self.queue.next_change)
            if upcoming is None and not forever:
                return handled
            self._wait_until(upcoming)
        return handled

    def _wait_until(self, when: float | None) -> None:
        clock = self.queue.clock
        now = self._retrying(clock.now)  # a ServerClock reads Redis, which may be down
        if when is None or when - now > self.poll:
            clock.sleep(self.poll)
        elif hasattr(clock, "advance_to"):
            clock.advance_to(max(when, now))
        elif when > now:
            clock.sleep(when - now)


def counting_handler(client: redis.Redis, key: str, *, idempotent: bool = False) -> Handler:
    """A handler with a visible side effect: add 1 to the job's count in the hash ``key``.

    The plain version counts every run, so a job run twice (at-least-once delivery)
    counts 2. The idempotent version records the job id in the set ``<key>:seen`` and
    counts in the same Lua script, so running a job again changes nothing.
    """
    if not idempotent:

        def count(job: Job) -> None:
            client.hincrby(key, job.id, 1)

        return count
    count_once = client.register_script(_COUNT_ONCE)

    def count_idempotently(job: Job) -> None:
        count_once(keys=[key, f"{key}:seen"], args=[job.id])

    return count_idempotently


def _load_handler(spec: str) -> Handler:
    module_name, _, function_name = spec.partition(":")
    if not module_name or not function_name:
        raise ValueError(f"a handler is given as module:function, got {spec!r}")
    return getattr(importlib.import_module(module_name), function_name)


def main(argv: list[str] | None = None) -> int:
    """Command line: one worker process against a real Redis (e.g. for fault tests)."""
    parser = argparse.ArgumentParser(description="Run a scalekit JobQueue worker.")
    parser.add_argument("--url", default=os.environ.get("REDIS_URL"), help="Redis URL (default: $REDIS_URL)")
    parser.add_argument("--prefix", default="jobs", help="the queue's key prefix")
    parser.add_argument("--name", default=f"worker-{os.getpid()}")
    parser.add_argument("--lease", type=float, default=30.0, help="lease in seconds")
    parser.add_argument("--max-attempts", type=int, default=5)
    parser.add_argument("--base-backoff", type=float, default=1.0)
    parser.add_argument("--max-jobs", type=int, default=None, help="stop after this many handler runs")
    parser.add_argument("--forever", action="store_true", help="keep polling when the queue is empty")
    parser.add_argument(
        "--handler",
        default=None,
        help="module:function taking a Job (default: count runs in the hash <prefix>:effects)",
    )
    parser.add_argument("--idempotent", action="store_true", help="the default handler counts each job once")
    parser.add_argument("--job-seconds", type=float, default=0.0, help="the default handler's work time")
    parser.add_argument(
        "--heartbeat", type=float, default=None, help="seconds between lease renewals (default: lease / 3)"
    )
    parser.add_argument(
        "--max-runtime", type=float, default=None, help="stop renewing a job's lease after this many seconds"
    )
    parser.add_argument(
        "--retention",
        type=float,
        default=None,
        help="seconds to keep finished jobs and their idempotency keys (default: forever)",
    )
    parser.add_argument(
        "--clock",
        choices=("wall", "server"),
        default="wall",
        help="lease deadlines from this machine's clock or the Redis server's (TIME); every process "
        "sharing the queue must use the same (default: wall)",
    )
    parser.add_argument(
        "--connect-timeout", type=float, default=30.0, help="seconds to wait for Redis at start-up"
    )
    parser.add_argument("--crash-on-job", type=int, default=None, help="test hook: hang in the Nth job")
    parser.add_argument("--flag", default=None, help="test hook: file created when the hang starts")
    options = parser.parse_args(argv)
    if not options.url:
        parser.error("a worker process needs a real Redis: pass --url or set REDIS_URL")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    client = redis.Redis.from_url(options.url, decode_responses=True)
    if not _wait_for_redis(client, options.connect_timeout):
        parser.exit(
            2,
            f"worker: no Redis server answered at {redact(options.url)} within "
            f"{options.connect_timeout:g} s; start one there or pass the right --url\n",
        )
    queue = JobQueue(
        client,
        options.prefix,
        lease=options.lease,
        max_attempts=options.max_attempts,
        base_backoff=options.base_backoff,
        max_backoff=max(options.base_backoff, 300.0),
        clock=ServerClock(client) if options.clock == "server" else None,
        retention=options.retention,
    )
    if options.handler:
        handler = _load_handler(options.handler)
    else:
        handler = counting_handler(client, f"{options.prefix}:effects", idempotent=options.idempotent)
        if options.job_seconds > 0:
            handler = _slowed(handler, options.job_seconds)
    if options.crash_on_job is not None:
        handler = _hang_on(handler, options.crash_on_job, options.flag)
    worker = Worker(
        queue,
        handler,
        name=options.name,
        poll=min(0.2, options.lease / 4),
        heartbeat=True if options.heartbeat is None else options.heartbeat,
        max_runtime=options.max_runtime,
    )
    handled = worker.run(options.max_jobs, forever=options.forever)
    print(f"handled {handled} jobs: {worker.counts['done']} done, {worker.counts['retry']} retried")
    return 0


def _wait_for_redis(client: redis.Redis, timeout: float) -> bool:
    """True once ``client`` answers a PING, False if it has not within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return bool(client.ping())
        except OUTAGE_ERRORS:
            if time.monotonic() >= deadline:
                return False
            time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))


def _slowed(handler: Handler, seconds: float) -> Handler:
    """Wrap ``handler`` so that each run first works for ``seconds``."""

    def slow(job: Job) -> object:
        time.sleep(seconds)
        return handler(job)

    return slow


def _hang_on(handler: Handler, nth: int, flag: str | None) -> Handler:
    """Wrap ``handler`` so that its ``nth`` run does its work, then hangs before the ack."""
    runs = 0

    def hanging(job: Job) -> object:
        nonlocal runs
        runs += 1
        result = handler(job)
        if runs == nth:
            if flag:
                Path(flag).write_text(f"job {job.id} done, not acknowledged\n")
            while True:
                time.sleep(1)
        return result

    return hanging


if __name__ == "__main__":
    sys.exit(main())
