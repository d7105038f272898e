"""JobQueue: FIFO leases, idempotency keys, retries with backoff, dead letters, the reaper,
and a stateful test against a plain-Python model on a SimClock."""

from __future__ import annotations

import uuid
from collections import deque

import numpy as np
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from scalekit import backend
from scalekit.clock import SimClock, WallClock
from scalekit.queues import JobQueue, Worker


@pytest.fixture
def clock() -> SimClock:
    return SimClock()


def make_queue(redis, ns, clock, **options) -> JobQueue:
    options = {"lease": 10, "max_attempts": 3, "base_backoff": 2, "max_backoff": 16, **options}
    return JobQueue(redis, ns.prefix, clock=clock, **options)


def test_jobs_come_out_in_order_with_their_payloads(redis, ns, clock):
    queue = make_queue(redis, ns, clock)
    ids = [queue.enqueue({"video": n, "sizes": [240, 720]}) for n in range(4)]
    assert len(set(ids)) == 4
    reserved = [queue.reserve() for _ in range(4)]
    assert [job.id for job in reserved] == ids
    assert [job.payload for job in reserved] == [{"video": n, "sizes": [240, 720]} for n in range(4)]
    assert all(job.attempt == 1 and job.lease_until == 10 for job in reserved)
    assert queue.reserve() is None
    assert queue.stats()["leased"] == 4


def test_idempotency_key_returns_the_same_job(redis, ns, clock):
    queue = make_queue(redis, ns, clock)
    first = queue.enqueue({"order": 7}, key="checkout-7")
    again = queue.enqueue({"order": 7}, key="checkout-7")
    other = queue.enqueue({"order": 8}, key="checkout-8")
    assert first == again != other
    stats = queue.stats()
    assert (stats["ready"], stats["enqueued"], stats["duplicates"]) == (2, 2, 1)
    job = queue.reserve()
    assert queue.ack(job)
    assert queue.enqueue({"order": 7}, key="checkout-7") == first, "a finished job still blocks duplicates"
    assert queue.stats()["ready"] == 1


def test_ack_finishes_a_job_once_and_a_repeated_ack_is_harmless(redis, ns, clock):
    queue = make_queue(redis, ns, clock)
    queue.enqueue("x")
    job = queue.reserve()
    assert queue.ack(job) is True
    assert queue.ack(job) is True, "a re-sent ack of the same reservation still reports done"
    assert queue.info(job.id)["status"] == "done"
    assert queue.stats()["acked"] == 1
    assert queue.pending() == 0


def test_failed_job_waits_for_exponential_backoff(redis, ns, clock):
    queue = make_queue(redis, ns, clock, max_attempts=10)
    assert [queue.backoff(n) for n in range(1, 7)] == [2, 4, 8, 16, 16, 16]
    queue.enqueue("flaky")
    due_times = []
    for attempt in range(1, 5):
        job = queue.reserve()
        assert job is not None and job.attempt == attempt
        assert queue.nack(job, "timeout") == "retry"
        due = queue.next_change()
        due_times.append(due - clock.now())
        clock.advance_to(due - 0.5)
        assert queue.reserve() is None, "a retry must not run before its backoff is over"
        clock.advance_to(due)
    assert due_times == [2, 4, 8, 16]
    assert queue.reserve().attempt == 5


def test_full_jitter_stays_within_the_backoff(redis, ns, clock):
    queue = make_queue(redis, ns, clock, rng=np.random.default_rng(1))
    delays = [queue.backoff(3) for _ in range(200)]
    assert min(delays) >= 0 and max(delays) <= 8
    assert len(set(delays)) > 150


def test_poison_job_reaches_the_dead_letter_list(redis, ns, clock):
    queue = make_queue(redis, ns, clock, max_attempts=3)
    poison = queue.enqueue({"video": "corrupt.mp4"})
    healthy = queue.enqueue({"video": "ok.mp4"})
    outcomes = []
    while queue.pending():
        job = queue.reserve()
        if job is None:
            clock.advance_to(queue.next_change())
            continue
        if job.id == poison:
            outcomes.append(queue.nack(job, "ValueError: cannot decode"))
        else:
            assert queue.ack(job)
    assert outcomes == ["retry", "retry", "dead"]
    assert queue.dead_letters() == [
        {
            "id": poison,
            "status": "dead",
            "attempts": 3,
            "payload": {"video": "corrupt.mp4"},
            "error": "ValueError: cannot decode",
        }
    ]
    assert queue.info(healthy)["status"] == "done"
    assert queue.retry_dead(poison) is True
    assert queue.retry_dead(poison) is False
    job = queue.reserve()
    assert (job.id, job.attempt) == (poison, 1)


