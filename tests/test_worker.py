"""Worker: the reserve-run-ack loop, retries, waiting out a crashed worker's lease, idempotent
handlers, and a worker process killed with SIGKILL mid-job on a real Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scalekit import backend
from scalekit.clock import SimClock
from scalekit.queues import JobQueue, Worker, counting_handler


@pytest.fixture
def clock() -> SimClock:
    return SimClock()


@pytest.fixture
def queue(redis, ns, clock) -> JobQueue:
    return JobQueue(redis, ns.prefix, lease=30, max_attempts=3, base_backoff=5, max_backoff=60, clock=clock)


def test_runs_every_job_and_retries_failures_until_dead(queue, clock):
    for n in range(5):
        queue.enqueue({"n": n})
    seen = []

    def handler(job):
        seen.append((job.payload["n"], job.attempt))
        if job.payload["n"] == 3:
            raise RuntimeError("corrupt input")

    worker = Worker(queue, handler)
    assert worker.run() == 7
    assert worker.counts == {"done": 4, "retry": 2, "dead": 1, "lost": 0}
    assert seen == [(0, 1), (1, 1), (2, 1), (3, 1), (4, 1), (3, 2), (3, 3)]
    assert clock.now() == 5 + 10, "the worker waited out both backoffs on the clock"
    assert queue.dead_letters()[0]["error"] == "RuntimeError: corrupt input"
    assert [o.result for o in worker.log if o.job_id == queue.dead_letters()[0]["id"]] == [
        "retry",
        "retry",
        "dead",
    ]


def test_max_jobs_stops_early(queue):
    for n in range(5):
        queue.enqueue(n)
    worker = Worker(queue, lambda job: None)
    assert worker.run(max_jobs=2) == 2
    assert queue.stats()["ready"] == 3
    assert worker.run(max_jobs=0) == 0


def test_waits_for_a_crashed_workers_lease_then_finishes_its_job(redis, ns, queue, clock):
    queue.enqueue("a")
    queue.enqueue("b")
    crashed = queue.reserve()
    effects = counting_handler(redis, ns.key("effects"))
    survivor = Worker(queue, effects, name="survivor")
    assert survivor.run() == 2
    assert clock.now() == 30, "the crashed job came back exactly when its lease ran out"
    assert redis.hgetall(ns.key("effects")) == {"1": "1", "2": "1"}
    assert [(o.job_id, o.attempt) for o in survivor.log] == [("2", 1), ("1", 2)]
    assert queue.ack(crashed) is False


@pytest.mark.parametrize(("idempotent", "expected"), [(False, "2"), (True, "1")])
def test_duplicate_run_after_a_slow_handler(redis, ns, queue, clock, idempotent, expected):
    """A handler that outlives its lease does its work, another worker redoes it: only an
    idempotent handler keeps the side effect single."""
    effects = counting_handler(redis, ns.key("effects"), idempotent=idempotent)
    rescuer = Worker(queue, effects, name="rescuer")

    def slow(job):
        effects(job)
        clock.advance(31)
        assert rescuer.step().result == "done"

    queue.enqueue("transcode")
    slowpoke = Worker(queue, slow, name="slowpoke")
    outcome = slowpoke.step()
    assert outcome.result == "lost"
    assert redis.hget(ns.key("effects"), "1") == expected
    assert queue.stats()["acked"] == 1 and queue.pending() == 0


def test_an_ack_resent_after_a_dropped_connection_still_counts_as_done(queue):
    """redis-py retries a command whose reply was lost; the ack had already succeeded, so
    the second one must not turn a finished job into "lost"."""
    run_ack = queue._ack

    def ack_sent_twice(**kwargs):
        run_ack(**kwargs)
        return run_ack(**kwargs)

    queue._ack = ack_sent_twice
    queue.enqueue("receipt")
    worker = Worker(queue, lambda job: None)
    assert worker.step().result == "done"
    assert worker.counts["lost"] == 0 and queue.stats()["acked"] == 1


def test_bad_worker_settings(queue):
    with pytest.raises(ValueError, match="poll must be a finite number of seconds > 0"):
        Worker(queue, lambda job: None, poll=0)
    with pytest.raises(ValueError, match="handler must be callable"):
        Worker(queue, "not a function")
    with pytest.raises(ValueError, match="max_jobs must be a whole number >= 0"):
        Worker(queue, lambda job: None).run(max_jobs=-1)


def _worker_process(started: list[subprocess.Popen], url: str, prefix: str, *extra: str) -> subprocess.Popen:
    """Start a worker process in its own session and remember it in ``started`` for cleanup."""
    command = [sys.executable, "-m", "scalekit.queues.worker", "--url", url, "--prefix", prefix]
    process = subprocess.Popen(
        [*command, *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    started.append(process)
    return process


def _kill_all(started: list[subprocess.Popen]) -> None:
    """SIGKILL every worker process still running (a failed test leaves one hanging) and reap it."""
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        process.stdout.close()
        process.stderr.close()


@pytest.mark.parametrize("idempotent", [False, True])
def test_worker_process_killed_mid_job(redis_url, tmp_path, idempotent):
    """A real worker process is SIGKILLed after doing job 3's work but before acking it.
    After the lease runs out a second process reaps and finishes it; no acknowledged job
    is lost or redone, and only the idempotent handler keeps job 3's effect single.

    Needs a real Redis: a separate process cannot reach the in-process fakeredis."""
    client = backend.connect(redis_url)
    space = backend.namespace(f"test-wk-{uuid.uuid4().hex[:12]}", client)
    started: list[subprocess.Popen] = []
    try:
        queue = JobQueue(client, space.prefix, lease=1.0)
        ids = [queue.enqueue({"video": n}) for n in range(6)]
        flag = tmp_path / "hung.flag"
        mode = ["--idempotent"] if idempotent else []
        victim = _worker_process(
            started,
            redis_url,
            space.prefix,
            "--lease",
            "1",
            "--crash-on-job",
            "3",
            "--flag",
            str(flag),
            *mode,
        )
        deadline = time.monotonic() + 30
        while not flag.exists():
            assert victim.poll() is None, victim.communicate(timeout=10)
            assert time.monotonic() < deadline, "the worker never reached the crash point"
            time.sleep(0.02)
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(timeout=10)
        assert victim.returncode == -signal.SIGKILL
        stats = queue.stats()
        assert (stats["acked"], stats["leased"], stats["ready"]) == (2, 1, 3)
        done_before = [i for i in ids if queue.info(i)["status"] == "done"]
        assert done_before == ids[:2]

        successor = _worker_process(started, redis_url, space.prefix, "--lease", "1", *mode)
        out, err = successor.communicate(timeout=60)
        assert successor.returncode == 0, err
        assert out.strip() == "handled 4 jobs: 4 done, 0 retried"
        assert [queue.info(i)["status"] for i in ids] == ["done"] * 6
        stats = queue.stats()
        assert (stats["acked"], stats["reaped"], queue.pending()) == (6, 1, 0)
        effects = client.hgetall(f"{space.prefix}:effects")
        expected = {i: "1" for i in ids}
        expected[ids[2]] = "1" if idempotent else "2"
        assert effects == expected
    finally:
        _kill_all(started)
        space.clear()
        client.close()


def test_worker_command_needs_a_real_redis():
    env = {k: v for k, v in os.environ.items() if k != backend.ENV_VAR}
    result = subprocess.run(
        [sys.executable, "-m", "scalekit.queues.worker"], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode != 0
    assert "needs a real Redis" in result.stderr


@settings(max_examples=20)
@given(divisors=st.lists(st.sampled_from([0, 1, 2, 4]), min_size=1, max_size=8), attempts=st.integers(1, 3))
def test_same_outcomes_as_rq(divisors, attempts):
    """Differential test against rq (the library to use in production): the same jobs, some
    of which always fail, end up finished or failed alike, after the same number of tries.

    Runs on private fakeredis servers only: rq's keys cannot be put under a test prefix."""
    import operator

    import fakeredis

    rq = pytest.importorskip("rq")
    rq_redis = fakeredis.FakeRedis(server=fakeredis.FakeServer())
    rq_queue = rq.Queue("diff", connection=rq_redis)
    retry = rq.Retry(max=attempts - 1) if attempts > 1 else None
    rq_jobs = [rq_queue.enqueue(operator.truediv, 1, d, retry=retry) for d in divisors]
    rq.SimpleWorker([rq_queue], connection=rq_redis).work(burst=True, logging_level="ERROR")
    rq_results = []
    for job in rq_jobs:
        job.refresh()
        status = job.get_status().value
        rq_results.append((status, attempts - (job.retries_left or 0) if status == "failed" else None))

    ours = JobQueue(
        fakeredis.FakeRedis(server=fakeredis.FakeServer(), decode_responses=True),
        "diff",
        max_attempts=attempts,
        base_backoff=0,
        clock=SimClock(),
    )
    ids = [ours.enqueue({"divisor": d}) for d in divisors]
    Worker(ours, lambda job: operator.truediv(1, job.payload["divisor"])).run()
    our_results = []
    for job_id in ids:
        info = ours.info(job_id)
        status = {"done": "finished", "dead": "failed"}[info["status"]]
        our_results.append((status, info["attempts"] if status == "failed" else None))
    assert our_results == rq_results
    assert [status for status, _ in our_results] == ["failed" if d == 0 else "finished" for d in divisors]


