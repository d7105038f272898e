"""Stateful tests: workers racing over one JobQueue (slow handlers whose lease runs out and is
redelivered, heartbeats, a bounded backlog), and consumers of an EventBus group (failures,
crashes, claims, the delivery limit and dead letters), each against a plain-Python model."""

from __future__ import annotations

import uuid

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

from scalekit.clock import SimClock
from scalekit.queues import EventBus, JobQueue, QueueFull, counting_handler

LEASE = 5.0
WORKERS = ["w0", "w1", "w2"]


def test_workers_with_slow_handlers_against_a_model(redis, ns):
    """Three workers take jobs; a handler may be slow (time passes, the lease runs out, another
    worker reaps and runs the job again) or keep its lease with heartbeats. Whatever happens, a
    job is finished only by the reservation that holds it, the idempotent effect counts each
    finished job exactly once, and the backlog never passes max_backlog."""

    class Workers(RuleBasedStateMachine):
        @initialize(max_backlog=st.sampled_from([None, 2, 4]))
        def start(self, max_backlog) -> None:
            self.clock = SimClock()
            prefix = ns.key(uuid.uuid4().hex[:8])
            self.queue = JobQueue(
                redis,
                prefix,
                lease=LEASE,
                max_attempts=3,
                base_backoff=1,
                max_backoff=1,
                clock=self.clock,
                max_backlog=max_backlog,
            )
            self.effects_key = f"{prefix}:effects"
            self.effect = counting_handler(redis, self.effects_key, idempotent=True)
            self.max_backlog = max_backlog
            self.ready: list[str] = []
            self.delayed: dict[str, float] = {}
            self.leased: dict[str, tuple[float, int]] = {}
            self.reservations: dict[str, int] = {}
            self.attempts: dict[str, int] = {}
            self.running: dict[str, tuple[object, int]] = {}
            self.done: set[str] = set()
            self.dead: set[str] = set()
            self.ran: set[str] = set()
            self.next_id = 1

        def backlog(self) -> int:
            return len(self.ready) + len(self.delayed) + len(self.leased)

        @rule()
        def enqueue(self) -> None:
            if self.max_backlog is not None and self.backlog() >= self.max_backlog:
                with pytest.raises(QueueFull):
                    self.queue.enqueue({"n": self.next_id})
                return
            job_id = self.queue.enqueue({"n": self.next_id})
            assert job_id == str(self.next_id)
            self.next_id += 1
            self.ready.append(job_id)
            self.reservations[job_id] = self.attempts[job_id] = 0

        @rule(worker=st.sampled_from(WORKERS))
        def take(self, worker: str) -> None:
            """A worker reaps, then reserves (it may still be running an older job: that run is abandoned)."""
            self._reap()
            now = self.clock.now()
            for job_id in sorted(
                (j for j, t in self.delayed.items() if t <= now), key=lambda j: (self.delayed[j], j)
            ):
                del self.delayed[job_id]
                self.ready.append(job_id)
            job = self.queue.reserve()
            if not self.ready:
                assert job is None
                return
            expected = self.ready.pop(0)
            assert job.id == expected
            self.reservations[expected] += 1
            self.attempts[expected] += 1
            assert job.attempt == self.attempts[expected]
            self.leased[expected] = (now + LEASE, self.reservations[expected])
            self.running[worker] = (job, self.reservations[expected])

        def _holds(self, job, reservation: int) -> bool:
            return job.id in self.leased and self.leased[job.id][1] == reservation

        @precondition(lambda self: self.running)
        @rule(data=st.data())
        def heartbeat(self, data) -> None:
            self._beat(data.draw(st.sampled_from(sorted(self.running))))

        def _beat(self, worker: str) -> None:
            job, reservation = self.running[worker]
            renewed = self.queue.extend(job)
            if self._holds(job, reservation):
                assert renewed is not None
                self.leased[job.id] = (self.clock.now() + LEASE, reservation)
            else:
                assert renewed is None

        @precondition(lambda self: self.running)
        @rule(data=st.data(), beats=st.integers(1, 4))
        def long_job_with_heartbeats(self, data, beats: int) -> None:
            """A handler running for several leases, renewing every 60 % of one, while others reap:
            if its first beat kept the lease, it holds the lease at the end."""
            worker = data.draw(st.sampled_from(sorted(self.running)))
            job, reservation = self.running[worker]
            self._beat(worker)
            held = self._holds(job, reservation)
            for _ in range(beats):
                self.clock.advance(0.6 * LEASE)
                self._reap()
                self._beat(worker)
            assert self._holds(job, reservation) is held

        @precondition(lambda self: self.running)
        @rule(data=st.data())
        def long_job_without_heartbeat(self, data) -> None:
            """A handler outlives its lease: another worker reaps it and gets the job again."""
            worker = data.draw(st.sampled_from(sorted(self.running)))
            job, reservation = self.running[worker]
            self.clock.advance(LEASE)
            rescuer = next(w for w in WORKERS if w != worker)
            self.take(rescuer)
            assert not self._holds(job, reservation), "a lease that ran out was taken back"

        @rule(seconds=st.sampled_from([1.0, 2.0, LEASE]))
        def slow_handler(self, seconds: float) -> None:
            """Time passes while handlers run; a lease may run out."""
            self.clock.advance(seconds)

        @rule()
        def reap(self) -> None:
            self._reap()

        def _reap(self) -> None:
            now = self.clock.now()
            expired = sorted(
                (j for j, (t, _) in self.leased.items() if t <= now), key=lambda j: (self.leased[j][0], j)
            )
            requeued, dead = [], []
            for job_id in reversed(expired):
                del self.leased[job_id]
                if self.attempts[job_id] >= 3:
                    self.dead.add(job_id)
                    dead.append(job_id)
                else:
                    self.ready.insert(0, job_id)
                    requeued.append(job_id)
            assert self.queue.reap() == (requeued, dead)

        @precondition(lambda self: self.running)
        @rule(data=st.data(), fail=st.booleans())
        def finish(self, data, fail: bool) -> None:
            """The handler returns (its effect done, idempotently) or raises."""
            worker = data.draw(st.sampled_from(sorted(self.running)))
            job, reservation = self.running.pop(worker)
            holds = self._holds(job, reservation)
            if not fail:
                self.effect(job)
                self.ran.add(job.id)
                assert self.queue.ack(job) is holds
                if holds:
                    del self.leased[job.id]
                    self.done.add(job.id)
                return
            outcome = self.queue.nack(job, "boom")
            if not holds:
                assert outcome == "lost"
                return
            del self.leased[job.id]
            if self.attempts[job.id] >= 3:
                assert outcome == "dead"
                self.dead.add(job.id)
            else:
                assert outcome == "retry"
                self.delayed[job.id] = self.clock.now() + 1

        @invariant()
        def matches_the_model(self) -> None:
            if not hasattr(self, "queue"):
                return
            stats = self.queue.stats()
            assert (stats["ready"], stats["delayed"], stats["leased"]) == (
                len(self.ready),
                len(self.delayed),
                len(self.leased),
            )
            assert stats["acked"] == len(self.done) and stats["dead"] == len(self.dead)
            if self.max_backlog is not None:
                assert self.queue.pending() <= self.max_backlog
            effects = redis.hgetall(self.effects_key)
            assert set(effects) == self.ran and set(effects.values()) <= {"1"}, "each effect exactly once"
            assert self.done <= self.ran

    run_state_machine_as_test(Workers, settings=settings(max_examples=60, stateful_step_count=40))


