"""ReplicaRouter: routing, asynchronous lag on a SimClock, read-your-writes, ejection, capacity."""

from __future__ import annotations

import itertools
import math
import sqlite3

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scalekit import db
from scalekit.clock import SimClock
from scalekit.routers.replica_capacity import replica_capacity, write_cap
from scalekit.routers.replicas import ReplicaRouter, ReplicationError

INSERT = "INSERT INTO users (id, name, email) VALUES (?, ?, ?)"
NAME = "SELECT name FROM users WHERE id = ?"


def make_router(n: int = 2, **options) -> tuple[ReplicaRouter, SimClock]:
    clock = SimClock()
    primary = db.connect()
    db.create_tables(primary, ["users"])
    return ReplicaRouter.from_primary(primary, n, clock=clock, **options), clock


def snapshot(connection: sqlite3.Connection) -> list[tuple]:
    return [tuple(row) for row in connection.execute("SELECT id, name, email FROM users ORDER BY id")]


def test_writes_go_to_primary_and_reads_round_robin() -> None:
    router, _ = make_router(3, lag=0.0)
    router.execute(INSERT, (1, "ann", "a@x"))
    assert router.last_node == "primary"
    served = []
    for _ in range(6):
        assert router.execute(NAME, (1,)) == [{"name": "ann"}]
        served.append(router.last_node)
    assert served == ["replica-1", "replica-2", "replica-3"] * 2
    stats = {row["node"]: row for row in router.stats()}
    assert stats["primary"]["writes"] == 1 and stats["primary"]["reads"] == 0
    assert [stats[f"replica-{i}"]["reads"] for i in (1, 2, 3)] == [2, 2, 2]
    assert [stats[f"replica-{i}"]["writes"] for i in (1, 2, 3)] == [1, 1, 1]


def test_stale_read_right_after_a_write_then_fresh_once_lag_passed() -> None:
    router, clock = make_router(1, lag=2.0)
    router.execute(INSERT, (1, "ann", "a@x"))
    assert router.execute(NAME, (1,)) == []
    clock.advance(1.999)
    assert router.execute(NAME, (1,)) == []
    assert router.behind("replica-1") == pytest.approx(1.999)
    clock.advance(0.001)
    assert router.execute(NAME, (1,)) == [{"name": "ann"}]
    assert router.behind(0) == 0.0


def test_each_replica_has_its_own_lag_and_replays_in_order() -> None:
    router, clock = make_router(2, lag=[1.0, 5.0])
    router.execute(INSERT, (1, "ann", "a@x"))
    clock.advance(0.5)
    router.execute("UPDATE users SET name = ? WHERE id = ?", ("anne", 1))
    clock.advance(1.0)
    router.replicate()
    fast, slow = (replica.connection for replica in router.replicas)
    assert snapshot(fast) == [(1, "anne", "a@x")]
    assert snapshot(slow) == []
    clock.advance(4.0)
    assert router.replicate() == 2
    assert snapshot(slow) == snapshot(router.primary)


@pytest.mark.parametrize(
    ("pin_window", "expect_stale"), [(3.0, False), (5.0, False), (1.0, True), (0.0, True)]
)
def test_read_your_writes_is_correct_only_when_the_pin_covers_the_lag(
    pin_window: float, expect_stale: bool
) -> None:
    router, clock = make_router(2, lag=3.0, pin_window=pin_window)
    router.execute(INSERT, (1, "ann", "a@x"), user="ann")
    saw_stale = False
    for _ in range(40):
        rows = router.execute(NAME, (1,), user="ann")
        saw_stale |= rows == []
        clock.advance(0.1)
    assert saw_stale is expect_stale


def test_pin_applies_only_to_the_writer() -> None:
    router, clock = make_router(1, lag=3.0, pin_window=3.0)
    router.execute(INSERT, (1, "ann", "a@x"), user="ann")
    assert router.execute(NAME, (1,), user="ann") == [{"name": "ann"}]
    assert router.last_node == "primary"
    assert router.execute(NAME, (1,), user="bob") == []
    assert router.last_node == "replica-1"
    clock.advance(3.0)
    router.execute(NAME, (1,), user="ann")
    assert router.last_node == "replica-1"