def test_heartbeat_keeps_the_lease_of_a_job_longer_than_its_lease(redis, ns):
    """Lease 0.3 s, a handler of 0.7 s, and a second worker reaping all the while: the job is
    done exactly once, by its first worker, never "lost" and never dead-lettered."""
    import threading

    queue = JobQueue(redis, ns.prefix, lease=0.3, max_attempts=1)
    runs = []
    rescuer_stop = threading.Event()

    def slow(job):
        runs.append(job.id)
        time.sleep(0.7)

    worker = Worker(queue, slow, name="slow", heartbeat=0.05)
    rescuer = Worker(queue, slow, name="rescuer", heartbeat=0.05)

    def rescue():
        while not rescuer_stop.is_set():
            rescuer.step()
            time.sleep(0.02)

    queue.enqueue("transcode")
    helper = threading.Thread(target=rescue)
    helper.start()
    try:
        deadline = time.monotonic() + 10
        while not runs and time.monotonic() < deadline:
            if worker.step() is not None:
                break
            time.sleep(0.01)
    finally:
        rescuer_stop.set()
        helper.join()
    assert runs == ["1"], "the job ran exactly once"
    assert queue.info("1")["status"] == "done"
    assert queue.dead_letters() == [] and queue.stats()["reaped"] == 0
    outcomes = list(worker.log) + list(rescuer.log)
    assert [o.result for o in outcomes] == ["done"]
    assert outcomes[0].beats >= 3


