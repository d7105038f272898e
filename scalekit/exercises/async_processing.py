"""Checks for the exercises of notebook 06 (async processing)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import fakeredis
import numpy as np
import redis

from scalekit import models, sim
from scalekit.exercises.feedback import Feedback, check_number, correct, not_answered, wrong
from scalekit.queues import Job
from scalekit.queues.encoding import describe_error


def longest_wait(rates: np.ndarray, capacity: float) -> float:
    """The longest FIFO wait in seconds when ``rates`` (jobs/s, one per second) meet ``capacity`` jobs/s.

    A job that arrives behind a backlog of B jobs waits about B / capacity seconds.
    """
    if capacity <= 0:
        raise ValueError(f"capacity must be > 0 jobs per second, got {capacity}")
    backlog = sim.fluid_backlog(np.asarray(rates, dtype=float), capacity, step=1.0)
    return float(backlog.max() / capacity) if backlog.size else 0.0


def workers_needed(rates: np.ndarray, per_worker: float, max_wait: float, *, limit: int = 100_000) -> int:
    """The fewest workers (``per_worker`` jobs/s each) that keep every job's wait within ``max_wait`` s."""
    if per_worker <= 0 or max_wait < 0:
        raise ValueError(f"need per_worker > 0 and max_wait >= 0, got {per_worker} and {max_wait}")
    for workers in range(1, limit + 1):
        if longest_wait(rates, workers * per_worker) <= max_wait:
            return workers
    raise ValueError(f"no pool of up to {limit} workers keeps the wait within {max_wait} s")


def check_workers(answer: object, rates: np.ndarray, per_worker: float, max_wait: float) -> Feedback:
    """Is ``answer`` the smallest worker count whose longest wait stays within ``max_wait``?"""
    missing = not_answered(answer)
    if missing is not None:
        return missing
    if isinstance(answer, bool) or not isinstance(answer, (int, np.integer)) or answer < 1:
        return wrong(f"a worker count is a whole number >= 1, got {answer!r}.")
    expected = workers_needed(rates, per_worker, max_wait)
    waited = longest_wait(rates, int(answer) * per_worker)
    if answer == expected:
        return correct(f"that pool keeps every wait within {max_wait:.0f} s, and one worker fewer would not.")
    if answer < expected:
        return wrong(
            f"with {answer} workers the longest wait is {waited:.0f} s, over the {max_wait:.0f} s limit."
        )
    return wrong(
        f"{answer} workers work (longest wait {waited:.0f} s), but fewer would too: find the smallest count."
    )


def check_littles_wait(answer: object, in_queue: float, arrival_rate: float) -> Feedback:
    """Mean time in queue from Little's law, ``W = L / λ``."""
    expected = models.littles_law(in_system=in_queue, arrival_rate=arrival_rate)
    return check_number(
        answer,
        expected,
        what="the mean wait in seconds",
        hint="Little's law L = λ W links the average number waiting, the arrival rate and the wait.",
    )


def time_to_dead_letter(base_backoff: float, max_backoff: float, max_attempts: int) -> float:
    """Seconds of backoff a job that always fails spends before the dead-letter list (no jitter)."""
    return float(sum(min(max_backoff, base_backoff * 2 ** (n - 1)) for n in range(1, max_attempts)))


def check_time_to_dead_letter(
    answer: object, base_backoff: float, max_backoff: float, max_attempts: int
) -> Feedback:
    """Total backoff before a poison job is dead-lettered: attempts 1 .. max_attempts-1 each wait."""
    feedback = check_number(
        answer,
        time_to_dead_letter(base_backoff, max_backoff, max_attempts),
        what="the total backoff in seconds",
        hint=f"There are {max_attempts - 1} waits (none after the last), each doubling up to the cap.",
    )
    if feedback:
        return correct("one wait after every attempt but the last, each twice the one before until the cap.")
    return feedback


# ---------------------------------------------------------------- judgement: queue it or answer now?