def test_reaper_requeues_expired_lease_at_the_front(redis, ns, clock):
    queue = make_queue(redis, ns, clock)
    crashed_id = queue.enqueue("first")
    queue.enqueue("second")
    crashed = queue.reserve()
    clock.advance(9.9)
    assert queue.reap() == ([], [])
    clock.advance(0.1)
    assert queue.reap() == ([crashed_id], [])
    successor = queue.reserve()
    assert (successor.id, successor.attempt) == (crashed_id, 2), "the reaped job runs next"
    assert queue.ack(crashed) is False, "the crashed worker's late ack must not count"
    assert queue.nack(crashed, "late") == "lost"
    assert queue.ack(successor) is True
    assert queue.stats()["reaped"] == 1


def test_a_stale_holder_cannot_touch_a_job_retried_from_the_dead_letter_list(redis, ns, clock):
    """retry_dead starts the attempts again at 1, but the lease token keeps growing: a worker
    that hung through its lease and the dead-lettering cannot ack, nack or extend the new run."""
    queue = make_queue(redis, ns, clock, max_attempts=1)
    job_id = queue.enqueue("transcode")
    hung = queue.reserve()
    clock.advance(10)
    assert queue.reap() == ([], [job_id])
    assert queue.retry_dead(job_id)
    rerun = queue.reserve()
    assert (rerun.id, rerun.attempt) == (hung.id, hung.attempt) == (job_id, 1)
    assert rerun.token > hung.token
    assert queue.nack(hung, "late") == "lost"
    assert queue.extend(hung) is None
    assert queue.ack(hung) is False
    assert queue.info(job_id)["status"] == "leased"
    assert queue.ack(rerun) is True
    assert queue.stats()["dead"] == 0


def test_ack_after_deadline_counts_until_the_reaper_runs(redis, ns, clock):
    queue = make_queue(redis, ns, clock)
    queue.enqueue("slow")
    job = queue.reserve()
    clock.advance(30)
    assert queue.ack(job) is True
    assert queue.reap() == ([], [])


def test_job_that_keeps_crashing_workers_is_dead_lettered_by_the_reaper(redis, ns, clock):
    queue = make_queue(redis, ns, clock, max_attempts=2)
    job_id = queue.enqueue("kills its worker")
    for expected in (([job_id], []), ([], [job_id])):
        assert queue.reserve().id == job_id
        clock.advance(10)
        assert queue.reap() == expected
    assert queue.dead_letters()[0]["error"] == "lease expired on attempt 2"


def test_reaper_dead_letters_a_job_whose_record_was_deleted(redis, ns, clock):
    """One leased job with no record must not abort the reaper for every other job."""
    queue = make_queue(redis, ns, clock)
    orphan = queue.enqueue("orphan")
    crashed = queue.enqueue("crashed")
    assert [queue.reserve().id, queue.reserve().id] == [orphan, crashed]
    for field in ("payload", "attempts", "lease", "status", "error"):
        redis.hdel(queue.keys[field], orphan)
    clock.advance(10)
    assert queue.reap() == ([crashed], [orphan])
    assert queue.dead_letters() == [
        {"id": orphan, "status": "dead", "attempts": 0, "payload": None, "error": "job record missing"}
    ]
    assert queue.reserve().id == crashed


def test_extend_keeps_a_long_job_leased(redis, ns, clock):
    queue = make_queue(redis, ns, clock)
    queue.enqueue("transcode")
    job = queue.reserve()
    clock.advance(8)
    renewed = queue.extend(job)
    assert renewed is not None and renewed.lease_until == 18
    clock.advance(8)
    assert queue.reap() == ([], [])
    clock.advance(2)
    assert queue.reap() == ([job.id], [])
    assert queue.extend(renewed) is None
    with pytest.raises(ValueError, match="lease extension must be a finite number"):
        queue.extend(renewed, float("inf"))


def test_delayed_enqueue(redis, ns, clock):
    queue = make_queue(redis, ns, clock)
    queue.enqueue("later", delay=5)
    assert queue.reserve() is None
    assert queue.next_change() == 5
    clock.advance(5)
    assert queue.reserve().payload == "later"