def test_without_heartbeat_the_same_job_is_lost_and_dead_lettered(redis, ns):
    """The defect the heartbeat fixes: with it switched off, the reaper takes the job back."""
    queue = JobQueue(redis, ns.prefix, lease=0.3, max_attempts=1)

    def slow(job):
        time.sleep(0.6)
        queue.reap()

    queue.enqueue("transcode")
    outcome = Worker(queue, slow, heartbeat=None).step()
    assert outcome.result == "lost" and outcome.beats == 0
    assert queue.dead_letters()[0]["error"] == "lease expired on attempt 1"


def test_heartbeat_stops_when_the_handler_fails_and_when_the_lease_is_lost(redis, ns):
    queue = JobQueue(redis, ns.prefix, lease=0.3, max_attempts=3, base_backoff=0)

    def fails(job):
        time.sleep(0.4)
        raise RuntimeError("corrupt")

    queue.enqueue("x")
    worker = Worker(queue, fails, heartbeat=0.05)
    assert worker.step().result == "retry"
    assert queue.info("1")["status"] in ("retry", "ready")
    time.sleep(0.4)
    assert queue.stats()["leased"] == 0, "no heartbeat outlives its handler"


def test_heartbeat_gives_up_after_max_runtime_so_a_hung_handler_is_reaped(redis, ns):
    queue = JobQueue(redis, ns.prefix, lease=0.3, max_attempts=2)

    def hangs(job):
        time.sleep(0.9)
        assert queue.reap() == (["1"], []), "the hung job went back to the queue"

    queue.enqueue("x")
    assert Worker(queue, hangs, heartbeat=0.05, max_runtime=0.4).step().result == "lost"


