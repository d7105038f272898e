"""Small SQLite helpers: the course's "database".

Real SQL on the standard library's sqlite3: schemas for users, posts and products,
parameterised queries only, and a look at the query plan SQLite picks.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from itertools import pairwise
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
    """Open a SQLite database (in memory by default) with rows addressable by column name.

    Autocommit mode (each statement commits unless :func:`transaction` wraps it). The
    connection may be handed to other threads, but not used by two at once: their
    transactions would interleave on it, and one thread's ``COMMIT`` or ``ROLLBACK``
    would end the other's. Guard a shared connection with a lock (as
    ``scalekit.caches.ProductStore`` does) or open one per thread.
    """
    connection = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    connection.row_factory = sqlite3.Row
    return connection


def create_tables(connection: sqlite3.Connection, tables: Iterable[str] = ("users", "posts")) -> None:
    """Create the named course tables (and their indexes) if they do not exist yet.

    ``tables`` is a list of names; one name on its own (``"users"``) is taken as that
    table, not as the letters u, s, e, r, s.
    """
    for table in [tables] if isinstance(tables, str) else tables:
        if table not in SCHEMAS:
            raise ValueError(f"unknown table {table!r}; the course defines {sorted(SCHEMAS)}")
        connection.execute(SCHEMAS[table])
        for statement in INDEXES.get(table, ()):
            connection.execute(statement)


@contextmanager
def transaction(connection: sqlite3.Connection, immediate: bool = False) -> Iterator[sqlite3.Connection]:
    """``BEGIN`` ... ``COMMIT`` around the block, ``ROLLBACK`` if it raises: all of it or none.

    For autocommit connections (as :func:`connect` makes). ``immediate=True`` takes the
    write lock at ``BEGIN`` (``BEGIN IMMEDIATE``), so a block that reads and then writes
    is never refused the lock half way through by another writer. Transactions do not
    nest: calling this inside another one on the same connection is a ValueError and
    leaves the outer transaction as it was.
    """
    if connection.in_transaction:
        raise ValueError(
            "this connection is already inside a transaction: SQLite does not nest BEGIN "
            "(use one transaction, or a SAVEPOINT); if threads share the connection, give them a lock"
        )
    connection.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
    try:
        yield connection
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise


def query(
    connection: sqlite3.Connection, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()
) -> list[dict[str, Any]]:
    """Run one parameterised statement and return its rows as plain dicts."""
    if not isinstance(params, (tuple, list, Mapping)):
        raise TypeError(
            "params must be a tuple, list or mapping of values for the ? or :name placeholders, "
            f"got {type(params).__name__}"
        )
    if isinstance(params, Mapping) and not isinstance(params, dict):
        params = dict(params)
    return [dict(row) for row in connection.execute(sql, params).fetchall()]


def query_plan(connection: sqlite3.Connection, sql: str, params: Sequence[Any] = ()) -> list[str]:
    """SQLite's plan for ``sql`` (EXPLAIN QUERY PLAN), one line per step."""
    return [row["detail"] for row in connection.execute("EXPLAIN QUERY PLAN " + sql, params)]


READ_KEYWORDS = frozenset({"SELECT", "VALUES", "EXPLAIN"})
WRITE_KEYWORDS = frozenset(
    {"INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER", "REINDEX", "ANALYZE"}
)
TRANSACTION_KEYWORDS = frozenset({"BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE"})


class UnclassifiedStatement(ValueError):
    """:func:`statement_kind` cannot tell from the text whether a statement reads or writes."""

    def __init__(
        self, keyword: str, hint: str = "pass unknown='read' or unknown='write' to say which"
    ) -> None:
        self.keyword = keyword
        super().__init__(f"cannot tell whether a {keyword} statement reads or writes; {hint}.")


def sql_tokens(sql: str) -> list[str]:
    """The words and the ``( ) , ;`` marks of ``sql``, skipping strings, quoted names and comments.

    Just enough lexing to classify a statement and to count statements: a ``;`` or
    a keyword inside ``'...'`` or a comment is not mistaken for the real thing.
    """
    if not isinstance(sql, str):
        raise TypeError(f"SQL must be a str, got {type(sql).__name__}")
    tokens: list[str] = []
    i, n = 0, len(sql)
    closers = {"'": "'", '"': '"', "`": "`", "[": "]"}
    while i < n:
        ch = sql[i]
        if ch.isspace():
            i += 1
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end + 1
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            i = n if end < 0 else end + 2
        elif ch in closers:
            end = sql.find(closers[ch], i + 1)
            while end >= 0 and ch != "[" and sql.startswith(closers[ch] * 2, end):
                end = sql.find(closers[ch], end + 2)
            if ch in '"`[':
                tokens.append("NAME")
            i = n if end < 0 else end + 1
        elif ch.isalpha() or ch == "_":
            start = i
            while i < n and (sql[i].isalnum() or sql[i] in "_$"):
                i += 1
            tokens.append(sql[start:i].upper())
        elif ch in "(),;":
            tokens.append(ch)
            i += 1
        else:
            i += 1
    return tokens