def test_a_fresh_read_on_the_primary_does_not_pin_the_user() -> None:
    router, _ = make_router(1, lag=3.0, pin_window=3.0)
    router.execute(NAME, (1,), is_write=True, user="ann")
    assert router.last_node == "primary"
    router.execute(NAME, (1,), user="ann")
    assert router.last_node == "replica-1"
    router.execute("PRAGMA user_version = 2", is_write=True, user="ann")
    router.execute(NAME, (1,), user="ann")
    assert router.last_node == "primary"


def test_lagging_replica_is_ejected_and_all_lagging_falls_back_to_primary() -> None:
    router, clock = make_router(2, lag=[1.0, 1.0], max_lag=2.0)
    router.set_lag("replica-2", math.inf)
    router.execute(INSERT, (1, "ann", "a@x"))
    clock.advance(2.5)
    assert router.in_rotation() == ["replica-1"]
    for _ in range(4):
        assert router.execute(NAME, (1,)) == [{"name": "ann"}]
        assert router.last_node == "replica-1"
    router.set_lag("replica-1", math.inf)
    router.execute("UPDATE users SET name = ? WHERE id = ?", ("anne", 1))
    clock.advance(2.5)
    assert router.in_rotation() == []
    assert router.execute(NAME, (1,)) == [{"name": "anne"}]
    assert router.last_node == "primary"
    assert router.fallbacks >= 1
    router.set_lag("replica-1", 0.0)
    assert router.execute(NAME, (1,)) == [{"name": "anne"}]
    assert router.last_node == "replica-1"


def test_numpy_numbers_are_accepted() -> None:
    router, clock = make_router(2, lag=np.float64(1.5), max_lag=np.int64(3))
    router.execute(INSERT, (1, "ann", "a@x"))
    clock.advance(1.5)
    assert router.execute(NAME, (1,)) == [{"name": "ann"}]
    assert replica_capacity(np.int64(3)).total == pytest.approx(2.5)
    assert ReplicaRouter.from_primary(db.connect(), np.int64(2), clock=clock).in_rotation() == [
        "replica-1",
        "replica-2",
    ]


def test_no_replicas_means_everything_on_primary() -> None:
    router, _ = make_router(0)
    router.execute(INSERT, (1, "ann", "a@x"))
    assert router.execute(NAME, (1,)) == [{"name": "ann"}]
    assert router.last_node == "primary" and router.fallbacks == 0


def test_failed_write_is_not_replicated_and_nodes_stay_consistent() -> None:
    router, clock = make_router(2, lag=1.0)
    router.execute(INSERT, (1, "ann", "a@x"))
    with pytest.raises(sqlite3.IntegrityError):
        router.execute(INSERT, (1, "dup", "d@x"))
    with pytest.raises(sqlite3.IntegrityError):
        router.execute("INSERT INTO users (id, name, email) VALUES (?, ?, ?)", (2, None, "n@x"))
    assert len(router.log) == 1
    clock.advance(1.0)
    router.replicate()
    for replica in router.replicas:
        assert snapshot(replica.connection) == snapshot(router.primary) == [(1, "ann", "a@x")]


def test_logged_params_are_a_private_copy() -> None:
    router, clock = make_router(1, lag=1.0)
    params = [1, "ann", "a@x"]
    router.execute(INSERT, params)
    params[1] = "mallory"
    clock.advance(1.0)
    router.replicate()
    assert snapshot(router.replicas[0].connection) == [(1, "ann", "a@x")]