def test_bad_heartbeat_settings(queue):
    for bad in (0, -1, 30, 45.0, float("nan")):
        with pytest.raises(ValueError, match="heartbeat must be None or a number of seconds between 0 and"):
            Worker(queue, lambda job: None, heartbeat=bad)
    with pytest.raises(ValueError, match="max_runtime must be None or a number of seconds > 0"):
        Worker(queue, lambda job: None, max_runtime=0)
    assert Worker(queue, lambda job: None).heartbeat == 10.0, "a third of the lease by default"


class _Unprintable(Exception):
    def __str__(self):
        raise RuntimeError("no str")

    def __repr__(self):
        raise RuntimeError("no repr")


class _OnlyRepr(Exception):
    def __str__(self):
        raise ValueError("no str")


class _StrIsNotAString(Exception):
    def __str__(self):
        return 42


@pytest.mark.parametrize(
    ("error", "recorded"),
    [
        (_Unprintable(), "_Unprintable (its message could not be read)"),
        (_OnlyRepr("disk full"), "_OnlyRepr: _OnlyRepr('disk full')"),
        (_StrIsNotAString(), "_StrIsNotAString: _StrIsNotAString()"),
    ],
)
def test_an_exception_that_cannot_be_printed_never_kills_the_worker(queue, error, recorded):
    queue.enqueue("poison")
    queue.enqueue("healthy")
    done = []

    def handler(job):
        if job.payload == "poison":
            raise error
        done.append(job.payload)

    worker = Worker(queue, handler)
    assert worker.run() == 4
    assert done == ["healthy"]
    assert worker.counts == {"done": 1, "retry": 2, "dead": 1, "lost": 0}
    assert queue.dead_letters()[0]["error"] == recorded
    assert worker.log[-1].error == recorded


def test_a_nack_resent_after_a_dropped_reply_reports_the_same_outcome(queue):
    run_nack = queue._nack

    def nack_sent_twice(**kwargs):
        run_nack(**kwargs)
        return run_nack(**kwargs)

    queue._nack = nack_sent_twice
    queue.enqueue("flaky")
    worker = Worker(queue, lambda job: 1 / 0)
    assert worker.run() == 3
    assert worker.counts == {"done": 0, "retry": 2, "dead": 1, "lost": 0}
    assert queue.stats()["retried"] == 2 and queue.stats()["dead"] == 1


class _Outage:
    """A client that fails the next ``failures`` commands with ``error``, like a restarting server."""

    def __init__(self, client, failures: int, error: Exception) -> None:
        self._client, self.failures, self.error, self.calls = client, failures, error, 0

    def register_script(self, source: str):
        from redis.commands.core import Script

        return Script(self, source)

    def evalsha(self, *args, **kwargs):
        self.calls += 1
        if self.failures > 0:
            self.failures -= 1
            raise self.error
        return self._client.evalsha(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._client, name)


