"""Producers in separate OS processes racing on one bounded queue with idempotency keys (on a
real Redis: fakeredis lives in one process). Every key makes at most one job, every process
that got an id for a key got the same id, and the backlog never passes its bound."""

from __future__ import annotations

import multiprocessing
import uuid

import redis

from scalekit.queues import JobQueue, QueueFull

KEYS, PROCESSES, BOUND = 30, 4, 20


def _produce(url: str, prefix: str, seed: int, results) -> None:
    client = redis.Redis.from_url(url, decode_responses=True)
    queue = JobQueue(client, prefix, max_backlog=BOUND)
    got = {}
    order = list(range(KEYS))
    if seed % 2:
        order.reverse()
    for n in order:
        try:
            got[n] = queue.enqueue({"order": n}, key=f"order-{n}")
        except QueueFull:
            got[n] = None
    results.put(got)
    client.close()


def test_processes_racing_on_keys_and_a_bound(redis_url):
    prefix = f"races-{uuid.uuid4().hex[:8]}"
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    workers = [
        context.Process(target=_produce, args=(redis_url, prefix, s, results)) for s in range(PROCESSES)
    ]
    for process in workers:
        process.start()
    answers = [results.get(timeout=60) for _ in workers]
    for process in workers:
        process.join(timeout=30)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        queue = JobQueue(client, prefix, max_backlog=BOUND)
        stats = queue.stats()
        assert stats["enqueued"] == queue.pending() == BOUND, "the bound held"
        for n in range(KEYS):
            ids = {answer[n] for answer in answers} - {None}
            assert len(ids) <= 1, f"key order-{n} made {len(ids)} jobs"
        created = {answer[n] for answer in answers for n in range(KEYS)} - {None}
        assert len(created) == BOUND
        payloads = sorted(queue.info(job_id)["payload"]["order"] for job_id in created)
        assert len(set(payloads)) == BOUND, "no order was enqueued twice"
        assert stats["duplicates"] + stats["refused"] == PROCESSES * KEYS - BOUND
    finally:
        for key in client.scan_iter(match=f"{prefix}:*"):
            client.delete(key)
        client.close()