QUEUE_OR_NOW = {
    "login": "now",
    "welcome email": "queue",
    "video transcode": "queue",
    "search suggestions": "now",
    "follower counts": "queue",
}
_WHY_NOT = {
    ("login", "queue"): (
        "the user cannot take one more step without the session, and checking a password takes "
        "milliseconds: a queue adds a round of polling to the one request that must answer now"
    ),
    ("welcome email", "now"): (
        "the user does not need the email to carry on, and a slow or failing mail provider would "
        "slow down or fail the signup itself; queued, it is retried with backoff"
    ),
    ("video transcode", "now"): (
        "minutes of work inside a request hold a connection and a server thread for minutes, and "
        "a timeout loses the work; answer 202 and let a worker do it"
    ),
    ("search suggestions", "queue"): (
        "a suggestion is useful only while the user is typing: by the time a worker answered, "
        "the next keystroke has made it stale, so it must be fast enough to answer directly"
    ),
    ("follower counts", "now"): (
        "recounting on every follow makes the follow as slow as the count and makes a celebrity's "
        "followers collide on one row; nobody waits for the number, so update it in the background"
    ),
}


def check_queue_or_now(choices: object) -> Feedback:
    """For each operation, ``"queue"`` (a worker does it later) or ``"now"`` (inside the request)."""
    missing = not_answered(choices)
    if missing is not None:
        return missing
    if not isinstance(choices, dict):
        return wrong('give a dict like {"login": "now", "welcome email": "queue", ...}.')
    unknown = sorted(set(map(str, choices)) - set(QUEUE_OR_NOW))
    if unknown:
        return wrong(f"there is no operation called {unknown[0]!r}; the operations are {list(QUEUE_OR_NOW)}.")
    undecided = [name for name in QUEUE_OR_NOW if choices.get(name) in (None, Ellipsis)]
    if undecided:
        return wrong(f"decide {undecided[0]!r} too: every operation needs 'queue' or 'now'.")
    picked = {name: str(choices[name]).strip().lower() for name in QUEUE_OR_NOW}
    bad = [name for name, choice in picked.items() if choice not in ("queue", "now")]
    if bad:
        return wrong(f"{bad[0]!r}: answer 'queue' or 'now', got {choices[bad[0]]!r}.")
    reasons = [
        f"'{name}' should not be '{picked[name]}': {_WHY_NOT[(name, picked[name])]}."
        for name in QUEUE_OR_NOW
        if picked[name] != QUEUE_OR_NOW[name]
    ]
    if reasons:
        return wrong(" ".join(reasons))
    return correct(
        "each choice follows the rule of thumb: answer now what the user needs in order to carry on "
        "and what is fast; queue what is slow, can fail and be retried, or nobody is waiting for."
    )


# ---------------------------------------------------------------- build it: an idempotent handler

_APPLY_ONCE = """
if redis.call('SADD', KEYS[2], ARGV[1]) == 1 then
  redis.call('HINCRBY', KEYS[1], 'balance', ARGV[2])
end
"""


def reference_payment(client: redis.Redis, ledger: str, job: Job) -> None:
    """scalekit's answer: remember the job id and add its amount in one Lua script (atomic)."""
    client.eval(_APPLY_ONCE, 2, ledger, f"{ledger}:applied", job.id, int(job.payload["cents"]))


class _Crash(Exception):
    """The worker process died right after a Redis command (the check's fault injection)."""


class _TappedRedis(fakeredis.FakeRedis):
    """A fakeredis client that counts a thread's commands (a pipeline counts as one), can
    crash a delivery right after its k-th command, and can pause one before its k-th.

    ``twin`` is a second client on the same server: the connection of another worker
    process, which shares Redis but none of the first one's Python memory."""

    def __init__(self, server: fakeredis.FakeServer | None = None, *, with_twin: bool = True) -> None:
        self.local = threading.local()
        self.crash_after: int | None = None
        self.pause_before: int | None = None
        self.paused, self.resume = threading.Event(), threading.Event()
        self.pausing_thread: int | None = None
        self.most_commands = 0
        server = server if server is not None else fakeredis.FakeServer()
        super().__init__(server=server, decode_responses=True)
        self.twin = _TappedRedis(server, with_twin=False) if with_twin else self

    def start_delivery(self) -> None:
        self.local.commands = 0

    def _before(self) -> None:
        commands = getattr(self.local, "commands", 0)
        if threading.get_ident() == self.pausing_thread and commands + 1 == self.pause_before:
            self.paused.set()
            self.resume.wait(timeout=10)

    def _after(self) -> None:
        self.local.commands = getattr(self.local, "commands", 0) + 1
        self.most_commands = max(self.most_commands, self.local.commands)
        if self.crash_after is not None and self.local.commands == self.crash_after:
            raise _Crash(f"crashed after command {self.crash_after}")

    def execute_command(self, *args: Any, **options: Any) -> Any:
        self._before()
        result = super().execute_command(*args, **options)
        self._after()
        return result

    def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> Any:
        pipe = super().pipeline(transaction, shard_hint)
        run = pipe.execute

        def execute(*args: Any, **kwargs: Any) -> Any:
            self._before()
            result = run(*args, **kwargs)
            self._after()
            return result

        pipe.execute = execute
        return pipe

    def close(self) -> None:
        if self.twin is not self:
            self.twin.close()
        super().close()