def test_numpy_seconds_work_like_python_floats(redis, ns, clock):
    """``is_number`` accepts numpy floats; their repr (``np.float64(5.0)``) must not reach Lua."""
    queue = make_queue(redis, ns, clock)
    queue.enqueue("later", delay=np.float64(5.0))
    assert queue.reserve() is None and queue.next_change() == 5
    clock.advance(5)
    job = queue.reserve()
    renewed = queue.extend(job, np.float64(20.0))
    assert renewed is not None and renewed.lease_until == 25
    assert queue.ack(renewed)
    clock.advance(10)
    assert queue.purge(np.float64(1.0)) == 1


def test_every_counter_the_queue_stores_is_one_stats_reports(redis, ns, clock):
    """A job buried by nack, by the reaper and by reserve (record gone) leaves no unread counter."""
    queue = make_queue(redis, ns, clock, max_attempts=1)
    queue.enqueue("a")
    assert queue.nack(queue.reserve(), "boom") == "dead"
    queue.enqueue("b")
    queue.reserve()
    clock.advance(11)
    assert queue.reap()[1]
    gone = queue.enqueue("c")
    redis.hdel(queue.keys["payload"], gone)
    assert queue.reserve() is None
    assert queue.stats()["dead"] == 3, "the dead-letter list, counted now"
    lifetime = {"enqueued", "duplicates", "refused", "acked", "retried", "reaped"}
    assert set(redis.hgetall(queue.keys["stats"])) <= lifetime


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"lease": 0}, "lease must be a finite number of seconds > 0"),
        ({"lease": float("inf")}, "lease must be a finite number"),
        ({"max_attempts": 0}, "max_attempts must be a whole number >= 1"),
        ({"base_backoff": 5, "max_backoff": 1}, "base_backoff <= max_backoff"),
        ({"max_attempts": float("nan")}, "max_attempts must be a whole number >= 1"),
        ({"max_attempts": float("inf")}, "max_attempts must be a whole number >= 1"),
        ({"lease": "30"}, "lease must be a finite number of seconds > 0, got '30'"),
        ({"base_backoff": float("inf"), "max_backoff": float("inf")}, "backoff needs finite numbers"),
        ({"base_backoff": "1"}, "backoff needs finite numbers"),
    ],
)
def test_bad_settings_are_clear_errors(redis, ns, clock, options, message):
    with pytest.raises(ValueError, match=message):
        make_queue(redis, ns, clock, **options)


def test_bad_input_changes_nothing(redis, ns, clock):
    queue = make_queue(redis, ns, clock)
    with pytest.raises(ValueError, match="JSON-serialisable"):
        queue.enqueue({"when": object()})
    with pytest.raises(ValueError, match="idempotency key"):
        queue.enqueue("x", key="")
    with pytest.raises(ValueError, match="delay must be a finite number of seconds >= 0"):
        queue.enqueue("x", delay=-1)
    with pytest.raises(ValueError, match="delay must be a finite number"):
        queue.enqueue("x", delay=float("nan"))
    with pytest.raises(ValueError, match="delay must be a finite number of seconds >= 0, got '5'"):
        queue.enqueue("x", delay="5")
    with pytest.raises(ValueError, match="attempt numbers start at 1"):
        queue.backoff(0)
    assert queue.stats()["enqueued"] == 0 and ns.keys() == []


def test_default_clock_is_the_shared_wall_clock(redis, ns):
    assert isinstance(JobQueue(redis, ns.prefix).clock, WallClock)


def test_every_key_starts_with_the_prefix(redis, ns, clock):
    if not backend.is_embedded(redis):
        pytest.skip("lists every key of the server: only on the private fakeredis")
    queue = make_queue(redis, ns, clock, max_attempts=1)
    for n in range(3):
        queue.enqueue(n, key=f"k{n}")
    queue.ack(queue.reserve())
    queue.nack(queue.reserve())
    queue.reserve()
    clock.advance(60)
    queue.reap()
    assert redis.keys("*") and all(key.startswith(ns.prefix + ":") for key in redis.keys("*"))
    ns.clear()
    assert redis.keys("*") == []


_CHECK_KEYS = """
local declared = {}
for _, key in ipairs(KEYS) do declared[key] = true end
local function checked_call(command, key, ...)
  if not declared[key] then error('script touched the undeclared key ' .. tostring(key)) end
  return redis.call(command, key, ...)
end
"""