@pytest.mark.parametrize(
    "error", [__import__("redis").ConnectionError("Connection refused"), __import__("redis").TimeoutError()]
)
def test_worker_waits_out_a_redis_outage_with_bounded_backoff(redis, ns, clock, caplog, error):
    flaky = _Outage(redis, failures=0, error=error)
    queue = JobQueue(flaky, ns.prefix, lease=30, clock=clock)
    for n in range(3):
        queue.enqueue(n)
    flaky.failures = 12
    worker = Worker(queue, lambda job: None, name="w1", reconnect_base=0.5, reconnect_max=4.0)
    with caplog.at_level("WARNING", logger="scalekit.queues"):
        assert worker.run() == 3
    assert worker.counts == {"done": 3, "retry": 0, "dead": 0, "lost": 0}
    assert worker.reconnects == 12
    assert clock.now() == 0.5 + 1 + 2 + 4 * 9, "backoff doubles, then stays at reconnect_max"
    assert "w1: Redis unreachable during reap" in caplog.text and "retry 12 in 4.00 s" in caplog.text


def test_an_ack_that_fails_mid_outage_is_retried_not_lost(redis, ns, clock):
    import redis as redis_py

    flaky = _Outage(redis, failures=0, error=redis_py.ConnectionError("reset by peer"))
    queue = JobQueue(flaky, ns.prefix, lease=30, clock=clock)
    queue.enqueue("receipt")

    def handler(job):
        flaky.failures = 3

    worker = Worker(queue, handler)
    assert worker.step().result == "done"
    assert worker.reconnects == 3 and queue.stats()["acked"] == 1


class _FlakyClock(SimClock):
    """A clock read from the server (like ``ServerClock``): once ``flaky``, every other reading
    fails as a dropped connection would."""

    flaky, readings = False, 0

    def now(self) -> float:
        self.readings += 1
        if self.flaky and self.readings % 2:
            import redis as redis_py

            raise redis_py.ConnectionError("Connection refused")
        return super().now()


def test_a_clock_that_reads_redis_is_waited_out_like_any_other_command(redis, ns):
    clock = _FlakyClock()
    queue = JobQueue(redis, ns.prefix, lease=30, clock=clock)
    queue.enqueue("now")
    queue.enqueue("later", delay=5)

    def handler(job):
        clock.flaky = True

    worker = Worker(queue, handler, reconnect_base=0.01, reconnect_max=0.01)
    assert worker.run() == 2
    assert worker.counts["done"] == 2 and worker.reconnects > 0


def test_reconnect_settings_are_checked(queue):
    with pytest.raises(ValueError, match="reconnect_base <= reconnect_max"):
        Worker(queue, lambda job: None, reconnect_base=0)
    with pytest.raises(ValueError, match="reconnect_base <= reconnect_max"):
        Worker(queue, lambda job: None, reconnect_base=5, reconnect_max=1)


def test_worker_process_survives_redis_restarts(tmp_path):
    """A worker process carries on through two SIGKILLs and restarts of an append-only Redis:
    it logs the outage, retries, and every job ends done with its effect counted once."""
    from throwaway_redis import RedisProcess

    server = RedisProcess(tmp_path / "redis")
    started: list[subprocess.Popen] = []
    try:
        server.start()
        client = backend.connect(server.url)
        queue = JobQueue(client, "outage", lease=1.0)
        ids = [queue.enqueue({"n": n}) for n in range(60)]
        worker = _worker_process(
            started,
            server.url,
            "outage",
            *("--lease", "1", "--idempotent", "--job-seconds", "0.03", "--max-attempts", "50"),
            *("--base-backoff", "0.05"),
        )
        for target in (10, 25):
            deadline = time.monotonic() + 30
            while queue.stats()["acked"] < target:
                assert worker.poll() is None, worker.communicate(timeout=10)
                assert time.monotonic() < deadline, "the worker made no progress"
                time.sleep(0.02)
            server.kill()
            time.sleep(0.5)
            server.start()
        _, err = worker.communicate(timeout=60)
        assert worker.returncode == 0, err
        assert "Redis unreachable" in err
        assert [queue.info(i)["status"] for i in ids] == ["done"] * 60
        assert client.hgetall("outage:effects") == {i: "1" for i in ids}
        client.close()
    finally:
        _kill_all(started)
        server.kill()