def payment_jobs(seed: int = 6, n: int = 8) -> list[Job]:
    """Seeded payment jobs; two of them carry the same amount, since equal payments are still two payments."""
    rng = np.random.default_rng(seed)
    cents = [int(c) for c in rng.integers(100, 10_000, size=n)]
    cents[-1] = cents[0]
    return [Job(str(i + 1), {"order": 500 + i, "cents": c}, 1, 0.0, 1) for i, c in enumerate(cents)]


def duplicate_deliveries(jobs: list[Job], seed: int = 6) -> list[Job]:
    """At-least-once delivery: every job once, some two or three times, in a seeded order;
    each redelivery is the next attempt with a newer lease token, as the queue hands it out."""
    rng = np.random.default_rng(seed)
    copies = [job for job in jobs for _ in range(int(rng.integers(1, 4)))]
    deliveries, seen = [], {}
    for index in rng.permutation(len(copies)):
        job = copies[index]
        seen[job.id] = seen.get(job.id, 0) + 1
        deliveries.append(Job(job.id, dict(job.payload), seen[job.id], 0.0, seen[job.id]))
    return deliveries


def _balance(client: redis.Redis, ledger: str) -> int:
    return int(client.hget(ledger, "balance") or 0)


def _run_delivery(handler: Callable[..., object], client: _TappedRedis, ledger: str, job: Job) -> None:
    client.start_delivery()
    handler(client, ledger, job)


def _redelivered(job: Job, attempt: int) -> Job:
    return Job(job.id, dict(job.payload), attempt, 0.0, attempt)


_MAX_STEPS = 12
_OVERLAP_WAIT = 0.5
Scenario = Callable[[Callable[..., object], _TappedRedis, str], None]


def _scenarios(jobs: list[Job], steps: int) -> list[tuple[str, Scenario]]:
    """Named ways to deliver ``jobs``, for a handler that sends up to ``steps`` Redis commands per
    delivery: every crash point and every overlap point is tried. Redeliveries go through the
    twin client, as they would reach another worker process."""

    def with_duplicates(handler, client, ledger):
        for job in duplicate_deliveries(jobs):
            _run_delivery(handler, client if job.attempt % 2 else client.twin, ledger, job)

    def crash_after(k: int) -> Scenario:
        def scenario(handler, client, ledger):
            job = jobs[0]
            client.crash_after = k
            try:
                _run_delivery(handler, client, ledger, job)
            except _Crash:
                pass
            finally:
                client.crash_after = None
            _run_delivery(handler, client.twin, ledger, _redelivered(job, 2))

        return scenario

    def overlapping(k: int) -> Scenario:
        def scenario(handler, client, ledger):
            job, errors = jobs[1], []

            def first() -> None:
                client.pausing_thread = threading.get_ident()
                try:
                    _run_delivery(handler, client, ledger, job)
                except Exception as exc:
                    errors.append(exc)

            def second() -> None:
                try:
                    _run_delivery(handler, client.twin, ledger, _redelivered(job, 2))
                except Exception as exc:
                    late.append(exc)

            late: list[Exception] = []
            client.pause_before = k
            worker = threading.Thread(target=first, daemon=True)
            worker.start()
            while worker.is_alive() and not client.paused.wait(0.01):
                pass
            redelivery = threading.Thread(target=second, daemon=True)
            redelivery.start()
            redelivery.join(timeout=_OVERLAP_WAIT)  # a redelivery may wait for a lock the first holds
            client.resume.set()
            worker.join(timeout=10)
            redelivery.join(timeout=10)
            client.pause_before = client.pausing_thread = None
            if late:
                raise late[0]
            if errors and isinstance(errors[0], redis.WatchError):
                _run_delivery(handler, client, ledger, _redelivered(job, 3))
            elif errors:
                raise errors[0]

        return scenario

    steps = max(1, min(steps, _MAX_STEPS))
    return [
        ("some jobs delivered two or three times", with_duplicates),
        *[
            (
                f"a worker crashed right after the handler's Redis command {k}, then the job was redelivered",
                crash_after(k),
            )
            for k in range(1, steps + 1)
        ],
        *[
            (
                f"a redelivery ran while the first delivery was paused before its Redis command {k}",
                overlapping(k),
            )
            for k in range(2, max(2, steps) + 1)
        ],
    ]