def test_every_script_declares_the_keys_it_touches(redis, ns, clock, monkeypatch):
    """Redis Cluster only supports keys passed in KEYS: run every script with a guard that
    refuses any other key, through enqueue, reserve, ack, nack, extend, reap, retry_dead and purge."""
    register = redis.register_script

    def guarded(source: str):
        return register(_CHECK_KEYS + source.replace("redis.call(", "checked_call("))

    monkeypatch.setattr(redis, "register_script", guarded)
    queue = make_queue(redis, ns, clock, max_attempts=2)
    first = queue.enqueue("a", key="k")
    queue.enqueue("b", delay=1)
    queue.enqueue("c")
    clock.advance(1)
    assert queue.ack(queue.reserve())
    failed = queue.extend(queue.reserve())
    assert (failed.id, queue.nack(failed)) == ("3", "retry")
    assert queue.reserve().id == "2"
    clock.advance(20)
    assert queue.reap() == (["2"], [])
    assert [queue.reserve().id, queue.reserve().id] == ["2", "3"]
    clock.advance(20)
    assert queue.reap() == ([], ["3", "2"])
    assert queue.retry_dead("2") and queue.info(first)["status"] == "done"
    assert queue.purge(0) == 1 and queue.info(first) == {}


def test_redis_cluster_needs_a_hash_tag_in_the_prefix(redis_cluster_url):
    from redis.cluster import RedisCluster

    client = RedisCluster.from_url(redis_cluster_url, decode_responses=True)
    try:
        with pytest.raises(ValueError, match=r"needs a \{hash tag\}.*e\.g\. '\{jobs\}', got 'jobs'"):
            JobQueue(client)
        with pytest.raises(ValueError, match=r"got 'app:\{\}:jobs'"):
            JobQueue(client, "app:{}:jobs")
    finally:
        client.close()