def statement_kind(sql: str, *, unknown: str | None = None) -> str:
    """``"read"`` or ``"write"`` for one SQL statement, or a ValueError saying why not.

    SELECT, VALUES and EXPLAIN read; INSERT, UPDATE, DELETE, REPLACE and DDL write;
    ``WITH ...`` takes the kind of the statement after its common table expressions
    (the word after a closing ``)`` that no ``,`` follows, so a CTE may be named ``explain``).
    Several statements in one string, transaction control and statements whose kind
    cannot be told from the text (PRAGMA, ATTACH, ...) are refused: a router must
    know where a statement goes before it runs it. Pass ``unknown="read"`` or
    ``"write"`` to get that answer for the last kind instead of the error
    (:class:`UnclassifiedStatement`, a ValueError).
    """
    if unknown not in (None, "read", "write"):
        raise ValueError(f"unknown must be None, 'read' or 'write', got {unknown!r}")
    tokens = sql_tokens(sql)
    while tokens and tokens[-1] == ";":
        tokens.pop()
    if not tokens:
        raise ValueError("empty SQL: expected one statement such as 'SELECT ... WHERE id = ?'")
    if ";" in tokens:
        raise ValueError(
            "one statement per call: found more SQL after a ';'. "
            "Send each statement separately (and pass values as ? parameters)."
        )
    first = tokens[0]
    if first in READ_KEYWORDS:
        return "read"
    if first in WRITE_KEYWORDS:
        return "write"
    if first == "WITH":
        depth = 0
        for token, after in pairwise(tokens):
            depth += {"(": 1, ")": -1}.get(token, 0)
            if depth == 0 and token == ")" and after in READ_KEYWORDS:
                return "read"
            if depth == 0 and token == ")" and after in WRITE_KEYWORDS:
                return "write"
        raise ValueError("a WITH clause must be followed by SELECT, INSERT, UPDATE, DELETE or REPLACE")
    if first in TRANSACTION_KEYWORDS:
        raise ValueError(
            f"{first} is transaction control, which a router cannot spread over nodes; "
            "send single statements (each runs atomically) instead."
        )
    if unknown is not None:
        return unknown
    raise UnclassifiedStatement(first)


def page_size(connection: sqlite3.Connection) -> int:
    """Bytes per database page (SQLite reads and caches whole pages)."""
    return int(connection.execute("PRAGMA page_size").fetchone()[0])


def table_storage(connection: sqlite3.Connection, table: str) -> dict[str, int]:
    """How a table is laid out on disk, from SQLite's ``dbstat`` virtual table.

    Returns the rows, the b-tree pages (interior + leaf: what a full scan reads), the
    overflow pages (large values spilled out of the row; read only when a query needs
    a column stored in them or after them), their bytes, and the tree depth (pages a
    lookup by primary key reads).
    """
    exists = connection.execute(
        "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?", (table,)
    ).fetchone()
    if exists is None:
        raise ValueError(f"no table named {table!r} in this database")
    try:
        pages = connection.execute(
            "SELECT pagetype, path FROM dbstat WHERE name = ? ORDER BY pageno", (table,)
        ).fetchall()
    except sqlite3.OperationalError as exc:
        raise RuntimeError(
            f"this SQLite ({sqlite3.sqlite_version}) was built without the dbstat table ({exc})"
        ) from None
    size = page_size(connection)
    btree = sum(1 for row in pages if row[0] in ("internal", "leaf"))
    overflow = sum(1 for row in pages if row[0] == "overflow")
    depth = max((row[1].count("/") for row in pages if row[0] != "overflow"), default=0)
    quoted = '"' + table.replace('"', '""') + '"'
    rows = int(connection.execute(f"SELECT count(*) FROM {quoted}").fetchone()[0])
    return {
        "rows": rows,
        "btree_pages": btree,
        "overflow_pages": overflow,
        "btree_bytes": btree * size,
        "total_bytes": (btree + overflow) * size,
        "depth": depth,
    }