def test_classification_and_overrides() -> None:
    router, clock = make_router(1, lag=10.0)
    router.execute(INSERT, (1, "ann", "a@x"))
    assert router.execute(NAME, (1,), is_write=True) == [{"name": "ann"}]
    assert router.last_node == "primary"
    assert len(router.log) == 1, "a fresh read on the primary is not replicated"
    router.execute("PRAGMA user_version = 7", is_write=True)
    assert len(router.log) == 2
    assert router.execute("PRAGMA table_info(users)", is_write=False)
    assert router.last_node == "replica-1"
    with pytest.raises(ValueError, match="pass is_write"):
        router.execute("PRAGMA user_version")
    with pytest.raises(ValueError, match="one statement per call"):
        router.execute("SELECT 1; DELETE FROM users")
    with pytest.raises(ValueError, match="one statement per call"):
        router.execute("SELECT 1; DELETE FROM users", is_write=False)
    with pytest.raises(ValueError, match="transaction control"):
        router.execute("BEGIN", is_write=True)
    with pytest.raises(ValueError, match="replica would"):
        router.execute("DELETE FROM users", is_write=False)
    with pytest.raises(TypeError, match="parameterised"):
        router.execute(NAME, 1)  # type: ignore[arg-type]
    clock.advance(10.0)
    router.replicate()
    assert router.replicas[0].connection.execute("PRAGMA user_version").fetchone()[0] == 7
    assert snapshot(router.replicas[0].connection) == snapshot(router.primary)


def test_replicas_are_read_only_outside_replication() -> None:
    router, _ = make_router(1)
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        router.replicas[0].connection.execute(INSERT, (9, "x", "x@x"))


def test_diverged_replica_raises_replication_error_without_skipping() -> None:
    router, clock = make_router(1, lag=1.0)
    replica = router.replicas[0].connection
    replica.execute("PRAGMA query_only = OFF")
    replica.execute(INSERT, (1, "rogue", "r@x"))
    replica.execute("PRAGMA query_only = ON")
    router.execute(INSERT, (1, "ann", "a@x"))
    clock.advance(1.0)
    with pytest.raises(ReplicationError, match="replica-1 could not replay log entry 0"):
        router.replicate()
    assert router.replicas[0].position == 0
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        replica.execute(INSERT, (2, "x", "x@x"))


def test_a_diverged_replica_leaves_rotation_and_the_others_keep_serving() -> None:
    router, clock = make_router(2, lag=1.0)
    rogue = router.replicas[0].connection
    rogue.execute("PRAGMA query_only = OFF")
    rogue.execute(INSERT, (1, "rogue", "r@x"))
    rogue.execute("PRAGMA query_only = ON")
    router.execute(INSERT, (1, "ann", "a@x"))
    clock.advance(1.0)
    for _ in range(3):
        assert router.execute(NAME, (1,)) == [{"name": "ann"}]
        assert router.last_node == "replica-2"
    assert router.in_rotation() == ["replica-2"]
    stats = {row["node"]: row for row in router.stats()}
    assert stats["replica-1"]["in_rotation"] is False
    assert "could not replay log entry 0" in stats["replica-1"]["failed"]
    assert stats["replica-2"]["failed"] is None and stats["replica-2"]["in_rotation"] is True
    router.execute(INSERT, (2, "bob", "b@x"))
    clock.advance(1.0)
    with pytest.raises(ReplicationError, match="replica-1 could not replay log entry 0"):
        router.replicate()
    assert snapshot(router.replicas[1].connection) == snapshot(router.primary)
    assert router.replicas[0].position == 0


def test_bad_configuration_is_refused() -> None:
    clock = SimClock()
    primary, replica = db.connect(), db.connect()
    with pytest.raises(ValueError, match="own connection"):
        ReplicaRouter(primary, [primary], clock=clock)
    with pytest.raises(ValueError, match="one per replica"):
        ReplicaRouter(primary, [replica], clock=clock, lag=[1.0, 2.0])
    with pytest.raises(ValueError, match="lag must be a finite number >= 0"):
        ReplicaRouter(primary, [replica], clock=clock, lag=-1)
    with pytest.raises(ValueError, match="pin_window"):
        ReplicaRouter(primary, [replica], clock=clock, pin_window=-0.5)
    with pytest.raises(TypeError, match="max_lag must be a number"):
        ReplicaRouter(primary, [replica], clock=clock, max_lag="5")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="autocommit"):
        ReplicaRouter(sqlite3.connect(":memory:"), [replica], clock=clock)
    with pytest.raises(TypeError, match="sqlite3 connections"):
        ReplicaRouter(primary, ["replica.db"], clock=clock)  # type: ignore[list-item]
    with pytest.raises(ValueError, match="distinct replica names"):
        ReplicaRouter(primary, [replica], clock=clock, names=["primary"])
    with pytest.raises(ValueError, match="n_replicas"):
        ReplicaRouter.from_primary(primary, -1, clock=clock)
    router = ReplicaRouter(primary, [replica], clock=clock)
    with pytest.raises(KeyError, match="no replica 'replica-9'"):
        router.behind("replica-9")
    with pytest.raises(KeyError, match="no replica 3"):
        router.set_lag(3, 1.0)


