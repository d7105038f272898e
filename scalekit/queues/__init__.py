"""Queues: background jobs and events on Redis.

``JobQueue`` holds jobs with leases, retries with backoff, a dead-letter list and
idempotency keys; a ``Worker`` reserves, runs and acknowledges them. ``EventBus``
publishes events to Redis Streams, where every subscriber group gets every event and
the consumers inside a group share them.
"""

from scalekit.queues.event_bus import DeadLetter, EventBus, Message
from scalekit.queues.job_queue import Job, JobQueue, QueueFull
from scalekit.queues.server_clock import ServerClock
from scalekit.queues.worker import Outcome, Worker, counting_handler

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
