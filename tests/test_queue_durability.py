"""What a queue keeps when its Redis process is SIGKILLed and restarted, for each persistence
setting that 06 and JobQueue's docstring describe: nothing without persistence, every
acknowledged job with ``appendonly yes`` (``everysec`` too: a process crash leaves the
written file in the operating system's hands). And leases across processes whose clocks
disagree: wall-clock deadlines break, the server's clock does not."""

from __future__ import annotations

import threading
import time

import pytest
import redis

from scalekit.clock import WallClock
from scalekit.queues import JobQueue, ServerClock, Worker


@pytest.mark.parametrize(
    ("persistence", "kept"),
    [
        (("--appendonly", "no"), 0),
        (("--appendonly", "yes", "--appendfsync", "everysec"), 300),
        (("--appendonly", "yes", "--appendfsync", "always"), 300),
    ],
)
def test_acknowledged_jobs_after_a_sigkill_and_restart(tmp_path, persistence, kept):
    from throwaway_redis import RedisProcess

    server = RedisProcess(tmp_path / "redis", persistence=persistence)
    try:
        server.start()
        client = redis.Redis.from_url(server.url, decode_responses=True)
        queue = JobQueue(client, "{durable}", lease=30)
        ids = [queue.enqueue({"n": n}) for n in range(300)]
        assert len(set(ids)) == 300
        server.restart()
        assert queue.stats()["ready"] == kept
        client.close()
    finally:
        server.kill()


class _Skewed(WallClock):
    def __init__(self, offset: float) -> None:
        self.offset = offset

    def now(self) -> float:
        return super().now() + self.offset


def _long_job_with_a_reaper(client, prefix: str, worker_clock, reaper_clock) -> tuple[list[int], str]:
    """Worker A runs a 1.2 s job on a 0.6 s lease with a heartbeat while B reaps and works."""
    queue_a = JobQueue(client, prefix, lease=0.6, max_attempts=3, clock=worker_clock)
    queue_b = JobQueue(client, prefix, lease=0.6, max_attempts=3, clock=reaper_clock)
    queue_a.enqueue({"video": "film.mp4"})
    runs: list[int] = []

    def transcode(job) -> None:
        runs.append(job.attempt)
        time.sleep(1.2)

    worker_b = Worker(queue_b, transcode, name="B", heartbeat=0.2)
    done = threading.Event()

    def keep_reaping() -> None:
        while not done.is_set():
            worker_b.step()
            time.sleep(0.02)

    job = queue_a.reserve()
    reaper = threading.Thread(target=keep_reaping)
    reaper.start()
    try:
        outcome = Worker(queue_a, transcode, name="A", heartbeat=0.2).process(job)
    finally:
        done.set()
        reaper.join()
    return runs, outcome.result


def test_a_worker_whose_clock_runs_behind_loses_its_leases_despite_the_heartbeat(redis, ns):
    runs, result = _long_job_with_a_reaper(redis, ns.prefix, _Skewed(-5.0), WallClock())
    assert result == "lost" and len(runs) == 2, "its deadlines were already past for the reaper"


def test_the_server_clock_keeps_leases_whatever_the_workers_clocks_say(redis, ns):
    runs, result = _long_job_with_a_reaper(redis, ns.prefix, ServerClock(redis), ServerClock(redis))
    assert result == "done" and runs == [1]


def test_server_clock_on_redis_cluster_reads_the_node_of_the_key(redis_cluster_url):
    from redis.cluster import RedisCluster

    client = RedisCluster.from_url(redis_cluster_url, decode_responses=True)
    try:
        clock = ServerClock(client, key="{durable}")
        assert abs(clock.now() - time.time()) < 5
        queue = JobQueue(client, "{durable-clock}", lease=5, clock=clock)
        queue.enqueue({"n": 1})
        job = queue.reserve()
        assert job is not None and queue.ack(job)
    finally:
        for key in client.scan_iter(match="{durable-clock}:*"):
            client.delete(key)
        client.close()


def test_worker_command_can_read_the_server_clock(redis_url):
    import subprocess
    import sys
    import uuid

    client = redis.Redis.from_url(redis_url, decode_responses=True)
    prefix = f"durable-cli-{uuid.uuid4().hex[:8]}"
    try:
        JobQueue(client, prefix, clock=ServerClock(client)).enqueue({"n": 1})
        command = ["-m", "scalekit.queues.worker", "--url", redis_url, "--prefix", prefix]
        result = subprocess.run(
            [sys.executable, *command, "--clock", "server", "--idempotent"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        assert "handled 1 jobs: 1 done" in result.stdout
    finally:
        for key in client.scan_iter(match=f"{prefix}:*"):
            client.delete(key)
        client.close()