def test_an_error_message_redis_cannot_encode_never_kills_the_worker(queue):
    """A handler error holding a lone surrogate (from bytes decoded with surrogateescape)
    cannot be sent to Redis as UTF-8; the worker records it escaped instead of dying."""
    queue.enqueue("bad bytes")
    queue.enqueue("fine")

    def handler(job):
        if job.payload == "bad bytes":
            raise ValueError(b"caf\xe9".decode("utf-8", "surrogateescape"))

    worker = Worker(queue, handler)
    assert worker.run() == 4
    assert worker.counts == {"done": 1, "retry": 2, "dead": 1, "lost": 0}
    assert queue.dead_letters()[0]["error"] == "ValueError: caf\\udce9"


def test_a_job_whose_record_is_damaged_is_dead_lettered_not_fatal(redis, queue):
    """A payload deleted (say, evicted under maxmemory) or overwritten with non-JSON does not
    crash the worker that reserves it: the job goes to the dead letters with the reason."""
    missing = queue.enqueue({"n": 1})
    garbled = queue.enqueue({"n": 2})
    healthy = queue.enqueue({"n": 3})
    redis.hdel(queue.keys["payload"], missing)
    redis.hset(queue.keys["payload"], garbled, "{not json")
    seen = []
    worker = Worker(queue, lambda job: seen.append(job.payload))
    assert worker.run() == 1
    assert seen == [{"n": 3}] and queue.info(healthy)["status"] == "done"
    letters = {letter["id"]: letter["error"] for letter in queue.dead_letters()}
    assert letters[missing] == "job record missing"
    assert letters[garbled].startswith("payload is not valid JSON")
    assert queue.stats()["leased"] == 0 and queue.pending() == 0


def test_nack_accepts_an_exception_and_any_text(queue):
    queue.enqueue("x")
    job = queue.reserve()

    class Unprintable(Exception):
        def __str__(self):
            raise RuntimeError

    assert queue.nack(job, Unprintable()) == "retry"
    assert queue.info(job.id)["error"].startswith("Unprintable")


