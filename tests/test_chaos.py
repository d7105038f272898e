"""Chaos: worker processes and a write-behind flusher on an append-only Redis, while Redis
is SIGKILLed and restarted twice and workers are SIGKILLed at random (seeded) and restarted.

Promises checked at the end: every job's effect happened exactly once (an idempotent
handler recording in SQLite), every write the cache acknowledged reached SQLite, and the
worker processes are alive. Runs only against a real server setting (``REDIS_URL`` set, as
in CI) with ``redis-server`` installed; it starts its own server on a free port, so it
never touches the one in ``REDIS_URL``. Every process it starts is killed in ``finally``.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import redis

from scalekit import backend
from scalekit.caches import WriteBehind
from scalekit.caches.store import ProductStore
from scalekit.queues import JobQueue

TESTS = Path(__file__).resolve().parent
JOBS, WRITES, WORKERS, SEED = 240, 240, 3, 20260601
TIME_LIMIT = 60.0
OUTAGES = (redis.ConnectionError, redis.TimeoutError)


class Fleet:
    """Worker and flusher processes, each in its own session; ``stop_all`` SIGKILLs whatever runs."""

    def __init__(self, url: str, folder: Path) -> None:
        self.url, self.folder = url, folder
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
            "CHAOS_DB": str(folder / "effects.db"),
            "CHAOS_JOB_SECONDS": "0.03",
        }
        self.workers: list[subprocess.Popen] = []
        self.flusher: subprocess.Popen | None = None
        self.everything: list[subprocess.Popen] = []
        self.flusher_restarts = 0

    def _spawn(self, command: list[str], log_name: str) -> subprocess.Popen:
        log = open(self.folder / log_name, "ab")  # noqa: SIM115 (closed with the process)
        process = subprocess.Popen(
            [sys.executable, *command],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.env,
            start_new_session=True,
        )
        log.close()
        self.everything.append(process)
        return process

    def start_worker(self, slot: int) -> None:
        command = [
            *("-m", "scalekit.queues.worker", "--url", self.url, "--prefix", "{chaos}"),
            *("--handler", "chaos_handlers:apply_payment", "--forever", "--name", f"w{slot}"),
            *("--lease", "1", "--max-attempts", "1000", "--base-backoff", "0.05"),
        ]
        process = self._spawn(command, f"worker-{slot}.log")
        if slot < len(self.workers):
            self.workers[slot] = process
        else:
            self.workers.append(process)

    def kill_worker(self, slot: int) -> None:
        os.killpg(self.workers[slot].pid, signal.SIGKILL)
        self.workers[slot].wait(timeout=10)

    def keep_flusher_running(self) -> None:
        """Start the flusher, or start it again if a Redis outage ended it."""
        if self.flusher is not None and self.flusher.poll() is None:
            return
        if self.flusher is not None:
            self.flusher_restarts += 1
        command = [
            *(
                "-m",
                "scalekit.caches.write_behind",
                "--url",
                self.url,
                "--db",
                str(self.folder / "products.db"),
            ),
            *("--prefix", "{behind}", "--forever", "--batch-size", "20"),
        ]
        self.flusher = self._spawn(command, "flusher.log")

    def stop_all(self) -> None:
        for process in self.everything:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


class Producer(threading.Thread):
    """Enqueues payment jobs (retrying through outages: the idempotency key makes a retry
    harmless) and writes products through write-behind (a write that raised is not acknowledged)."""

    def __init__(self, url: str, store_path: Path) -> None:
        super().__init__(daemon=True)
        self.client = redis.Redis.from_url(url, decode_responses=True, socket_timeout=2)
        self.queue = JobQueue(self.client, "{chaos}", lease=1)
        self.cache = WriteBehind(self.client, ProductStore(store_path), prefix="{behind}")
        self.job_ids: dict[int, str] = {}
        self.acknowledged: dict[int, list[int]] = {}
        self.attempted: dict[int, list[int]] = {}
        self.failed_writes = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            for n in range(max(JOBS, WRITES)):
                if n < WRITES:
                    self._write(n)
                if n < JOBS:
                    self.job_ids[n] = self._enqueue(n)
                time.sleep(0.02)
        except BaseException as exc:
            self.error = exc

    def _enqueue(self, n: int) -> str:
        while True:
            try:
                return self.queue.enqueue({"n": n, "amount": n + 1}, key=f"payment-{n}")
            except OUTAGES:
                time.sleep(0.05)

    def _write(self, n: int) -> None:
        key, stock = n % 40, n
        self.attempted.setdefault(key, []).append(stock)
        try:
            self.cache.put(key, {"name": f"product {key}", "price_cents": 100 + key, "stock": stock})
        except OUTAGES:
            self.failed_writes += 1
            return
        self.acknowledged.setdefault(key, []).append(stock)


def _wait(condition, deadline: float, what: str, fleet: Fleet, interval: float = 0.1) -> None:
    while not condition():
        fleet.keep_flusher_running()
        assert time.monotonic() < deadline, f"chaos test: timed out waiting until {what}"
        time.sleep(interval)


def _quietly(call, default=None):
    try:
        return call()
    except OUTAGES:
        return default


def test_nothing_lost_nothing_doubled_under_chaos(tmp_path):
    from throwaway_redis import RedisProcess

    started = time.monotonic()
    deadline = started + TIME_LIMIT - 5
    rng = random.Random(SEED)
    server = RedisProcess(tmp_path / "redis")
    fleet = Fleet("", tmp_path)
    producer: Producer | None = None
    try:
        server.start()
        fleet.url = server.url
        for slot in range(WORKERS):
            fleet.start_worker(slot)
        fleet.keep_flusher_running()
        producer = Producer(server.url, tmp_path / "products.db")
        producer.start()

        chaos = [("redis", 1.5), ("redis", 3.5)] + [("worker", rng.uniform(0.5, 5.5)) for _ in range(8)]
        for kind, at in sorted(chaos, key=lambda event: event[1]):
            time.sleep(max(0.0, started + at - time.monotonic()))
            if kind == "redis":
                server.kill()
                time.sleep(rng.uniform(0.2, 0.6))
                server.start()
            else:
                slot = rng.randrange(WORKERS)
                fleet.kill_worker(slot)
                fleet.start_worker(slot)
            fleet.keep_flusher_running()

        producer.join(timeout=max(0.0, deadline - time.monotonic()))
        assert not producer.is_alive(), "the producer did not finish in time"
        assert producer.error is None, producer.error
        client = backend.connect(server.url)
        queue = JobQueue(client, "{chaos}", lease=1)
        writer = WriteBehind(client, ProductStore(tmp_path / "products.db"), prefix="{behind}")
        _wait(lambda: _quietly(queue.pending, 1) == 0, deadline, "every job is finished", fleet)
        _wait(lambda: _quietly(writer.pending, 1) == 0, deadline, "every write is flushed", fleet)

        stats = queue.stats()
        assert stats["enqueued"] == JOBS and stats["acked"] == JOBS and stats["dead"] == 0
        assert sorted(producer.job_ids.values(), key=int) == [str(i) for i in range(1, JOBS + 1)]

        import chaos_handlers

        effects = chaos_handlers.connect(str(tmp_path / "effects.db"))
        applied = effects.execute("SELECT n FROM applied ORDER BY n").fetchall()
        assert [n for (n,) in applied] == list(range(JOBS)), "every job's effect happened"
        (balance,) = effects.execute("SELECT balance FROM account WHERE id = 1").fetchone()
        assert balance == sum(n + 1 for n in range(JOBS)), "and happened exactly once"
        (runs,) = effects.execute("SELECT COUNT(*) FROM runs").fetchone()
        assert runs >= JOBS
        effects.close()

        store = ProductStore(tmp_path / "products.db")
        for key, stocks in producer.attempted.items():
            saved = store.get(key)
            acknowledged = producer.acknowledged.get(key, [])
            if not acknowledged:
                assert saved is None or saved["stock"] in stocks
                continue
            last = acknowledged[-1]
            assert saved is not None, f"acknowledged write to product {key} never reached SQLite"
            later = stocks[stocks.index(last) :]
            assert saved["stock"] in later, f"product {key}: SQLite has {saved}, last acknowledged {last}"
        store.close()

        assert [w.poll() for w in fleet.workers] == [None] * WORKERS, "every worker is alive at the end"
        logs = "".join(
            (tmp_path / f"worker-{slot}.log").read_text(errors="replace") for slot in range(WORKERS)
        )
        assert "Redis unreachable" in logs, "the workers lived through the outages and said so"
        assert time.monotonic() - started < TIME_LIMIT
        print(
            f"chaos: {runs} handler runs for {JOBS} jobs, {stats['reaped']} leases reaped, "
            f"{producer.failed_writes} of {WRITES} writes refused during outages, "
            f"flusher restarted {fleet.flusher_restarts} times, {time.monotonic() - started:.1f} s"
        )
        client.close()
    finally:
        fleet.stop_all()
        server.kill()
        if producer is not None:
            producer.client.close()
