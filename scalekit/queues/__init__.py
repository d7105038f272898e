"""Queues: background jobs and events on Redis.

``JobQueue`` holds jobs with leases, retries with backoff, a dead-letter list and
idempotency keys; a ``Worker`` reserves, runs and acknowledges them. ``EventBus``
publishes events to Redis Streams, where every subscriber group gets every event and
the consumers inside a group share them.
"""

from __future__ import annotations

from typing import Any

from scalekit.queues.event_bus import DeadLetter, EventBus, Message
from scalekit.queues.job_queue import Job, JobQueue, QueueFull
from scalekit.queues.server_clock import ServerClock

_FROM_WORKER = ("Outcome", "Worker", "counting_handler")

__all__ = [
    "DeadLetter",
    "EventBus",
    "Job",
    "JobQueue",
    "Message",
    "Outcome",
    "QueueFull",
    "ServerClock",
    "Worker",
    "counting_handler",
]


def __getattr__(name: str) -> Any:
    """The worker's names, imported on first use: ``python -m scalekit.queues.worker`` then runs
    the module once, without Python's warning that it was imported before it ran."""
    if name in _FROM_WORKER:
        from scalekit.queues import worker

        return getattr(worker, name)
    raise AttributeError(f"module 'scalekit.queues' has no attribute {name!r}")