def test_stateful_against_a_model(redis, ns):
    """Whatever the interleaving of enqueue, reserve, ack, nack, time, reaping and retry_dead, the queue
    hands out exactly the job the model predicts, no job is lost or duplicated, and only the
    latest reservation of a job (not a stale holder, even after retry_dead) can finish it."""
    lease = 5.0

    def backoff(attempt: int) -> float:
        return min(4.0, 1.0 * 2 ** (attempt - 1))

    class QueueMachine(RuleBasedStateMachine):
        @initialize(max_attempts=st.sampled_from([1, 3]))
        def start(self, max_attempts: int) -> None:
            self.max_attempts = max_attempts
            self.clock = SimClock()
            self.queue = JobQueue(
                redis,
                ns.key(uuid.uuid4().hex[:8]),
                lease=lease,
                max_attempts=max_attempts,
                base_backoff=1.0,
                max_backoff=4.0,
                clock=self.clock,
            )
            self.ready: deque[str] = deque()
            self.delayed: dict[str, float] = {}
            self.leased: dict[str, float] = {}
            self.attempts: dict[str, int] = {}
            self.reservations: dict[str, int] = {}
            self.done: set[str] = set()
            self.dead: list[str] = []
            self.by_key: dict[str, str] = {}
            self.errors: dict[str, str] = {}
            self.held: list[tuple[object, int]] = []
            self.next_id = 1

        @rule(key=st.none() | st.sampled_from(["a", "b", "c"]))
        def enqueue(self, key) -> None:
            job_id = self.queue.enqueue({"n": self.next_id}, key=key)
            if key is not None and key in self.by_key:
                assert job_id == self.by_key[key]
                return
            assert job_id == str(self.next_id)
            self.next_id += 1
            self.ready.append(job_id)
            self.attempts[job_id] = 0
            self.reservations[job_id] = 0
            if key is not None:
                self.by_key[key] = job_id

        @rule()
        def reserve(self) -> None:
            now = self.clock.now()
            for job_id in sorted(
                (j for j, t in self.delayed.items() if t <= now), key=self._order(self.delayed)
            ):
                del self.delayed[job_id]
                self.ready.append(job_id)
            job = self.queue.reserve()
            if not self.ready:
                assert job is None
                return
            expected = self.ready.popleft()
            self.attempts[expected] += 1
            self.reservations[expected] += 1
            assert (job.id, job.attempt) == (expected, self.attempts[expected])
            self.leased[expected] = now + lease
            self.held.append((job, self.reservations[expected]))

        def _holds(self, job, reservation: int) -> bool:
            return job.id in self.leased and self.reservations[job.id] == reservation

        @precondition(lambda self: self.held)
        @rule(data=st.data(), fail=st.booleans())
        def finish(self, data, fail: bool) -> None:
            job, reservation = data.draw(st.sampled_from(self.held))
            holds = self._holds(job, reservation)
            if not fail:
                finished_by_it = job.id in self.done and self.reservations[job.id] == reservation
                assert self.queue.ack(job) is (holds or finished_by_it)
                if holds:
                    del self.leased[job.id]
                    self.done.add(job.id)
                return
            outcome = self.queue.nack(job, "boom")
            if not holds:
                assert outcome == self._repeated_nack(job, reservation, "boom")
                return
            self.errors[job.id] = "boom"
            del self.leased[job.id]
            if job.attempt >= self.max_attempts:
                assert outcome == "dead"
                self.dead.append(job.id)
            else:
                assert outcome == "retry"
                self.delayed[job.id] = self.clock.now() + backoff(job.attempt)

        def _repeated_nack(self, job, reservation: int, error: str) -> str:
            """A nack from a reservation that no longer holds the lease: if that reservation's own
            nack was the last thing to happen to the job, the same outcome again (a re-sent nack)."""
            if self.reservations[job.id] != reservation:
                return "lost"
            if job.id in self.delayed:
                return "retry"
            if job.id in self.dead and self.errors.get(job.id) == error:
                return "dead"
            return "lost"

        def _stale(self) -> list:
            return [(job, r) for job, r in self.held if not self._holds(job, r)]

        @precondition(lambda self: self._stale())
        @rule(data=st.data())
        def stale_holder(self, data) -> None:
            """A worker whose reservation is no longer the latest (reaped, dead-lettered, retried)."""
            job, reservation = data.draw(st.sampled_from(self._stale()))
            assert self.queue.extend(job) is None
            assert self.queue.nack(job, "late") == self._repeated_nack(job, reservation, "late")

        @precondition(lambda self: self.dead)
        @rule(data=st.data())
        def retry_dead(self, data) -> None:
            job_id = data.draw(st.sampled_from(self.dead))
            assert self.queue.retry_dead(job_id) is True
            assert self.queue.retry_dead(job_id) is False
            self.dead.remove(job_id)
            self.attempts[job_id] = 0
            self.ready.append(job_id)

        @rule(seconds=st.sampled_from([0.5, 1, 2, 5]))
        def advance(self, seconds: float) -> None:
            self.clock.advance(seconds)

        @rule()
        def reap(self) -> None:
            now = self.clock.now()
            expired = sorted((j for j, t in self.leased.items() if t <= now), key=self._order(self.leased))
            requeued, dead = [], []
            for job_id in reversed(expired):
                del self.leased[job_id]
                if self.attempts[job_id] >= self.max_attempts:
                    self.dead.append(job_id)
                    self.errors[job_id] = f"lease expired on attempt {self.attempts[job_id]}"
                    dead.append(job_id)
                else:
                    self.ready.appendleft(job_id)
                    requeued.append(job_id)
            assert self.queue.reap() == (requeued, dead)

        @staticmethod
        def _order(times: dict[str, float]):
            return lambda job_id: (times[job_id], job_id)

        @invariant()
        def counts_match(self) -> None:
            if not hasattr(self, "queue"):
                return
            stats = self.queue.stats()
            assert stats["ready"] == len(self.ready)
            assert stats["delayed"] == len(self.delayed)
            assert stats["leased"] == len(self.leased)
            assert stats["dead"] == len(self.dead)
            assert stats["acked"] == len(self.done)
            accounted = (
                len(self.ready) + len(self.delayed) + len(self.leased) + len(self.done) + len(self.dead)
            )
            assert accounted == len(self.attempts) == stats["enqueued"]

    run_state_machine_as_test(QueueMachine, settings=settings(max_examples=100, stateful_step_count=30))