@settings(max_examples=40)
@given(
    ops=st.lists(
        st.tuples(st.sampled_from(["insert", "update", "delete", "read", "tick"]), st.integers(1, 5)),
        max_size=40,
    ),
    lags=st.lists(st.floats(0, 3), min_size=1, max_size=3),
)
def test_replicas_converge_to_the_primary(ops: list[tuple[str, int]], lags: list[float]) -> None:
    """Whatever the interleaving of writes (some failing), reads and time, replicas catch up exactly."""
    router, clock = make_router(len(lags), lag=lags)
    for op, key in ops:
        try:
            if op == "insert":
                router.execute(INSERT, (key, f"u{key}", f"{key}@x"))
            elif op == "update":
                router.execute("UPDATE users SET name = name || ? WHERE id = ?", ("!", key))
            elif op == "delete":
                router.execute("DELETE FROM users WHERE id = ?", (key,))
            elif op == "read":
                router.execute(NAME, (key,))
            else:
                clock.advance(key / 2)
        except sqlite3.IntegrityError:
            pass
    clock.advance(max(lags))
    router.replicate()
    for replica in router.replicas:
        assert snapshot(replica.connection) == snapshot(router.primary)
        assert router.behind(replica.name) == 0.0


def test_capacity_model_reproduces_and_corrects_the_outline() -> None:
    one = replica_capacity(1, apply_cost=0.0)
    three = replica_capacity(3, apply_cost=0.0)
    assert three.reads / one.reads == pytest.approx(3.0)
    assert replica_capacity(3, apply_cost=1.0).total == pytest.approx(2.5)
    assert replica_capacity(0).total == 1.0 and replica_capacity(0).bottleneck == "single node"
    assert replica_capacity(100, node_capacity=200.0).total <= write_cap(node_capacity=200.0)
    capped = replica_capacity(9, apply_cost=0.0, node_capacity=1000.0)
    assert capped.total == pytest.approx(10_000.0) and capped.writes == pytest.approx(1000.0)
    assert replica_capacity(20, apply_cost=0.0).bottleneck == "primary (writes)"
    totals = [replica_capacity(n).total for n in range(0, 60)]
    assert all(b >= a for a, b in itertools.pairwise(totals))
    assert totals[-1] < write_cap()