def test_worker_command_fails_clearly_when_redis_never_answers():
    from throwaway_redis import free_port

    url = f"redis://:secret@127.0.0.1:{free_port()}/0"
    result = subprocess.run(
        [sys.executable, "-m", "scalekit.queues.worker", "--url", url, "--connect-timeout", "0.5"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "no Redis server answered at redis://" in result.stderr and "within 0.5 s" in result.stderr
    assert "secret" not in result.stderr


def test_worker_threads_sharing_one_queue_run_each_job_once(redis, ns):
    """Four Worker threads on one JobQueue object (wall clock, heartbeats on): every job is
    acked once and, with no lease running out, run once."""
    import threading

    queue = JobQueue(redis, ns.prefix, lease=5)
    ids = [queue.enqueue({"n": n}) for n in range(120)]
    effects = counting_handler(redis, ns.key("effects"))
    workers = [Worker(queue, effects, name=f"t{i}", heartbeat=1.0) for i in range(4)]
    threads = [threading.Thread(target=w.run) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sum(w.counts["done"] for w in workers) == 120
    assert redis.hgetall(ns.key("effects")) == {i: "1" for i in ids}
    assert queue.stats()["acked"] == 120 and queue.pending() == 0


@pytest.mark.parametrize("poll", [float("inf"), float("nan"), 0])
def test_poll_must_be_a_finite_positive_number(queue, poll):
    with pytest.raises(ValueError, match="poll must be a finite number of seconds > 0"):
        Worker(queue, lambda job: None, poll=poll)


def test_a_hung_worker_process_lets_go_after_max_runtime(redis_url, tmp_path):
    """A worker process whose handler hangs keeps its lease alive with heartbeats only until
    --max-runtime; then another worker reaps the job and finishes it."""
    client = backend.connect(redis_url)
    space = backend.namespace(f"test-hang-{uuid.uuid4().hex[:12]}", client)
    started: list[subprocess.Popen] = []
    try:
        queue = JobQueue(client, space.prefix, lease=0.5)
        queue.enqueue({"video": 1})
        flag = tmp_path / "hung.flag"
        hung = _worker_process(
            started,
            redis_url,
            space.prefix,
            *("--lease", "0.5", "--crash-on-job", "1", "--flag", str(flag), "--max-runtime", "1.5"),
            "--idempotent",
        )
        deadline = time.monotonic() + 30
        while not flag.exists():
            assert hung.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        time.sleep(1.0)
        assert queue.reap() == ([], []), "still renewed while within max_runtime"
        successor = _worker_process(started, redis_url, space.prefix, "--lease", "0.5", "--idempotent")
        _, err = successor.communicate(timeout=60)
        assert successor.returncode == 0, err
        assert queue.info("1")["status"] == "done" and queue.stats()["reaped"] == 1
        assert client.hgetall(f"{space.prefix}:effects") == {"1": "1"}
    finally:
        _kill_all(started)
        space.clear()
        client.close()


@pytest.mark.parametrize(
    "error",
    [
        __import__("redis").exceptions.ReadOnlyError("You can't write against a read only replica."),
        __import__("redis").ResponseError(
            "MISCONF Redis is configured to save RDB snapshots, but it's failing"
        ),
        __import__("redis").ResponseError("BUSY Redis is busy running a script."),
        __import__("redis").exceptions.ClusterDownError("The cluster is down"),
        __import__("redis").exceptions.TryAgainError("Multiple keys request during rehashing of slot"),
    ],
)
def test_a_server_briefly_unable_to_write_is_waited_out(redis, ns, clock, caplog, error):
    """A failover (READONLY), a failed snapshot (MISCONF), a long script (BUSY): the worker
    waits and carries on instead of dying with the server's reply."""
    flaky = _Outage(redis, failures=0, error=error)
    queue = JobQueue(flaky, ns.prefix, lease=30, clock=clock)
    queue.enqueue("receipt")
    flaky.failures = 3
    worker = Worker(queue, lambda job: None, name="w1")
    with caplog.at_level("WARNING", logger="scalekit.queues"):
        assert worker.run() == 1
    assert worker.counts["done"] == 1 and worker.reconnects == 3
    assert "w1: Redis unreachable" in caplog.text


def test_a_wrong_command_is_still_an_error(redis, ns, clock):
    import redis as redis_py

    flaky = _Outage(redis, failures=0, error=redis_py.ResponseError("WRONGTYPE Operation against a key"))
    queue = JobQueue(flaky, ns.prefix, lease=30, clock=clock)
    queue.enqueue("receipt")
    flaky.failures = 1
    with pytest.raises(redis_py.ResponseError, match="WRONGTYPE"):
        Worker(queue, lambda job: None).step()


@pytest.mark.parametrize(
    "error", [SystemExit(3), __import__("asyncio").CancelledError(), GeneratorExit("closed")]
)
def test_a_handler_raising_a_base_exception_fails_its_job_not_the_worker(queue, error):
    """``sys.exit`` in a library, or an asyncio task cancelled inside the handler, are not
    ``Exception``s; they must not take the worker down with them."""
    queue.enqueue("first")
    queue.enqueue("second")
    calls = []

    def handler(job):
        calls.append(job.payload)
        if job.payload == "first" and job.attempt == 1:
            raise error

    worker = Worker(queue, handler)
    assert worker.run() == 3
    assert worker.counts == {"done": 2, "retry": 1, "dead": 0, "lost": 0}
    assert worker.log[0].error.startswith(type(error).__name__)


def test_ctrl_c_stops_the_worker_and_the_lease_brings_the_job_back(queue, clock):
    queue.enqueue("long")

    def handler(job):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        Worker(queue, handler).step()
    clock.advance(31)
    assert queue.reap() == (["1"], [])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"heartbeat": "1"}, "heartbeat must be None or a number of seconds"),
        ({"max_runtime": float("inf")}, "max_runtime must be None or a number of seconds > 0"),
        ({"reconnect_base": "0.1"}, "reconnect_base <= reconnect_max"),
        ({"poll": "1"}, "poll must be a finite number of seconds > 0, got '1'"),
    ],
)
def test_worker_settings_of_the_wrong_kind_are_clear_errors(queue, options, message):
    with pytest.raises(ValueError, match=message):
        Worker(queue, lambda job: None, **options)


