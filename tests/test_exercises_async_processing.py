"""The checks of notebook 06's exercises: right answers pass, typical wrong ones get a reason."""

from __future__ import annotations

import numpy as np
import pytest

from scalekit import models
from scalekit.exercises import async_processing as checks

SALE = np.full(3600, 100.0)
SALE[600:900] = 800.0


# ---------------------------------------------------------------- workers for the flash sale


def test_workers_right_answer_does_not_restate_it():
    workers = checks.workers_needed(SALE, 10.0, 120.0)
    feedback = checks.check_workers(workers, SALE, per_worker=10.0, max_wait=120.0)
    assert feedback and str(workers) not in feedback.message


@pytest.mark.parametrize(("offset", "says"), [(-1, "over the"), (1, "fewer would too"), (-20, "over the")])
def test_workers_off_by_some(offset, says):
    workers = checks.workers_needed(SALE, 10.0, 120.0)
    feedback = checks.check_workers(workers + offset, SALE, per_worker=10.0, max_wait=120.0)
    assert not feedback and says in feedback.message


@pytest.mark.parametrize("answer", [None, ..., 0, 2.5, "80", True])
def test_workers_wrong_kinds(answer):
    assert not checks.check_workers(answer, SALE, per_worker=10.0, max_wait=120.0)


# ---------------------------------------------------------------- poison job


def test_time_to_dead_letter():
    right = checks.time_to_dead_letter(2, 20, 6)
    assert right == 2 + 4 + 8 + 16 + 20
    feedback = checks.check_time_to_dead_letter(right, base_backoff=2, max_backoff=20, max_attempts=6)
    assert feedback and "50" not in feedback.message
    uncapped = 2 + 4 + 8 + 16 + 32
    one_wait_too_many = right + 20
    for wrong in (uncapped, one_wait_too_many, right - 20, None):
        feedback = checks.check_time_to_dead_letter(wrong, base_backoff=2, max_backoff=20, max_attempts=6)
        assert not feedback and repr(feedback).startswith("Not yet")


# ---------------------------------------------------------------- judgement: queue it or answer now?

RIGHT = dict(checks.QUEUE_OR_NOW)


def test_queue_or_now_right_answer_does_not_list_the_choices():
    feedback = checks.check_queue_or_now(RIGHT)
    assert feedback
    assert not any(f"'{name}'" in feedback.message for name in RIGHT)
    assert checks.check_queue_or_now({k: v.upper() + " " for k, v in RIGHT.items()})


@pytest.mark.parametrize(
    ("operation", "reason"),
    [
        ("login", "cannot take one more step"),
        ("welcome email", "mail provider"),
        ("video transcode", "202"),
        ("search suggestions", "stale"),
        ("follower counts", "celebrity"),
    ],
)
def test_each_wrong_choice_is_explained(operation, reason):
    flipped = "now" if RIGHT[operation] == "queue" else "queue"
    feedback = checks.check_queue_or_now({**RIGHT, operation: flipped})
    assert not feedback
    assert reason in feedback.message and f"'{operation}'" in feedback.message
    assert all(f"'{other}'" not in feedback.message for other in RIGHT if other != operation)


def test_queue_everything_is_wrong_for_each_synchronous_operation():
    feedback = checks.check_queue_or_now(dict.fromkeys(RIGHT, "queue"))
    assert not feedback and "'login'" in feedback.message and "'search suggestions'" in feedback.message
    assert "'welcome email'" not in feedback.message


@pytest.mark.parametrize(
    "answer",
    [None, ..., ["queue"], dict.fromkeys(RIGHT, ...), {**RIGHT, "login": "later"}, {"billing": "now"}],
)
def test_queue_or_now_unfinished_or_malformed(answer):
    feedback = checks.check_queue_or_now(answer)
    assert not feedback and repr(feedback).startswith("Not yet")


# ---------------------------------------------------------------- build it: an idempotent handler

APPLY_ONCE = """
if redis.call('SADD', KEYS[2], ARGV[1]) == 1 then
  redis.call('HINCRBY', KEYS[1], 'balance', ARGV[2])
end
"""


def lua_handler(r, ledger, job):
    r.eval(APPLY_ONCE, 2, ledger, f"{ledger}:seen", job.id, job.payload["cents"])


def watch_handler(r, ledger, job):
    """Optimistic locking: WATCH the applied set, then MULTI/EXEC; a conflict retries."""
    import redis

    while True:
        with r.pipeline() as pipe:
            try:
                pipe.watch(f"{ledger}:applied")
                if pipe.sismember(f"{ledger}:applied", job.id):
                    return
                pipe.multi()
                pipe.sadd(f"{ledger}:applied", job.id)
                pipe.hincrby(ledger, "balance", job.payload["cents"])
                pipe.execute()
                return
            except redis.WatchError:
                continue


def locked_handler(r, ledger, job):
    """A per-job lock around check-then-apply, the apply being one MULTI/EXEC: right, and the
    redelivery that waits for the lock must not stall the check."""
    with r.lock(f"{ledger}:lock:{job.id}", timeout=2, blocking_timeout=5):
        if r.sismember(f"{ledger}:applied", job.id):
            return
        with r.pipeline(transaction=True) as pipe:
            pipe.sadd(f"{ledger}:applied", job.id)
            pipe.hincrby(ledger, "balance", job.payload["cents"])
            pipe.execute()


def plain_handler(r, ledger, job):
    r.hincrby(ledger, "balance", job.payload["cents"])


def add_then_remember(r, ledger, job):
    """Idempotent if nothing crashes: a crash between the two commands counts twice."""
    if not r.sismember(f"{ledger}:applied", job.id):
        r.hincrby(ledger, "balance", job.payload["cents"])
        r.sadd(f"{ledger}:applied", job.id)


