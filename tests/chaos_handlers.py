"""Job handlers for the chaos test, run inside worker processes (``--handler chaos_handlers:apply_payment``).

``apply_payment`` is idempotent the way a real one must be: the ledger row that says "job
N was applied" and the balance change are one SQLite transaction, so a job run twice (a
worker killed after the work, a lease reaped during a Redis outage) changes the balance once.
Every run is also logged, so the test can see that duplicates did happen.
"""

from __future__ import annotations

import os
import sqlite3
import time

from scalekit.queues import Job

_connections: dict[int, sqlite3.Connection] = {}

SCHEMA = """
CREATE TABLE IF NOT EXISTS applied (job_id TEXT PRIMARY KEY, n INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS account (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS runs (job_id TEXT NOT NULL, pid INTEGER NOT NULL);
INSERT OR IGNORE INTO account (id, balance) VALUES (1, 0);
"""


def connect(path: str) -> sqlite3.Connection:
    """A connection to the effects database (WAL, waits for locks instead of failing)."""
    connection = sqlite3.connect(path, timeout=30, isolation_level=None)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA busy_timeout = 30000")
    connection.executescript(SCHEMA)
    return connection


def _connection() -> sqlite3.Connection:
    pid = os.getpid()
    if pid not in _connections:
        _connections[pid] = connect(os.environ["CHAOS_DB"])
    return _connections[pid]


def apply_payment(job: Job) -> None:
    """Add ``job.payload["amount"]`` to the balance once per job, however often it runs."""
    connection = _connection()
    connection.execute("INSERT INTO runs (job_id, pid) VALUES (?, ?)", (job.id, os.getpid()))
    time.sleep(float(os.environ.get("CHAOS_JOB_SECONDS", "0.01")))
    connection.execute("BEGIN IMMEDIATE")
    try:
        fresh = connection.execute(
            "INSERT OR IGNORE INTO applied (job_id, n) VALUES (?, ?)", (job.id, job.payload["n"])
        ).rowcount
        if fresh:
            connection.execute(
                "UPDATE account SET balance = balance + ? WHERE id = 1", (job.payload["amount"],)
            )
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