@pytest.mark.parametrize("max_jobs", [float("nan"), 1.5, "3", -1])
def test_max_jobs_must_be_a_whole_number(queue, max_jobs):
    queue.enqueue("x")
    with pytest.raises(ValueError, match="max_jobs must be a whole number >= 0 or None"):
        Worker(queue, lambda job: None).run(max_jobs)
    assert queue.stats()["ready"] == 1


def test_a_heartbeat_built_by_hand_checks_its_settings(queue):
    from scalekit.queues.heartbeat import Heartbeat

    queue.enqueue("x")
    job = queue.reserve()
    with pytest.raises(ValueError, match="more often than the lease"):
        Heartbeat(queue, job, "1")
    with pytest.raises(ValueError, match="max_runtime must be None or a number"):
        Heartbeat(queue, job, 1, max_runtime=float("nan"))


def test_worker_process_killed_while_its_heartbeat_keeps_a_long_job(redis_url):
    """A worker process runs a job four times longer than its lease; its heartbeat has renewed
    the lease at least twice when it is SIGKILLed in the middle of the handler. The renewals
    stop with the process, so the lease runs out and a second worker reaps and finishes the
    job; its effect (counted idempotently) happens once."""
    client = backend.connect(redis_url)
    space = backend.namespace(f"test-hb-{uuid.uuid4().hex[:12]}", client)
    started: list[subprocess.Popen] = []
    try:
        queue = JobQueue(client, space.prefix, lease=1.0)
        job_id = queue.enqueue({"video": "film.mp4"})
        victim = _worker_process(
            started, redis_url, space.prefix, "--lease", "1", "--heartbeat", "0.2", "--job-seconds", "4"
        )
        deadline = time.monotonic() + 30
        first_deadline = None
        while True:
            assert victim.poll() is None and time.monotonic() < deadline, "the job was never leased"
            score = client.zscore(queue.keys["leased"], job_id)
            if score is not None and first_deadline is None:
                first_deadline = score
            if first_deadline is not None and score is not None and score > first_deadline + 0.3:
                break
            time.sleep(0.05)
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait(timeout=10)
        assert client.hget(f"{space.prefix}:effects", job_id) is None, "killed before its effect"

        successor = _worker_process(
            started, redis_url, space.prefix, "--lease", "1", "--idempotent", "--job-seconds", "0.1"
        )
        out, err = successor.communicate(timeout=60)
        assert successor.returncode == 0, err
        assert out.strip() == "handled 1 jobs: 1 done, 0 retried"
        info = queue.info(job_id)
        assert (info["status"], info["attempts"]) == ("done", 2)
        assert client.hgetall(f"{space.prefix}:effects") == {job_id: "1"}
        assert queue.stats()["reaped"] == 1
    finally:
        _kill_all(started)
        space.clear()
        client.close()
