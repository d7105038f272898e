"""Fan-out from a durable queue: ``post`` stores the body and enqueues batches; workers push them.

The author's request returns once the post is stored and its fan-out batches sit in a
:class:`scalekit.queues.JobQueue`: a few commands, however many followers there are.
Workers take one batch at a time, push it into the followers' home timelines and
acknowledge it. A worker that dies before its ack loses nothing: the batch's lease runs
out and another worker pushes it again, which changes nothing for the followers who
already had the post (the same id with the same score). Each batch is enqueued under an
idempotency key, so enqueueing a post's batches twice creates each job once.

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
from scalekit.timeline.core import Timeline

BATCH = 1000


@dataclass(frozen=True)
class QueuedPost:
    """What :meth:`QueuedFanout.post` did: the post id, followers to reach, and the batch job ids."""

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
        """Store the post, then enqueue one job per batch of followers (sorted by id); return at once.

        Authors at or above the timeline's celebrity threshold get no batches: their
        posts are merged at read time, as with :meth:`Timeline.post`.
        """
        post_id, count = self.timeline.store(author, text, ts)
        if not 0 < count < self.timeline.threshold:
            return QueuedPost(post_id, 0, ())
        followers = self.timeline.followers(author)
        jobs = []
        for number, start in enumerate(range(0, len(followers), self.batch)):
            payload = {"post": post_id, "ts": float(ts), "users": followers[start : start + self.batch]}
            jobs.append(self.queue.enqueue(payload, key=f"{self.timeline.prefix}:{post_id}:{number}"))
        return QueuedPost(post_id, len(followers), tuple(jobs))

    def handle(self, job: Job) -> None:
        """Push one batch (a job's payload) into its followers' home timelines."""
        payload = job.payload
        if not isinstance(payload, dict) or not {"post", "ts", "users"} <= payload.keys():
            raise ValueError(f"a fan-out job holds 'post', 'ts' and 'users', got {payload!r}")
        self.timeline.push(str(payload["post"]), float(payload["ts"]), payload["users"])

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