def test_runs_on_redis_cluster_with_a_hash_tag_prefix(redis_cluster_url):
    """Every key of one queue shares the prefix's {hash tag}, so its Lua scripts run on one node."""
    from redis.cluster import RedisCluster

    from scalekit.queues import Worker, counting_handler

    client = RedisCluster.from_url(redis_cluster_url, decode_responses=True)
    prefix = f"{{test-q-{uuid.uuid4().hex[:12]}}}"
    try:
        clock = SimClock()
        queue = JobQueue(client, prefix, lease=10, max_attempts=2, clock=clock)
        ids = [queue.enqueue({"n": n}, key=f"k{n % 3}") for n in range(5)]
        assert ids == ["1", "2", "3", "1", "2"]
        crashed = queue.reserve()
        clock.advance(10)
        assert queue.reap() == ([crashed.id], [])
        worker = Worker(queue, counting_handler(client, f"{prefix}:effects", idempotent=True))
        assert worker.run() == 3
        stats = queue.stats()
        assert (stats["acked"], stats["duplicates"], queue.pending()) == (3, 2, 0)
    finally:
        for key in client.scan_iter(match=f"{prefix}*"):
            client.delete(key)
        client.close()


def test_max_backlog_refuses_new_jobs_with_queue_full(redis, ns, clock):
    """A bounded queue says no (the 429/503 of a web service) instead of growing without end:
    every unfinished job counts (ready, waiting to retry, leased), finishing one makes room,
    and a duplicate idempotency key is answered even when the queue is full."""
    from scalekit.queues import QueueFull

    queue = make_queue(redis, ns, clock, max_backlog=3)
    first = queue.enqueue("a", key="order-1")
    queue.enqueue("b", delay=5)
    queue.enqueue("c")
    with pytest.raises(QueueFull, match=r"is full: 3 unfinished jobs \(max_backlog=3\)") as refused:
        queue.enqueue("d")
    assert (refused.value.backlog, refused.value.max_backlog) == (3, 3)
    assert queue.enqueue("a again", key="order-1") == first
    job = queue.reserve()
    with pytest.raises(QueueFull):
        queue.enqueue("d")
    assert queue.nack(job, "flaky") == "retry"
    with pytest.raises(QueueFull):
        queue.enqueue("d")
    stats = queue.stats()
    assert (stats["enqueued"], stats["refused"], queue.pending()) == (3, 3, 3)
    assert queue.ack(queue.reserve())
    assert queue.enqueue("d") == "4"
    assert queue.pending() == 3


def test_max_backlog_holds_under_concurrent_producers(redis, ns):
    """Producers racing from threads never push the backlog past the limit (the check and
    the push are one script)."""
    from concurrent.futures import ThreadPoolExecutor

    from scalekit.queues import QueueFull

    queue = JobQueue(redis, ns.prefix, max_backlog=25)

    def produce(n: int) -> int:
        accepted = 0
        for i in range(20):
            try:
                queue.enqueue({"producer": n, "i": i})
                accepted += 1
            except QueueFull:
                pass
        return accepted

    with ThreadPoolExecutor(max_workers=4) as pool:
        accepted = sum(pool.map(produce, range(4)))
    assert accepted == 25 == queue.pending()
    assert queue.stats()["refused"] == 80 - 25


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, float("nan"), "10"])
def test_max_backlog_must_be_a_positive_whole_number(redis, ns, clock, bad):
    with pytest.raises(ValueError, match="max_backlog must be a whole number >= 1 or None"):
        make_queue(redis, ns, clock, max_backlog=bad)


def test_retry_dead_respects_max_backlog(redis, ns, clock):
    from scalekit.queues import QueueFull

    queue = make_queue(redis, ns, clock, max_attempts=1, max_backlog=1)
    poison = queue.enqueue("poison")
    assert queue.nack(queue.reserve(), "boom") == "dead"
    queue.enqueue("next")
    with pytest.raises(QueueFull, match="max_backlog=1"):
        queue.retry_dead(poison)
    assert queue.info(poison)["status"] == "dead" and queue.stats()["dead"] == 1
    assert queue.ack(queue.reserve())
    assert queue.retry_dead(poison) is True
    assert queue.retry_dead("no-such-job") is False


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({1: "a"}, r"non-string key 1 at the top level: JSON object keys are strings"),
        ({"order": {2: "x", "b": 1}}, r"non-string key 2 at \['order'\]"),
        ({1: "a", "b": 2}, "non-string key 1"),
        ({(1, 2): "pair"}, r"non-string key \(1, 2\)"),
        ({True: "yes"}, "non-string key True"),
        ({"sizes": (240, 720)}, "would not come back unchanged from JSON .tuples come back as lists"),
        ({"ratio": float("nan")}, "must be JSON-serialisable"),
        ([float("inf")], "must be JSON-serialisable"),
        ({"when": object()}, "must be JSON-serialisable"),
        ({"tags": {"a", "b"}}, "must be JSON-serialisable"),
    ],
)
def test_payloads_that_json_would_change_are_refused(redis, ns, clock, payload, message):
    """A worker must receive exactly what was enqueued: no silent {1: 'a'} -> {'1': 'a'}."""
    queue = make_queue(redis, ns, clock)
    with pytest.raises(ValueError, match=message):
        queue.enqueue(payload)
    assert ns.keys() == []