def test_event_bus_consumers_against_a_model(redis, ns):
    """Consumers of one group read, fail, crash while holding events, and claim each other's
    events. An event reaches a handler at most max_deliveries times; after that it sits in
    the dead letters once, with the error of its last failed delivery."""
    max_deliveries = 3

    class Consumers(RuleBasedStateMachine):
        @initialize()
        def start(self) -> None:
            self.bus = EventBus(redis, ns.key(uuid.uuid4().hex[:8]), max_deliveries=max_deliveries)
            self.bus.subscribe("t", "g")
            self.unread: list[str] = []
            self.fails: dict[str, int] = {}
            self.numbers: dict[str, int] = {}
            self.deliveries: dict[str, int] = {}
            self.owner: dict[str, str] = {}
            self.errors: dict[str, str] = {}
            self.acked: set[str] = set()
            self.dead: list[str] = []
            self.handled_deliveries: dict[str, list[int]] = {}
            self.n = 0

        @rule(fails=st.sampled_from([0, 0, 1, 2, 5]))
        def publish(self, fails: int) -> None:
            message_id = self.bus.publish("t", {"n": self.n, "fails": fails})
            self.n += 1
            self.unread.append(message_id)
            self.fails[message_id] = fails
            self.numbers[message_id] = self.n - 1
            self.deliveries[message_id] = 0

        def _handler(self, message) -> None:
            self.handled_deliveries.setdefault(message.id, []).append(message.deliveries)
            assert message.deliveries == self.deliveries[message.id]
            if message.deliveries <= message.event["fails"]:
                raise ValueError(f"event {message.event['n']} failed delivery {message.deliveries}")

        def _handled(self, message_id: str) -> None:
            if self.deliveries[message_id] <= self.fails[message_id]:
                n, delivery = self.numbers[message_id], self.deliveries[message_id]
                self.errors[message_id] = f"ValueError: event {n} failed delivery {delivery}"
            else:
                self.acked.add(message_id)
                del self.owner[message_id]

        @rule(consumer=st.sampled_from(["c1", "c2"]), count=st.integers(1, 3), crash=st.booleans())
        def read(self, consumer: str, count: int, crash: bool) -> None:
            """Read new events; handle them, or crash holding them."""
            taken = self.unread[:count]
            del self.unread[:count]
            for message_id in taken:
                self.deliveries[message_id] = 1
                self.owner[message_id] = consumer
            if crash:
                assert [m.id for m in self.bus.read("t", "g", consumer, count=count)] == taken
                return
            self.bus.consume("t", "g", consumer, self._handler, count=count)
            for message_id in taken:
                self._handled(message_id)

        @rule(consumer=st.sampled_from(["c1", "c2"]), crash=st.booleans())
        def claim(self, consumer: str, crash: bool) -> None:
            """Take over every pending event (as after a consumer died): redelivery, or the dead letters."""
            pending = sorted(self.owner, key=lambda i: tuple(int(p) for p in i.split("-")))
            redelivered = []
            for message_id in pending:
                self.deliveries[message_id] += 1
                if self.deliveries[message_id] > max_deliveries:
                    del self.owner[message_id]
                    self.dead.append(message_id)
                else:
                    self.owner[message_id] = consumer
                    redelivered.append(message_id)
            claimed = self.bus.claim("t", "g", consumer, min_idle=0)
            assert [m.id for m in claimed] == redelivered
            assert [m.deliveries for m in claimed] == [self.deliveries[i] for i in redelivered]
            if crash:
                return
            self.bus.consume("t", "g", consumer, self._handler, messages=claimed)
            for message_id in redelivered:
                self._handled(message_id)

        @invariant()
        def matches_the_model(self) -> None:
            if not hasattr(self, "bus"):
                return
            per_consumer: dict[str, int] = {}
            for consumer in self.owner.values():
                per_consumer[consumer] = per_consumer.get(consumer, 0) + 1
            assert self.bus.pending("t", "g") == dict(sorted(per_consumer.items()))
            letters = self.bus.dead_letters("t")
            assert [d.id for d in letters] == self.dead
            for letter in letters:
                assert letter.deliveries == max_deliveries
                assert letter.error == self.errors.get(letter.id, "")
            assert all(len(d) <= max_deliveries for d in self.handled_deliveries.values())
            accounted = len(self.unread) + len(self.owner) + len(self.acked) + len(self.dead)
            assert accounted == self.n

    run_state_machine_as_test(Consumers, settings=settings(max_examples=60, stateful_step_count=30))
