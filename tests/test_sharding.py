"""Sharding strategies and the SQLite ShardRouter: routing, bad input, one-shard and scatter-gather."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scalekit import db
from scalekit.routers import (
    DirectorySharding,
    DirectoryUnavailable,
    GeoSharding,
    HashSharding,
    RangeSharding,
    ShardRouter,
    load_spread,
    moved_fraction,
    stable_hash,
)

keys = st.one_of(st.integers(), st.text(max_size=30), st.binary(max_size=30))


@settings(max_examples=200)
@given(n=st.integers(1, 64), key=keys)
def test_hash_sharding_maps_every_key_to_exactly_one_valid_shard(n, key):
    strategy = HashSharding(n)
    shard = strategy.shard_for(key)
    assert shard in strategy.shard_ids()
    assert strategy.shard_for(key) == shard


def test_hash_sharding_on_ints_is_the_outlines_modulo():
    strategy = HashSharding(4)
    assert [strategy.shard_for(u) for u in (1, 4, 7, 10)] == [1, 0, 3, 2]
    assert strategy.shard_for(-1) == 3


def test_stable_hash_is_the_same_in_another_process():
    code = "from scalekit.routers import stable_hash; print(stable_hash('alice'), stable_hash(42))"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.split() == [str(stable_hash("alice")), str(stable_hash(42))]
    assert stable_hash(42) == stable_hash("42") and stable_hash("alice") != stable_hash("alicf")


def test_hash_sharding_is_even_on_string_keys():
    counts = [0] * 8
    strategy = HashSharding(8)
    for i in range(16_000):
        counts[strategy.shard_for(f"user:{i}")] += 1
    assert load_spread(counts) < 1.06


@pytest.mark.parametrize("n", [0, -3])
def test_hash_sharding_rejects_non_positive_counts(n):
    with pytest.raises(ValueError, match=f"shard count must be >= 1, got {n}"):
        HashSharding(n)


@pytest.mark.parametrize("bad", [2.5, "4", True, None])
def test_hash_sharding_rejects_non_int_counts(bad):
    with pytest.raises(TypeError, match="shard count must be an int"):
        HashSharding(bad)


@pytest.mark.parametrize("key", [1.5, None, (1, 2), True])
def test_hash_sharding_rejects_keys_without_a_stable_form(key):
    with pytest.raises(TypeError, match="routing keys must be str, bytes or int"):
        HashSharding(4).shard_for(key)


def test_moving_from_4_to_5_shards_moves_about_four_fifths():
    fraction = moved_fraction(range(100_000), HashSharding(4).shard_for, HashSharding(5).shard_for)
    assert fraction == pytest.approx(0.8, abs=1e-9)


def test_range_sharding_routes_half_open_ranges():
    strategy = RangeSharding([(0, 100), (100, 200), (300, 400)])
    assert [strategy.shard_for(k) for k in (0, 99, 100, 199, 300, 399.5)] == [0, 0, 1, 1, 2, 2]
    for outside in (-1, 200, 250, 400):
        with pytest.raises(KeyError, match=f"key {outside} is outside every range"):
            strategy.shard_for(outside)


def test_range_sharding_split_matches_key_divided_by_range_size():
    strategy = RangeSharding.split(0, 1000, 4)
    assert strategy.boundaries == [(0, 250), (250, 500), (500, 750), (750, 1000)]
    assert all(strategy.shard_for(k) == k // 250 for k in range(1000))


def test_range_sharding_piles_time_ordered_keys_on_the_last_shard():
    strategy = RangeSharding.split(0, 400, 4)
    newest = [strategy.shard_for(t) for t in range(380, 400)]
    assert set(newest) == {3}


@pytest.mark.parametrize(
    ("boundaries", "message"),
    [
        ([], "at least one"),
        ([(0, 10), (5, 20)], "must not overlap"),
        ([(10, 20), (0, 10)], "must be sorted"),
        ([(5, 5)], "low must be less than high"),
        ([(0, 10, 20)], "must be a \\(low, high\\) pair"),
    ],
)
def test_range_sharding_rejects_bad_boundaries(boundaries, message):
    with pytest.raises(ValueError, match=message):
        RangeSharding(boundaries)


def test_range_sharding_rejects_incomparable_keys():
    with pytest.raises(TypeError, match="cannot be compared"):
        RangeSharding([(0, 10)]).shard_for("5")


def test_geo_sharding_with_and_without_default():
    strategy = GeoSharding({"EU": "eu", "US": "us"})
    assert strategy.shard_for("EU") == "eu"
    with pytest.raises(KeyError, match=r"unknown region 'BR': known regions are \['EU', 'US'\]"):
        strategy.shard_for("BR")
    with pytest.raises(TypeError, match="region must be a string"):
        strategy.shard_for(3)
    assert GeoSharding({"EU": "eu"}, default="us").shard_for("BR") == "us"
    assert GeoSharding({"EU": "eu"}, default="us").shard_ids() == ["eu", "us"]


def test_directory_miss_and_outage_are_explained():
    directory = DirectorySharding({1: "a", 2: "b"})
    assert directory.shard_for(2) == "b"
    with pytest.raises(KeyError, match="key 3 is not in the directory"):
        directory.shard_for(3)
    directory.assign(3, "a")
    assert directory.shard_for(3) == "a"
    directory.fail()
    with pytest.raises(DirectoryUnavailable, match="directory is down"):
        directory.shard_for(1)
    directory.recover()
    assert directory.shard_for(1) == "a"


def test_load_spread_and_its_errors():
    assert load_spread([10, 10, 10]) == 1.0
    assert load_spread([30, 0, 0]) == 3.0
    with pytest.raises(ValueError, match="zero load"):
        load_spread([0, 0])
    with pytest.raises(ValueError, match="at least one"):
        load_spread([])


def make_router(strategy=None, n=4, **kwargs) -> ShardRouter:
    router = ShardRouter(strategy or HashSharding(n), [db.connect() for _ in range(n)], **kwargs)
    router.create_tables()
    return router


def sample_rows(n_users=40, posts_per_user=3):
    users = [{"id": u, "name": f"u{u}", "email": f"u{u}@x", "country": "EU"} for u in range(n_users)]
    posts = [
        {
            "id": u * 100 + p,
            "user_id": u,
            "body": f"post {p} by {u}",
            "likes": (u * 7 + p * 13) % 50,
            "created_at": p,
        }
        for u in range(n_users)
        for p in range(posts_per_user)
    ]
    return users, posts


def test_router_keeps_a_user_and_their_posts_on_one_shard():
    router = make_router()
    users, posts = sample_rows()
    router.load(users, posts)
    counts = router.counts()
    assert sum(c["users"] for c in counts.values()) == 40
    assert sum(c["posts"] for c in counts.values()) == 120
    for user_id in (1, 4, 7, 10):
        shard = router.shard_for(user_id)
        assert shard == user_id % 4
        stored = db.query(router.connection(shard), "SELECT id FROM users WHERE id = ?", (user_id,))
        assert stored == [{"id": user_id}]
    result = router.get_user_posts(7)
    assert [row["id"] for row in result.rows] == [702, 701, 700]
    assert (result.shards_touched, result.rows_moved) == (1, 3)


@pytest.mark.parametrize("push_down", [True, False])
def test_scatter_gather_top_posts_equals_a_single_database(push_down):
    router = make_router()
    users, posts = sample_rows()
    router.load(users, posts)
    single = db.connect()
    db.create_tables(single)
    for post in posts:
        single.execute("INSERT INTO posts VALUES (?, ?, ?, ?, ?)", tuple(post.values()))
    expected = db.query(single, "SELECT * FROM posts ORDER BY likes DESC, id LIMIT 5")
    result = router.top_posts(5, push_down=push_down)
    assert result.rows == expected
    assert result.shards_touched == 4
    assert result.rows_moved == (4 * 5 if push_down else 120)


def test_router_geo_with_a_shard_key_function():
    country = {1: "EU", 2: "US", 3: "EU"}
    shards = {"eu": db.connect(), "us": db.connect()}
    router = ShardRouter(GeoSharding({"EU": "eu", "US": "us"}), shards, shard_key=country.__getitem__)
    router.create_tables()
    assert router.add_user(1, "a", "a@x", "EU") == "eu"
    assert router.add_user(2, "b", "b@x", "US") == "us"
    assert router.add_post(10, 1, "hi") == "eu"
    assert router.counts() == {"eu": {"users": 1, "posts": 1}, "us": {"users": 1, "posts": 0}}


def test_router_rejects_missing_shards_and_bad_containers():
    with pytest.raises(ValueError, match=r"routes to shards \[2, 3\] that were not given"):
        ShardRouter(HashSharding(4), [db.connect(), db.connect()])
    with pytest.raises(ValueError, match="at least one shard"):
        ShardRouter(DirectorySharding({}), [])
    with pytest.raises(TypeError, match=r"must be a sqlite3\.Connection"):
        ShardRouter(HashSharding(1), ["not a db"])
    with pytest.raises(ValueError, match=r"shard 1 needs an autocommit connection \(isolation_level=None\)"):
        ShardRouter(HashSharding(2), [db.connect(), sqlite3.connect(":memory:")])


def test_a_bad_row_changes_no_shard():
    router = make_router()
    router.load(*sample_rows(n_users=4, posts_per_user=1))
    before = router.counts()
    bad_users = [{"id": 50, "name": "n", "email": "e"}, {"id": 51, "name": "n"}]
    with pytest.raises(ValueError, match=r"missing \['email'\]"):
        router.load(bad_users)
    incomplete = [{"id": 52, "name": "n", "email": "e"}, {"id": 56, "name": "n", "email": "e"}, {"id": 0}]
    with pytest.raises(ValueError, match=r"missing \['name', 'email'\]"):
        router.load(incomplete)
    new_on_shard_0 = {"id": 60, "name": "n", "email": "e"}
    duplicate_on_shard_1 = {"id": 1, "name": "again", "email": "e"}
    assert (router.shard_for(60), router.shard_for(1)) == (0, 1)
    with pytest.raises(sqlite3.IntegrityError, match=r"UNIQUE constraint failed: users\.id"):
        router.load([new_on_shard_0, duplicate_on_shard_1], [{"id": 900, "user_id": 60, "body": "b"}])
    assert router.counts() == before
    assert not any(router.connection(shard).in_transaction for shard in router.shard_ids)


def test_two_shards_cannot_share_one_connection():
    connection = db.connect()
    with pytest.raises(ValueError, match=r"shards 0 and 1 share one connection"):
        ShardRouter(HashSharding(2), [connection, connection])


def test_directory_outage_stops_every_query():
    directory = DirectorySharding({u: u % 2 for u in range(10)})
    router = make_router(directory, n=2)
    router.load(*sample_rows(n_users=10))
    assert len(router.get_user_posts(3).rows) == 3
    directory.fail()
    with pytest.raises(DirectoryUnavailable):
        router.get_user_posts(3)


def test_exercise_checks_accept_the_right_answers_and_explain_wrong_ones():
    from scalekit.exercises.database import check_shard_key

    assert check_shard_key("conversation_id")
    assert "hot shard" in repr(check_shard_key("created_at"))
    assert "one of the column names" in repr(check_shard_key("user"))


def test_numpy_integers_route_like_ints_and_bad_numbers_are_refused():
    import math

    import numpy as np

    assert HashSharding(np.int64(4)).shard_for(np.int64(7)) == 3
    assert type(HashSharding(4).shard_for(np.int64(7))) is int
    assert HashSharding(4).shard_for(np.int32(-7)) == 1
    assert RangeSharding.split(0, 100, np.int64(4)).shard_for(30) == 1
    for low, high in [(0, math.inf), (math.nan, 1), ("0", 10)]:
        with pytest.raises(ValueError, match="finite numbers"):
            RangeSharding.split(low, high, 4)
    for bad in ([1.0, math.nan], [1.0, math.inf]):
        with pytest.raises(ValueError, match="finite"):
            load_spread(bad)


def test_threads_sharing_a_shard_router_store_every_acknowledged_row():
    """Without the router's lock, one thread's BEGIN met another's open transaction."""
    import threading

    router = ShardRouter(HashSharding(2), [db.connect() for _ in range(2)])
    router.create_tables()
    acknowledged: list[int] = []
    errors: list[str] = []
    guard = threading.Lock()

    def work(thread: int) -> None:
        for i in range(300):
            user_id = thread * 10_000 + i
            try:
                router.add_user(user_id, "u", "u@x")
            except Exception as error:  # collected for the main thread
                errors.append(repr(error))
                continue
            with guard:
                acknowledged.append(user_id)
            try:
                router.add_user(user_id, "again", "u@x")
                errors.append(f"duplicate user {user_id} accepted")
            except sqlite3.IntegrityError:
                pass
            except Exception as error:
                errors.append(repr(error))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(c["users"] for c in router.counts().values()) == len(acknowledged) == 1200


@pytest.mark.parametrize(
    ("attempt", "says"),
    [
        (lambda: GeoSharding(["US", "EU"]), "dict of region -> shard"),
        (lambda: DirectorySharding([1, 2]), "dict of key -> shard"),
        (lambda: DirectorySharding({1: 0}).shard_for([1]), "must be hashable"),
        (lambda: RangeSharding(5), "list of \\(low, high\\) pairs"),
        (lambda: RangeSharding([5]), "list of \\(low, high\\) pairs"),
        (lambda: RangeSharding([(0, "a")]), "cannot be compared"),
    ],
)
def test_wrong_shapes_are_refused_with_a_sentence(attempt, says) -> None:
    """A list where a dict belongs used to become {'U': 'S'} silently; mixed range ends a bare '<' error."""
    with pytest.raises(TypeError, match=says):
        attempt()


def test_load_spread_of_a_counter_uses_its_counts_not_its_shard_ids() -> None:
    from collections import Counter

    counts = Counter({0: 5, 1: 7})
    assert load_spread(counts) == load_spread([5, 7]) == 7 / 6
    with pytest.raises(ValueError, match="numbers, one per shard"):
        load_spread(["a"])