def test_capacity_model_agrees_with_router_counts() -> None:
    """The busiest node's work in a 90/10 run through the real router gives the model's throughput."""
    router, clock = make_router(3, lag=0.0)
    for i in range(1000):
        if i % 10 == 0:
            router.execute(INSERT, (i, f"u{i}", f"{i}@x"))
        else:
            router.execute(NAME, (i - i % 10,))
        clock.advance(0.001)
    stats = router.stats()
    busiest = max(row["reads"] + row["writes"] for row in stats)
    assert 1000 / busiest == pytest.approx(replica_capacity(3).total)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"replicas": -1}, "replicas must be an int >= 0"),
        ({"replicas": 2.5}, "replicas must be an int >= 0"),
        ({"replicas": 2, "node_capacity": 0}, "node_capacity must be > 0"),
        ({"replicas": 2, "write_fraction": 1.5}, "write_fraction must be between 0 and 1"),
        ({"replicas": 2, "apply_cost": -1}, "apply_cost must be >= 0"),
    ],
)
def test_capacity_model_rejects_bad_input(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        replica_capacity(**kwargs)


def test_capacity_with_writes_given_as_a_rate() -> None:
    """A scenario that fixes writes/s: reads grow with the replicas, writes stay put."""
    fixed = replica_capacity(20, node_capacity=15_000.0, write_rate=10_000.0, apply_cost=0.0)
    assert (fixed.reads, fixed.writes, fixed.total) == pytest.approx((300_000.0, 10_000.0, 310_000.0))
    assert fixed.bottleneck == "replicas"
    replayed = replica_capacity(4, node_capacity=100.0, write_rate=30.0, apply_cost=1.0)
    assert replayed.reads == pytest.approx(4 * (100.0 - 30.0)) and replayed.total == pytest.approx(310.0)
    alone = replica_capacity(0, node_capacity=100.0, write_rate=30.0)
    assert (alone.total, alone.reads, alone.bottleneck) == (100.0, 70.0, "single node")
    assert replica_capacity(3, node_capacity=10.0, write_rate=np.float64(10.0), apply_cost=0).reads == 30.0
    totals = [
        replica_capacity(n, node_capacity=50.0, write_rate=20.0, apply_cost=0.5).total for n in range(30)
    ]
    assert all(b > a for a, b in itertools.pairwise(totals[1:]))


def test_write_rate_mode_agrees_with_write_fraction_at_the_same_mix() -> None:
    by_share = replica_capacity(5, node_capacity=1000.0, write_fraction=0.05, apply_cost=0.5)
    by_rate = replica_capacity(5, node_capacity=1000.0, write_rate=by_share.writes, apply_cost=0.5)
    assert by_rate.total == pytest.approx(by_share.total)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"write_rate": 101.0}, "more than the primary can run"),
        ({"write_rate": 60.0, "apply_cost": 2.0}, "fall further behind"),
        ({"write_rate": 10.0, "write_fraction": 0.1}, "not both"),
        ({"write_rate": -1.0}, "write_rate must be"),
        ({"write_rate": math.nan}, "write_rate must be"),
        ({"write_rate": math.inf}, "write_rate must be"),
        ({"write_rate": "10"}, "write_rate must be a number"),
        ({"write_rate": True}, "write_rate must be a number"),
        ({"node_capacity": math.inf}, "node_capacity must be"),
        ({"node_capacity": "100"}, "node_capacity must be a number"),
        ({"write_fraction": "0.1"}, "write_fraction must be a number"),
        ({"apply_cost": math.nan}, "apply_cost must be"),
    ],
)
def test_capacity_rejects_impossible_writes(options: dict, message: str) -> None:
    settings = {"node_capacity": 100.0, **options}
    with pytest.raises(ValueError, match=message):
        replica_capacity(3, **settings)


def test_single_node_cannot_take_more_writes_than_it_runs() -> None:
    with pytest.raises(ValueError, match="single node"):
        replica_capacity(0, node_capacity=5.0, write_rate=6.0)


def test_threads_sharing_a_router_keep_replicas_identical() -> None:
    """Concurrent writes, reads and replication: same commit order in the log, no double replay."""
    import threading

    clock = SimClock()
    primary = db.connect()
    primary.execute("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
    primary.execute("INSERT INTO counter VALUES (1, 0)")
    router = ReplicaRouter.from_primary(primary, 3, clock=clock, lag=0.0)
    errors: list[str] = []

    def work(thread: int) -> None:
        try:
            for i in range(150):
                router.execute("UPDATE counter SET n = n + 1 WHERE id = ?", (1,))
                router.execute("INSERT INTO counter (id, n) VALUES (?, ?)", (1000 * (thread + 1) + i, i))
                router.execute("SELECT n FROM counter WHERE id = ?", (1,))
                router.replicate()
        except Exception as error:  # collected so the main thread can report it
            errors.append(repr(error))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    router.replicate()
    assert errors == []
    assert primary.execute("SELECT n FROM counter WHERE id = 1").fetchone()[0] == 6 * 150
    for replica in router.replicas:
        assert replica.failed is None
        assert counters(replica.connection) == counters(primary)


def counters(connection: sqlite3.Connection) -> list[tuple]:
    return [tuple(row) for row in connection.execute("SELECT id, n FROM counter ORDER BY id")]


def test_a_lag_given_as_text_or_a_non_bool_is_write_is_refused() -> None:
    primary = db.connect()
    db.create_tables(primary, ["users"])
    with pytest.raises(TypeError, match="lag must be a number of seconds"):
        ReplicaRouter.from_primary(primary, 2, clock=SimClock(), lag="1")
    router, _ = make_router()
    with pytest.raises(TypeError, match="is_write must be True, False or None"):
        router.execute("SELECT 1", is_write="yes")