def remember_then_add(r, ledger, job):
    """Safe against duplicates and overlaps (SADD is atomic), but a crash after SADD loses the payment."""
    if r.sadd(f"{ledger}:applied", job.id):
        r.hincrby(ledger, "balance", job.payload["cents"])


def check_then_transaction(r, ledger, job):
    """Crash-safe (one MULTI/EXEC) but racy: two overlapping deliveries both pass the check."""
    if r.sismember(f"{ledger}:applied", job.id):
        return
    with r.pipeline(transaction=True) as pipe:
        pipe.sadd(f"{ledger}:applied", job.id)
        pipe.hincrby(ledger, "balance", job.payload["cents"])
        pipe.execute()


def dedupe_by_amount(r, ledger, job):
    """Forgets that two payments can have the same amount."""
    r.eval(APPLY_ONCE, 2, ledger, f"{ledger}:seen", str(job.payload["cents"]), job.payload["cents"])


def dedupe_by_attempt(r, ledger, job):
    """Uses the lease token as the key: every redelivery looks new."""
    r.eval(APPLY_ONCE, 2, ledger, f"{ledger}:seen", f"{job.id}/{job.token}", job.payload["cents"])


def padded_check_then_set(r, ledger, job):
    """Check-then-set behind three harmless reads: a crash or an overlap at the first three
    commands cannot catch it, only one at its later commands."""
    for _ in range(3):
        r.exists(ledger)
    if not r.sismember(f"{ledger}:applied", job.id):
        r.hincrby(ledger, "balance", job.payload["cents"])
        r.sadd(f"{ledger}:applied", job.id)


def padded_check_then_transaction(r, ledger, job):
    """Crash-safe, and its race sits after two harmless reads."""
    r.exists(ledger)
    r.exists(ledger)
    check_then_transaction(r, ledger, job)


_PROCESS_MEMORY: set = set()


def per_process_memory(r, ledger, job):
    """Dedups in this Python process only."""
    if job.id in _PROCESS_MEMORY:
        return
    _PROCESS_MEMORY.add(job.id)
    r.hincrby(ledger, "balance", job.payload["cents"])


_PER_CONNECTION: set = set()


def per_connection_memory(r, ledger, job):
    """Dedups in memory, per connection object: passes every scenario on one connection."""
    if (id(r), job.id) in _PER_CONNECTION:
        return
    _PER_CONNECTION.add((id(r), job.id))
    r.hincrby(ledger, "balance", job.payload["cents"])


def stub(r, ledger, job): ...


def raises(r, ledger, job):
    raise KeyError("amount")


@pytest.mark.parametrize("handler", [lua_handler, watch_handler, locked_handler, checks.reference_payment])
def test_idempotent_handler_right_answers(handler):
    import time

    started = time.monotonic()
    feedback = checks.check_idempotent_handler(handler)
    assert feedback, feedback.message
    assert time.monotonic() - started < 30, "a learner waits seconds, not minutes"


@pytest.mark.parametrize(
    ("handler", "says"),
    [
        (stub, "the balance stayed at 0"),
        (plain_handler, "some jobs delivered two or three times, the balance is"),
        (add_then_remember, "crashed right after the handler's Redis command 2"),
        (remember_then_add, "a payment was lost"),
        (check_then_transaction, "while the first delivery was paused before its Redis command 2"),
        (padded_check_then_set, "crashed right after the handler's Redis command 5"),
        (padded_check_then_transaction, "paused before its Redis command 4"),
        (per_process_memory, "remembers applied jobs in Python memory"),
        (per_connection_memory, "counted twice"),
        (dedupe_by_amount, "two payments can have the same amount"),
        (dedupe_by_attempt, "counted twice"),
        (raises, "raised KeyError"),
    ],
)
def test_idempotent_handler_wrong_answers_get_a_concrete_scenario(handler, says):
    feedback = checks.check_idempotent_handler(handler)
    assert not feedback
    assert says in feedback.message, feedback.message
    assert repr(feedback).startswith("Not yet")


@pytest.mark.parametrize("answer", [None, ..., "apply_payment", 3])
def test_idempotent_handler_non_functions(answer):
    assert not checks.check_idempotent_handler(answer)


def test_deliveries_are_seeded_and_include_duplicates_of_equal_amounts():
    jobs = checks.payment_jobs()
    assert jobs == checks.payment_jobs()
    assert jobs[0].payload["cents"] == jobs[-1].payload["cents"] and jobs[0].id != jobs[-1].id
    deliveries = checks.duplicate_deliveries(jobs)
    assert deliveries == checks.duplicate_deliveries(jobs)
    ids = [d.id for d in deliveries]
    assert set(ids) == {j.id for j in jobs} and len(ids) > len(jobs)
    for job_id in set(ids):
        attempts = [d.attempt for d in deliveries if d.id == job_id]
        assert attempts == list(range(1, len(attempts) + 1))


def test_check_number_correct_does_not_restate_the_number():
    feedback = checks.check_littles_wait(45, in_queue=1_800, arrival_rate=40)
    assert feedback and "45" not in feedback.message, feedback.message
    feedback = checks.check_littles_wait(45.2, in_queue=1_800, arrival_rate=40)
    assert feedback and "45" not in feedback.message, feedback.message
    for wrong in (45 * 60, 1_800 * 40, 44, None, "soon"):
        assert not checks.check_littles_wait(wrong, in_queue=1_800, arrival_rate=40)


def test_littles_law_is_still_available_for_the_notebook():
    assert models.littles_law(in_system=1_800, arrival_rate=40) == 45