def _once_each(jobs: list[Job]) -> Scenario:
    def scenario(handler, client, ledger):
        for job in jobs:
            _run_delivery(handler, client, ledger, job)

    return scenario


def _replay(handler: Callable[..., object], scenario: Scenario) -> tuple[int, int, int]:
    """Run ``scenario`` with scalekit's handler and with ``handler`` on fresh servers:
    (expected balance, got balance, most Redis commands in one of ``handler``'s deliveries)."""
    expected_client, client = _TappedRedis(), _TappedRedis()
    try:
        scenario(reference_payment, expected_client, "ledger")
        scenario(handler, client, "ledger")
        return _balance(expected_client, "ledger"), _balance(client, "ledger"), client.most_commands
    finally:
        expected_client.close()
        client.close()


def check_idempotent_handler(handler: object) -> Feedback:
    """Does ``handler(r, ledger, job)`` add ``job.payload["cents"]`` to the ``"balance"`` field of the
    hash ``ledger`` exactly once per job id, however the job is delivered?

    Replays seeded deliveries (duplicates, a crash after each of the handler's Redis commands,
    a redelivery overlapping the first run at each of its commands, redeliveries through another
    connection as from another worker process) against :func:`reference_payment` on fresh
    servers, and names the first scenario where the balances differ.
    """
    missing = not_answered(handler)
    if missing is not None:
        return missing
    if not callable(handler):
        return wrong(f"pass your function itself (e.g. apply_payment), got {type(handler).__name__}.")
    jobs = payment_jobs()
    once = "each job delivered once"
    try:
        expected, got, steps = _replay(handler, _once_each(jobs))
    except Exception as error:
        return wrong(f"when {once}, your handler raised {describe_error(error)}.")
    if got != expected:
        return _differs(once, got, expected)
    try:
        again = _replay(handler, _once_each(jobs))
    except Exception as error:
        return wrong(f"when {once} to a second, empty Redis, your handler raised {describe_error(error)}.")
    if again[1] != again[0]:
        return wrong(
            f"when {once} to a second, empty Redis, the balance is {again[1]} cents instead of {again[0]}: "
            "your handler remembers applied jobs in Python memory, not in Redis. A redelivery can reach "
            "another worker process (or this one after a restart), where that memory is different."
        )
    for name, scenario in _scenarios(jobs, steps):
        try:
            expected, got, _ = _replay(handler, scenario)
        except Exception as error:
            return wrong(f"when {name}, your handler raised {describe_error(error)}.")
        if got != expected:
            return _differs(name, got, expected)
    return correct(
        "duplicates, crashes between commands and overlapping redeliveries all leave the balance "
        "as if each payment ran exactly once."
    )


def _differs(name: str, got: int, expected: int) -> Feedback:
    if got == 0 and name == "each job delivered once":
        return wrong(
            f"when {name}, the balance stayed at 0: add job.payload['cents'] to the field "
            "'balance' of the hash named by ledger (HINCRBY)."
        )
    if got > expected:
        return wrong(
            f"when {name}, the balance is {got} cents instead of {expected}: a payment was counted "
            "twice. Record which job ids you applied in Redis, in the same atomic step as the addition."
        )
    return wrong(
        f"when {name}, the balance is {got} cents instead of {expected}: a payment was lost. "
        "Mark a job as applied only in the same atomic step that adds its amount, and tell "
        "jobs apart by job.id (two payments can have the same amount)."
    )
