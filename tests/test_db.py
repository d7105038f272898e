"""scalekit.db: statement classification, parameterised queries, storage inspection."""

from __future__ import annotations

import sqlite3
from types import MappingProxyType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scalekit import db


@pytest.mark.parametrize(
    ("sql", "kind"),
    [
        ("SELECT * FROM users WHERE id = ?", "read"),
        ("  select 1", "read"),
        ("-- newest first\nSELECT id FROM posts ORDER BY created_at DESC", "read"),
        ("/* hint */ EXPLAIN QUERY PLAN SELECT 1", "read"),
        ("VALUES (1), (2)", "read"),
        ("WITH recent AS (SELECT * FROM posts) SELECT count(*) FROM recent", "read"),
        ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 5) SELECT x FROM c", "read"),
        ("WITH old AS (SELECT id FROM posts WHERE likes = 0) DELETE FROM posts WHERE id IN old", "write"),
        ("WITH explain AS (SELECT 1 AS id) DELETE FROM users WHERE id IN explain", "write"),
        ("WITH a AS (SELECT 1), replace(x) AS (SELECT 2) SELECT * FROM users WHERE id IN a", "read"),
        ("WITH a AS (SELECT 1), analyze AS (SELECT 2) DELETE FROM users WHERE id IN analyze", "write"),
        ("WITH delete_me(id) AS (VALUES (1)) SELECT * FROM users WHERE id IN delete_me", "read"),
        ("WITH a AS NOT MATERIALIZED (SELECT 1), b AS (SELECT 2) UPDATE users SET name = 'x'", "write"),
        ("INSERT INTO users (name, email) VALUES (?, ?)", "write"),
        ("UPDATE users SET name = ? WHERE id = ?", "write"),
        ("DELETE FROM users WHERE id = ?", "write"),
        ("REPLACE INTO users (id, name, email) VALUES (?, ?, ?)", "write"),
        ("CREATE TABLE t (x)", "write"),
        ("DROP TABLE t", "write"),
        ("SELECT 'a; DELETE FROM users' FROM users;", "read"),
        ('SELECT "select;" FROM t -- ; DROP TABLE t', "read"),
        ("SELECT 'it''s; fine'", "read"),
    ],
)
def test_statement_kind(sql: str, kind: str) -> None:
    assert db.statement_kind(sql) == kind


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELECT 1; DELETE FROM users", "one statement per call"),
        ("SELECT 1;;  SELECT 2", "one statement per call"),
        ("", "empty SQL"),
        ("  -- only a comment", "empty SQL"),
        ("BEGIN", "transaction control"),
        ("COMMIT", "transaction control"),
        ("PRAGMA journal_mode = WAL", "pass unknown='read' or unknown='write'"),
        ("WITH a AS (SELECT 1)", "WITH clause"),
    ],
)
def test_statement_kind_refuses_with_a_reason(sql: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        db.statement_kind(sql)


def test_unknown_kind_can_be_supplied_but_not_for_several_statements() -> None:
    assert db.statement_kind("PRAGMA user_version = 3", unknown="write") == "write"
    assert db.statement_kind("PRAGMA table_info(users)", unknown="read") == "read"
    with pytest.raises(ValueError, match="one statement"):
        db.statement_kind("PRAGMA a; PRAGMA b", unknown="read")
    with pytest.raises(ValueError, match="unknown must be"):
        db.statement_kind("SELECT 1", unknown="maybe")
    with pytest.raises(TypeError, match="must be a str"):
        db.statement_kind(b"SELECT 1")  # type: ignore[arg-type]


@settings(max_examples=200)
@given(st.text(alphabet="abc ;'\"-/*()\n", max_size=30))
def test_hidden_semicolons_never_split_a_select(body: str) -> None:
    """Whatever sits inside a string literal, the statement stays one SELECT."""
    literal = "'" + body.replace("'", "''") + "'"
    assert db.statement_kind(f"SELECT {literal} AS x") == "read"
    connection = db.connect()
    assert db.query(connection, f"SELECT {literal} AS x") == [{"x": body}]


def test_query_is_parameterised_and_rejects_bad_params() -> None:
    connection = db.connect()
    db.create_tables(connection, ["users"])
    connection.execute(
        "INSERT INTO users (name, email) VALUES (?, ?)", ("Robert'); DROP TABLE users;--", "r@x")
    )
    rows = db.query(connection, "SELECT name FROM users WHERE email = ?", ("r@x",))
    assert rows == [{"name": "Robert'); DROP TABLE users;--"}]
    with pytest.raises(TypeError, match="params must be a tuple, list or mapping"):
        db.query(connection, "SELECT * FROM users WHERE id = ?", 1)  # type: ignore[arg-type]
    assert db.query(connection, "SELECT :x AS x", MappingProxyType({"x": 7})) == [{"x": 7}]
    with pytest.raises(ValueError, match="unknown table"):
        db.create_tables(connection, ["nope"])


def test_query_plan_shows_index_use() -> None:
    connection = db.connect()
    db.create_tables(connection)
    plan = db.query_plan(connection, "SELECT * FROM posts WHERE user_id = ?", (1,))
    assert any("posts_by_user" in step for step in plan)
    assert any(
        "SCAN" in step for step in db.query_plan(connection, "SELECT * FROM posts WHERE likes > ?", (1,))
    )


def test_table_storage_counts_btree_and_overflow_pages() -> None:
    connection = db.connect()
    connection.execute("CREATE TABLE small (id INTEGER PRIMARY KEY, x TEXT)")
    connection.execute("CREATE TABLE big (id INTEGER PRIMARY KEY, blob BLOB)")
    for i in range(50):
        connection.execute("INSERT INTO small (x) VALUES (?)", (f"row{i}",))
        connection.execute("INSERT INTO big (blob) VALUES (?)", (bytes(3 * db.page_size(connection)),))
    small = db.table_storage(connection, "small")
    big = db.table_storage(connection, "big")
    assert small == {
        "rows": 50,
        "btree_pages": 1,
        "overflow_pages": 0,
        "btree_bytes": db.page_size(connection),
        "total_bytes": db.page_size(connection),
        "depth": 1,
    }
    assert big["rows"] == 50
    assert big["overflow_pages"] >= 50 * 2
    assert big["total_bytes"] == (big["btree_pages"] + big["overflow_pages"]) * db.page_size(connection)
    with pytest.raises(ValueError, match="no table named 'missing'"):
        db.table_storage(connection, "missing")


def test_connect_is_autocommit(tmp_path) -> None:
    path = tmp_path / "a.db"
    writer = db.connect(path)
    db.create_tables(writer, ["users"])
    writer.execute("INSERT INTO users (name, email) VALUES (?, ?)", ("a", "a@x"))
    reader = sqlite3.connect(path)
    assert reader.execute("SELECT count(*) FROM users").fetchone() == (1,)
    reader.close()


def test_transaction_commits_or_rolls_back_as_one(tmp_path) -> None:
    connection = db.connect(tmp_path / "t.db")
    db.create_tables(connection, ["users"])
    insert = "INSERT INTO users (id, name, email) VALUES (?, ?, ?)"
    with db.transaction(connection) as inside:
        assert inside is connection and connection.in_transaction
        connection.execute(insert, (1, "a", "a@x"))
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"), db.transaction(connection):
        connection.execute(insert, (2, "b", "b@x"))
        connection.execute(insert, (1, "dup", "d@x"))
    assert not connection.in_transaction
    assert db.query(connection, "SELECT id FROM users") == [{"id": 1}]
    other = sqlite3.connect(tmp_path / "t.db", timeout=0, isolation_level=None)
    with (
        db.transaction(connection, immediate=True),
        pytest.raises(sqlite3.OperationalError, match="locked"),
    ):
        other.execute(insert, (3, "c", "c@x"))
    with db.transaction(connection):
        other.execute(insert, (3, "c", "c@x"))
    other.close()
    assert len(db.query(connection, "SELECT id FROM users")) == 2


def test_a_nested_transaction_is_a_clear_error_and_the_outer_one_survives() -> None:
    connection = db.connect()
    db.create_tables(connection, ["users"])
    with db.transaction(connection):
        connection.execute("INSERT INTO users (id, name, email) VALUES (1, 'a', 'a@x')")
        with pytest.raises(ValueError, match="already inside a transaction"), db.transaction(connection):
            pass
        assert connection.in_transaction
        connection.execute("INSERT INTO users (id, name, email) VALUES (2, 'b', 'b@x')")
    assert not connection.in_transaction
    assert [row["id"] for row in db.query(connection, "SELECT id FROM users ORDER BY id")] == [1, 2]


def test_create_tables_takes_one_name_as_that_table():
    """create_tables(c, "users") failed with "unknown table 'u'" (a str is iterated letter by letter)."""
    connection = db.connect()
    db.create_tables(connection, "users")
    assert db.query(connection, "SELECT name FROM sqlite_schema WHERE type = 'table'") == [{"name": "users"}]
