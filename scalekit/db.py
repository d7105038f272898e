"""Small SQLite helpers: the course's "database".

Real SQL on the standard library's sqlite3: schemas for users, posts and products,
parameterised queries only, and a look at the query plan SQLite picks.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

SCHEMAS: dict[str, str] = {
    "users": """
        CREATE TABLE IF NOT EXISTS users (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            email TEXT NOT NULL,
            country TEXT NOT NULL DEFAULT 'US',
            created_at REAL NOT NULL DEFAULT 0
        )""",
    "posts": """
        CREATE TABLE IF NOT EXISTS posts (
            id INTEGER PRIMARY KEY,
            user_id INTEGER NOT NULL,
            body TEXT NOT NULL,
            likes INTEGER NOT NULL DEFAULT 0,
            created_at REAL NOT NULL DEFAULT 0
        )""",
    "products": """
        CREATE TABLE IF NOT EXISTS products (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            price_cents INTEGER NOT NULL,
            stock INTEGER NOT NULL DEFAULT 0
        )""",
}
INDEXES: dict[str, tuple[str, ...]] = {
    "posts": ("CREATE INDEX IF NOT EXISTS posts_by_user ON posts(user_id)",),
}


def connect(path: str | Path = ":memory:") -> sqlite3.Connection:
    """Open a SQLite database (in memory by default) with rows addressable by column name."""
    connection = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    connection.row_factory = sqlite3.Row
    return connection


def create_tables(connection: sqlite3.Connection, tables: Iterable[str] = ("users", "posts")) -> None:
    """Create the named course tables (and their indexes) if they do not exist yet."""
    for table in tables:
        if table not in SCHEMAS:
            raise ValueError(f"unknown table {table!r}; the course defines {sorted(SCHEMAS)}")
        connection.execute(SCHEMAS[table])
        for statement in INDEXES.get(table, ()):
            connection.execute(statement)


def query(connection: sqlite3.Connection, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    """Run one parameterised statement and return its rows as plain dicts."""
    if not isinstance(params, (tuple, list, dict)):
        raise TypeError(
            f"params must be a tuple, list or dict of values for the ? placeholders, got {type(params).__name__}"
        )
    return [dict(row) for row in connection.execute(sql, params).fetchall()]


def query_plan(connection: sqlite3.Connection, sql: str, params: Sequence[Any] = ()) -> list[str]:
    """SQLite's plan for ``sql`` (EXPLAIN QUERY PLAN), one line per step."""
    return [row["detail"] for row in connection.execute("EXPLAIN QUERY PLAN " + sql, params)]