def test_hostile_payloads_are_refused_cleanly(redis, ns, clock):
    queue = make_queue(redis, ns, clock)
    nested: list = []
    for _ in range(5000):
        nested = [nested]
    with pytest.raises(ValueError, match="nested too deeply"):
        queue.enqueue(nested)
    circular: dict = {}
    circular["self"] = circular
    with pytest.raises(ValueError, match=r"nested too deeply|Circular reference"):
        queue.enqueue(circular)

    class Unprintable:
        def __repr__(self):
            raise RuntimeError("no repr")

        def __hash__(self):
            return 1

    with pytest.raises(ValueError, match="non-string key of type Unprintable"):
        queue.enqueue({Unprintable(): 1})
    assert ns.keys() == []
    assert queue.reserve() is None
    queue.enqueue({"unicode": "zürich ✓", "big": 2**70, "neg_zero": -0.0, "nested": [{"a": [None, True]}]})
    assert queue.reserve().payload == {
        "unicode": "zürich ✓",
        "big": 2**70,
        "neg_zero": 0.0,
        "nested": [{"a": [None, True]}],
    }


def test_without_retention_every_finished_job_stays_in_memory(redis, ns, clock):
    queue = make_queue(redis, ns, clock)
    for n in range(20):
        queue.enqueue({"n": n}, key=f"k{n}")
    Worker(queue, lambda job: None).run()
    clock.advance(3600)
    queue.reap()
    assert redis.hlen(queue.keys["payload"]) == 20 and redis.hlen(queue.keys["idem"]) == 20


def test_retention_forgets_finished_jobs_and_their_keys(redis, ns, clock):
    """A queue that runs for months must not keep every job it ever finished: with
    ``retention`` the reaper deletes finished records and idempotency keys once they are
    older than it; dead jobs, unfinished ones and the counters stay."""
    queue = make_queue(redis, ns, clock, retention=60, max_attempts=1)
    for n in range(20):
        queue.enqueue({"n": n}, key=f"k{n}")
    queue.enqueue({"n": "poison"}, key="poison")
    worker = Worker(queue, lambda job: 1 / 0 if job.payload["n"] == "poison" else None)
    assert worker.run() == 21
    kept = queue.enqueue({"n": "late"}, key="late")
    assert queue.enqueue({"n": 0}, key="k0") == "1", "within the retention a key still answers"
    clock.advance(59)
    queue.reap()
    assert redis.hlen(queue.keys["payload"]) == 22
    clock.advance(2)
    queue.reap()
    assert sorted(redis.hkeys(queue.keys["payload"]), key=int) == ["21", kept]
    assert queue.info("1") == {} and queue.info("21")["status"] == "dead"
    assert redis.hlen(queue.keys["status"]) == 2 and redis.zcard(queue.keys["finished"]) == 0
    assert sorted(redis.hkeys(queue.keys["idem"])) == ["late", "poison"]
    assert queue.enqueue({"n": 0}, key="k0") == "23", "after the retention the key is forgotten"
    stats = queue.stats()
    assert (stats["enqueued"], stats["acked"], stats["dead"]) == (23, 20, 1)


def test_purge_and_retention_settings(redis, ns, clock):
    for bad in (0, -1, float("nan"), float("inf"), "60"):
        with pytest.raises(ValueError, match="retention must be None or a finite number"):
            make_queue(redis, ns, clock, retention=bad)
    queue = make_queue(redis, ns, clock)
    with pytest.raises(ValueError, match="older_than must be a finite number"):
        queue.purge(float("nan"))
    queue.enqueue("x")
    assert queue.ack(queue.reserve())
    assert queue.purge(0) == 1 and queue.purge(0) == 0
