"""Fan-out from a durable queue: ``post`` stores the body and enqueues one job; workers do the rest.

The author's request returns once the post is stored and one *plan* job sits in a
:class:`scalekit.queues.JobQueue`: a handful of commands, however many followers there are.
A worker that takes the plan reads the followers and enqueues one job per batch; workers
take one batch at a time, push it into the followers' home timelines and acknowledge it.
A worker that dies before its ack loses nothing: the job's lease runs out and another
worker runs it again. A batch pushed twice changes nothing for followers who already had
the post (the same id with the same score), and a plan run twice creates each batch once
(every batch is enqueued under an idempotency key). One gap remains: a process that dies
between storing the post and enqueueing its plan leaves a stored post that is never fanned
out, and its author never got an answer.

Run a worker process with ``python -m scalekit.timeline.queued --help``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

from scalekit.queues import Job, JobQueue, Worker
from scalekit.timeline.core import Timeline, _user

BATCH = 1000


@dataclass(frozen=True)
class QueuedPost:
    """What :meth:`QueuedFanout.post` did: the post id, its author's follower count, and the plan job."""

    post_id: str
    followers: int
    jobs: tuple[str, ...]


class QueuedFanout:
    """Store posts with ``timeline`` and hand their fan-out to ``queue`` in batches of ``batch`` followers."""

    def __init__(self, timeline: Timeline, queue: JobQueue, *, batch: int = BATCH) -> None:
        if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
            raise ValueError(f"batch must be a whole number of followers >= 1, got {batch!r}")
        self.timeline, self.queue, self.batch = timeline, queue, batch

    def post(self, author: int, text: str, ts: float) -> QueuedPost:
        """Store the post, enqueue its plan job and return: no follower is read or reached yet.

        Authors at or above the timeline's celebrity threshold get no plan: their posts
        are merged at read time, as with :meth:`Timeline.post`.
        """
        post_id, count = self.timeline.store(author, text, ts)
        if not 0 < count < self.timeline.threshold:
            return QueuedPost(post_id, 0, ())
        plan = {"plan": post_id, "author": int(author), "ts": float(ts), "size": self.batch}
        job = self.queue.enqueue(plan, key=f"{self.timeline.prefix}:{post_id}:plan")
        return QueuedPost(post_id, count, (job,))

    def handle(self, job: Job) -> None:
        """Run one job: a plan enqueues the post's batches, a batch is pushed to its followers."""
        payload = job.payload
        if isinstance(payload, dict) and {"plan", "author", "ts"} <= payload.keys():
            size = payload.get("size", self.batch)
            self.enqueue_batches(str(payload["plan"]), payload["author"], float(payload["ts"]), size=size)
        elif (
            isinstance(payload, dict)
            and {"post", "ts", "users"} <= payload.keys()
            and isinstance(payload["users"], list)
        ):
            self.timeline.push(str(payload["post"]), float(payload["ts"]), payload["users"])
        else:
            raise ValueError(
                "a fan-out job holds 'plan', 'author' and 'ts', or 'post', 'ts' and a list of 'users', "
                f"got {payload!r}"
            )

    def enqueue_batches(self, post_id: str, author: int, ts: float, *, size: int | None = None) -> list[str]:
        """Enqueue one job per batch of ``author``'s followers; return the job ids.

        Followers are read a batch at a time, in the order Redis keeps them, so a plan holds
        no more than one batch in memory however many followers there are. ``size`` (default
        ``batch``) comes with the plan, so every worker that runs it cuts the same batches.
        Batch ``n`` is enqueued under the key ``<prefix>:<post id>:<size>:<n>``, so running a
        plan again creates no second copy of a batch. Followers only ever join, so a follower
        can only move to a later position: whoever was in a batch already enqueued is in that
        batch's payload, and whoever was not lands in a batch enqueued now (at worst pushed
        twice, harmlessly).
        """
        size = self.batch if size is None else size
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"a plan's batch size must be a whole number >= 1, got {size!r}")
        followers = self.timeline.key("followers", _user(author, "author"))
        jobs: list[str] = []
        while True:
            start = len(jobs) * size
            users = [int(u) for u in self.timeline.client.zrange(followers, start, start + size - 1)]
            if not users:
                return jobs
            payload = {"post": post_id, "ts": ts, "batch": len(jobs), "users": users}
            key = f"{self.timeline.prefix}:{post_id}:{size}:{len(jobs)}"
            jobs.append(self.queue.enqueue(payload, key=key))

    def worker(self, name: str = "fanout", **options: Any) -> Worker:
        """A :class:`Worker` that runs :meth:`handle` on this queue's batches."""
        return Worker(self.queue, self.handle, name=name, **options)


def main(argv: list[str] | None = None) -> int:
    """Command line: one fan-out worker process against a real Redis (used by the fault tests)."""
    parser = argparse.ArgumentParser(description="Run a timeline fan-out worker.")
    parser.add_argument("--url", default=os.environ.get("REDIS_URL"), help="Redis URL (default: $REDIS_URL)")
    parser.add_argument("--prefix", required=True, help="the timeline's key prefix")
    parser.add_argument("--queue", required=True, help="the fan-out queue's key prefix")
    parser.add_argument("--capacity", type=int, default=800)
    parser.add_argument("--buckets", type=int, default=1)
    parser.add_argument("--lease", type=float, default=30.0, help="lease in seconds")
    parser.add_argument("--pause", type=float, default=0.0, help="seconds to wait after each batch")
    parser.add_argument("--hang-after", type=int, default=None, help="test hook: hang after pushing batch N")
    parser.add_argument("--flag", default=None, help="test hook: file created when the hang starts")
    parser.add_argument("--forever", action="store_true", help="keep polling when the queue is empty")
    options = parser.parse_args(argv)
    if not options.url:
        parser.error("a worker process needs a real Redis: pass --url or set REDIS_URL")
    client = redis.Redis.from_url(options.url, decode_responses=True)
    timeline = Timeline(
        client, options.prefix, strategy="write", capacity=options.capacity, buckets=options.buckets
    )
    fanout = QueuedFanout(timeline, JobQueue(client, options.queue, lease=options.lease))
    runs = 0

    def handle(job: Job) -> None:
        nonlocal runs
        fanout.handle(job)
        runs += 1
        if runs == options.hang_after:
            if options.flag:
                Path(options.flag).write_text(f"batch {job.id} pushed, not acknowledged\n")
            while True:
                time.sleep(1)
        time.sleep(options.pause)

    worker = Worker(fanout.queue, handle, name=f"fanout-{os.getpid()}", poll=min(0.2, options.lease / 4))
    handled = worker.run(forever=options.forever)
    print(f"pushed {handled} batches: {worker.counts['done']} acknowledged")
    return 0


if __name__ == "__main__":
    sys.exit(main())
