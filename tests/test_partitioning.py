"""Vertical partitioning: the split keeps every value, isolates secrets, and shrinks the hot table."""

from __future__ import annotations

import sqlite3

import pytest

from scalekit import db
from scalekit.routers import partitioning as vp


@pytest.fixture
def split(tmp_path):
    users = vp.sample_users(120, seed=7, picture_bytes=6000, bio_chars=200)
    wide = db.connect(tmp_path / "wide.db")
    vp.create_wide(wide)
    vp.insert_wide(wide, users)
    app = db.connect(tmp_path / "app.db")
    auth = db.connect(tmp_path / "auth.db")
    counts = vp.split_users(wide, app, auth)
    yield users, wide, app, auth, counts
    for connection in (wide, app, auth):
        connection.close()


def test_sample_users_are_repeatable_and_sized() -> None:
    first = vp.sample_users(5, seed=1, picture_bytes=100, bio_chars=20)
    assert first == vp.sample_users(5, seed=1, picture_bytes=100, bio_chars=20)
    assert first != vp.sample_users(5, seed=2, picture_bytes=100, bio_chars=20)
    assert {len(user["profile_pic"]) for user in first} == {100}
    assert {len(user["bio"]) for user in first} == {20}
    assert list(first[0]) == list(vp.WIDE_COLUMNS)
    with pytest.raises(ValueError, match="n must be an int >= 1"):
        vp.sample_users(0, seed=1)
    with pytest.raises(ValueError, match="pass seed="):
        vp.sample_users(3)


def test_split_keeps_every_value_and_a_join_rebuilds_the_row(split, tmp_path) -> None:
    users, wide, app, _auth, counts = split
    assert counts == {"users_core": 120, "users_profile": 120, "users_auth": 120}
    app.execute("ATTACH DATABASE ? AS secure", (str(tmp_path / "auth.db"),))
    rebuilt = app.execute(
        "SELECT c.id, c.name, c.email, a.password_hash, p.profile_pic, p.bio, c.last_login "
        "FROM users_core c JOIN users_profile p USING (id) JOIN secure.users_auth a USING (id) ORDER BY c.id"
    ).fetchall()
    original = wide.execute(f"SELECT {', '.join(vp.WIDE_COLUMNS)} FROM users ORDER BY id").fetchall()
    assert [tuple(row) for row in rebuilt] == [tuple(row) for row in original]
    assert tuple(original[0]) == tuple(users[0].values())


def test_core_connection_cannot_read_password_hashes(split) -> None:
    _, _, app, auth, _ = split
    tables = {row[0] for row in app.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")}
    assert tables == {"users_core", "users_profile"}
    with pytest.raises(sqlite3.OperationalError, match="no such table: users_auth"):
        app.execute("SELECT password_hash FROM users_auth")
    with pytest.raises(sqlite3.OperationalError, match="no such column: password_hash"):
        app.execute("SELECT password_hash FROM users_core")
    assert auth.execute("SELECT count(*) FROM users_auth").fetchone()[0] == 120


def test_hot_table_is_far_smaller_than_the_wide_one(split) -> None:
    _, wide, app, _, _ = split
    wide_pages = db.table_storage(wide, "users")
    core_pages = db.table_storage(app, "users_core")
    assert core_pages["rows"] == wide_pages["rows"] == 120
    assert wide_pages["overflow_pages"] >= 120
    assert core_pages["overflow_pages"] == 0
    assert wide_pages["btree_pages"] >= 5 * core_pages["btree_pages"]
    hot = "SELECT id, name, email FROM {} WHERE last_login >= ?"
    assert db.query_plan(wide, hot.format("users"), (0,)) == ["SCAN users"]
    assert db.query_plan(app, hot.format("users_core"), (0,)) == ["SCAN users_core"]
    newest = [tuple(row) for row in wide.execute(hot.format("users") + " ORDER BY id", (1e6,))]
    assert newest == [tuple(row) for row in app.execute(hot.format("users_core") + " ORDER BY id", (1e6,))]


def test_failed_split_leaves_no_half_filled_partition(tmp_path) -> None:
    wide = db.connect(tmp_path / "wide.db")
    vp.create_wide(wide)
    vp.insert_wide(wide, vp.sample_users(10, seed=3, picture_bytes=10, bio_chars=5))
    app = db.connect(tmp_path / "app.db")
    auth = db.connect(tmp_path / "auth.db")
    vp.create_split(app, auth)
    auth.execute("INSERT INTO users_auth (id, password_hash) VALUES (?, ?)", (4, "already here"))
    with pytest.raises(sqlite3.IntegrityError):
        vp.split_users(wide, app, auth)
    assert app.execute("SELECT count(*) FROM users_core").fetchone()[0] == 0
    assert app.execute("SELECT count(*) FROM users_profile").fetchone()[0] == 0
    assert [tuple(row) for row in auth.execute("SELECT password_hash FROM users_auth")] == [("already here",)]
    assert not app.in_transaction and not auth.in_transaction


def test_auth_must_be_a_separate_connection() -> None:
    connection = db.connect()
    with pytest.raises(ValueError, match="separate database"):
        vp.create_split(connection, connection)


def test_auth_must_be_a_separate_database_file(tmp_path) -> None:
    (tmp_path / "sub").mkdir()
    app = db.connect(tmp_path / "one.db")
    auth = db.connect(tmp_path / "sub" / ".." / "one.db")
    with pytest.raises(ValueError, match="both open the same database file"):
        vp.create_split(app, auth)
    assert app.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0] == 0
    vp.create_split(db.connect(), db.connect())
    vp.create_split(db.connect(tmp_path / "app.db"), db.connect(tmp_path / "auth.db"))


@pytest.mark.parametrize(
    "options",
    [{"n": 0}, {"n": 2.5}, {"n": True}, {"picture_bytes": -1}, {"picture_bytes": 8.5}, {"bio_chars": "300"}],
)
def test_sample_users_refuses_bad_sizes(options) -> None:
    with pytest.raises(ValueError, match="must be"):
        vp.sample_users(**{"n": 3, "seed": 1, **options})


def test_sample_users_accepts_numpy_integers() -> None:
    import numpy as np

    assert vp.sample_users(np.int64(2), seed=1, picture_bytes=np.int64(4)) == vp.sample_users(
        2, seed=1, picture_bytes=4
    )


def test_a_row_missing_a_column_is_refused_before_anything_is_written() -> None:
    from scalekit import db
    from scalekit.routers import partitioning

    wide = db.connect()
    partitioning.create_wide(wide)
    good = partitioning.sample_users(2, seed=1)
    with pytest.raises(ValueError, match=r"user 1 needs every column.*'name'"):
        partitioning.insert_wide(wide, [good[0], {"id": 99}])
    assert wide.execute("SELECT count(*) FROM users").fetchone()[0] == 0
