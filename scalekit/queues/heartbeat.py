"""A heartbeat: keep the lease of a running job alive for as long as its handler runs.

A lease must be short, so that a crashed worker's job comes back quickly, and yet a job
may run longer than any lease. The answer is to renew it: while the handler works, a
background thread calls ``JobQueue.extend`` every ``every`` seconds. The extension is
guarded by the reservation's token, so a heartbeat that arrives late (after an ack, or
after the job was reaped and given to someone else) changes nothing.

The thread dies with its process, so a worker killed with SIGKILL stops renewing and the
reaper recovers its job as before. ``max_runtime`` stops renewing a handler that hangs,
so a stuck job comes back too.
"""

from __future__ import annotations

import logging
import math
import threading
import time

import redis

from scalekit.queues.job_queue import Job, JobQueue, is_number

log = logging.getLogger("scalekit.queues")


class Heartbeat:
    """Renews the lease of ``job`` every ``every`` seconds from a daemon thread, between
    ``start()`` and ``stop()`` (or as a ``with`` block).

    ``beats`` counts successful renewals; ``lost`` turns True when a renewal finds that the
    lease is no longer this worker's. Redis errors are logged and the next beat tries again.
    """

    def __init__(self, queue: JobQueue, job: Job, every: float, *, max_runtime: float | None = None) -> None:
        if not (is_number(every) and 0 < every < queue.lease):
            raise ValueError(
                f"a heartbeat must come more often than the lease ({queue.lease:g} s), got {every!r}"
            )
        if max_runtime is not None and not (is_number(max_runtime) and 0 < max_runtime < math.inf):
            raise ValueError(f"max_runtime must be None or a number of seconds > 0, got {max_runtime!r}")
        self.queue, self.job, self.every, self.max_runtime = queue, job, float(every), max_runtime
        self.beats, self.lost, self.gave_up = 0, False, False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def beat(self) -> bool:
        """Renew the lease once; False if it is no longer held."""
        renewed = self.queue.extend(self.job)
        if renewed is None:
            self.lost = True
            return False
        self.job = renewed
        self.beats += 1
        return True

    def start(self) -> Heartbeat:
        """Start renewing in the background."""
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{self.job.id}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop renewing. A renewal still in flight cannot outlive the reservation: its token guards it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=max(1.0, self.every))

    def __enter__(self) -> Heartbeat:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _run(self) -> None:
        started = time.monotonic()
        while not self._stop.wait(self.every):
            if self.max_runtime is not None and time.monotonic() - started > self.max_runtime:
                self.gave_up = True
                log.warning(
                    "job %s ran past max_runtime=%gs: no more lease renewals, the reaper will take it back",
                    self.job.id,
                    self.max_runtime,
                )
                return
            try:
                if not self.beat():
                    return
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                log.warning("heartbeat of job %s could not reach Redis (%s); trying again", self.job.id, exc)
            except Exception:
                log.exception("heartbeat of job %s failed; trying again", self.job.id)
