"""Vertical partitioning: split one wide users table by how its columns are used.

The hot columns every page view reads (``users_core``) stay small and dense; the
large, rarely read profile data (``users_profile``) moves to its own table; the
password hashes (``users_auth``) move to a separate database file with its own
connection, so code that holds only the application connection cannot read them.
"""

from __future__ import annotations

import hashlib
import numbers
import os
import sqlite3
from typing import Any

import numpy as np

from scalekit import db, workload

WIDE_TABLE = "users"
PARTITIONS: dict[str, tuple[str, ...]] = {
    "users_core": ("id", "name", "email", "last_login"),
    "users_profile": ("id", "profile_pic", "bio"),
    "users_auth": ("id", "password_hash"),
}
WIDE_COLUMNS: tuple[str, ...] = ("id", "name", "email", "password_hash", "profile_pic", "bio", "last_login")
AUTH_TABLES: tuple[str, ...] = ("users_auth",)

_COLUMN_TYPES = {
    "id": "INTEGER PRIMARY KEY",
    "name": "TEXT NOT NULL",
    "email": "TEXT NOT NULL",
    "password_hash": "TEXT NOT NULL",
    "profile_pic": "BLOB",
    "bio": "TEXT",
    "last_login": "REAL NOT NULL",
}


def _create(connection: sqlite3.Connection, table: str, columns: tuple[str, ...]) -> None:
    body = ", ".join(f"{column} {_COLUMN_TYPES[column]}" for column in columns)
    connection.execute(f"CREATE TABLE IF NOT EXISTS {table} ({body})")


def create_wide(connection: sqlite3.Connection) -> None:
    """The unsplit ``users`` table, columns in the outline's order (last_login after the blob)."""
    _create(connection, WIDE_TABLE, WIDE_COLUMNS)


def create_split(app: sqlite3.Connection, auth: sqlite3.Connection) -> None:
    """``users_core`` and ``users_profile`` in the app database, ``users_auth`` in the auth one.

    Two connections to one file would share every table, so the files are compared;
    in-memory databases (no file) are separate whenever the connections are.
    """
    if app is auth:
        raise ValueError("users_auth must live in a separate database: pass two different connections")
    app_file, auth_file = _main_file(app), _main_file(auth)
    if app_file and app_file == auth_file:
        raise ValueError(
            "users_auth must live in a separate database: app and auth both open the same "
            f"database file {os.path.basename(app_file)!r}"
        )
    for table, columns in PARTITIONS.items():
        _create(auth if table in AUTH_TABLES else app, table, columns)


def _main_file(connection: sqlite3.Connection) -> str:
    """The resolved path of the connection's main database file; "" when it lives in memory."""
    for _, name, path in connection.execute("PRAGMA database_list"):
        if name == "main":
            return os.path.realpath(path) if path else ""
    return ""


def sample_users(
    n: int,
    *,
    seed: int | None = None,
    rng: np.random.Generator | None = None,
    picture_bytes: int = 8192,
    bio_chars: int = 300,
) -> list[dict[str, Any]]:
    """``n`` made-up users (the same for the same seed) with a picture of ``picture_bytes`` bytes."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"n must be an int >= 1, got {n!r}")
    sizes = (picture_bytes, bio_chars)
    if any(isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 0 for v in sizes):
        raise ValueError(
            f"sizes must be ints >= 0, got picture_bytes={picture_bytes!r}, bio_chars={bio_chars!r}"
        )
    n, picture_bytes, bio_chars = int(n), int(picture_bytes), int(bio_chars)
    generator = workload.make_rng(seed, rng)
    logins = np.sort(generator.uniform(0, 30 * 86_400, size=n))
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz     "))
    users = []
    for i in range(n):
        user_id = i + 1
        users.append(
            {
                "id": user_id,
                "name": f"user{user_id}",
                "email": f"user{user_id}@example.com",
                # Stand-in data only: real systems store a slow, salted password hash
                # (scrypt, argon2 or bcrypt; hashlib.scrypt is in the standard library).
                "password_hash": "sha256$" + hashlib.sha256(f"salt{user_id}:pw".encode()).hexdigest(),
                "profile_pic": generator.bytes(picture_bytes),
                "bio": "".join(generator.choice(letters, size=bio_chars)),
                "last_login": round(float(logins[generator.integers(n)]), 3),
            }
        )
    return users


def insert_wide(connection: sqlite3.Connection, users: list[dict[str, Any]]) -> int:
    """Insert ``users`` into the wide table in one transaction; return the row count."""
    users = list(users)
    for index, user in enumerate(users):
        missing = [column for column in WIDE_COLUMNS if not isinstance(user, dict) or column not in user]
        if missing:
            raise ValueError(
                f"user {index} needs every column of the wide table; missing {missing} "
                "(sample_users makes complete rows)"
            )
    placeholders = ", ".join(f":{column}" for column in WIDE_COLUMNS)
    with db.transaction(connection):
        connection.executemany(
            f"INSERT INTO {WIDE_TABLE} ({', '.join(WIDE_COLUMNS)}) VALUES ({placeholders})", users
        )
    return len(users)


def split_users(
    source: sqlite3.Connection, app: sqlite3.Connection, auth: sqlite3.Connection
) -> dict[str, int]:
    """Copy the wide ``users`` table of ``source`` into the three partitions; return rows per table.

    Each partition gets its columns of every row, keyed by the same ``id``, so a
    join on ``id`` rebuilds the original row. The copy runs in one transaction per
    database: a failure leaves no half-filled partition behind.
    """
    create_split(app, auth)
    counts = {}
    with db.transaction(app), db.transaction(auth):
        for table, columns in PARTITIONS.items():
            target = auth if table in AUTH_TABLES else app
            rows = source.execute(f"SELECT {', '.join(columns)} FROM {WIDE_TABLE} ORDER BY id").fetchall()
            marks = ", ".join("?" * len(columns))
            target.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
            counts[table] = len(rows)
    return counts
