"""WriteBehind: durable acknowledgement in Redis, batched coalescing flush, backoff, backpressure,
and recovery from a flusher killed mid-batch (in-process and as a real OS process with SIGKILL)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import types
import uuid

import fakeredis
import pytest
import redis as redis_lib
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from scalekit import backend
from scalekit.caches.store import Change, ProductStore, StoreUnavailable
from scalekit.caches.write_behind import BacklogFull, WriteBehind, run_flusher
from scalekit.clock import SimClock


def product(price: int) -> dict:
    return {"name": f"p{price}", "price_cents": price, "stock": 1}


class InterleavingStore(ProductStore):
    """A ProductStore that runs ``between`` once, right after its next get, as if other clients
    acted while this reader was between the database and Redis."""

    between = None

    def get(self, key: int) -> dict | None:
        row = super().get(key)
        hook, self.between = self.between, None
        if hook is not None:
            hook()
        return row


class Killed(Exception):
    """Stands in for the flusher dying between applying a batch and acknowledging it."""


def kill(_: int) -> None:
    raise Killed


@pytest.fixture
def wb(redis, ns) -> WriteBehind:
    return WriteBehind(
        redis, ProductStore(), prefix=ns.prefix, batch_size=10, max_pending=50, clock=SimClock()
    )


def test_write_is_in_redis_not_in_the_store_until_flushed(wb, redis):
    version = wb.put(1, product(5))
    assert redis.xlen(wb.log_key) == 1
    assert redis.xrange(wb.log_key)[0][0] == version
    assert wb.store.snapshot() == {}
    assert wb.get(1) == product(5)
    assert wb.flush() == 0
    assert wb.store.snapshot() == {1: product(5)}
    assert wb.store.applied_version(1) == version
    assert redis.hlen(wb.pending_key) == 0


def test_read_during_pending_write_returns_new_value(wb):
    wb.store.put(1, product(1))
    wb.put(1, product(2))
    assert wb.get(1) == product(2)
    wb.delete(1)
    assert wb.get(1) is None
    assert wb.store.get(1) == product(1)
    wb.flush()
    assert wb.get(1) is None
    assert wb.store.snapshot() == {}


def test_batch_coalesces_last_write_wins_and_delete_stays_delete(wb):
    for price in range(5):
        wb.put(1, product(price))
    wb.put(2, product(9))
    wb.delete(2)
    wb.delete(3)
    wb.put(3, product(33))
    assert wb.flush_once() == 9
    assert wb.store.snapshot() == {1: product(4), 3: product(33)}
    assert wb.store.writes == 3
    assert wb.coalesced == 6


@pytest.mark.parametrize("meanwhile", ["delete", "put then evict"])
def test_slow_reader_never_caches_a_value_older_than_the_store(redis, ns, meanwhile):
    """A get misses and reads the store; a write is recorded and flushed before the get fills Redis."""
    store = InterleavingStore()
    store.put(1, product(1))
    wb = WriteBehind(redis, store, prefix=ns.prefix, clock=SimClock())

    def other_client() -> None:
        if meanwhile == "delete":
            wb.delete(1)
        else:
            wb.put(1, product(2))
        assert wb.flush() == 0
        redis.delete(wb.item_key(1))

    store.between = other_client
    assert wb.get(1) == product(1)
    assert wb.get(1) == store.get(1)


def test_full_backlog_refuses_with_clear_error_and_records_nothing(redis, ns):
    clock = SimClock()
    wb = WriteBehind(redis, ProductStore(), prefix=ns.prefix, max_pending=3, clock=clock)
    for price in range(3):
        wb.put(price, product(price))
    with pytest.raises(BacklogFull, match="NOT recorded"):
        wb.put(7, product(7))
    with pytest.raises(BacklogFull):
        wb.put(7, product(7), timeout=2.0)
    assert clock.now() == pytest.approx(2.0)
    assert wb.pending() == 3
    assert wb.get(7) is None
    assert wb.refused == 2
    wb.flush_once()
    wb.put(7, product(7))
    assert wb.get(7) == product(7)


def test_store_down_retries_with_backoff_then_reports_pending(wb):
    for key in range(4):
        wb.put(key, product(key))
    wb.store.down = True
    assert wb.flush(max_attempts=4, base_delay=0.5, max_delay=1.0) == 4
    assert wb.retries == 3
    assert wb.clock.now() == pytest.approx(0.5 + 1.0 + 1.0)
    assert wb.get(2) == product(2)
    wb.store.down = False
    assert wb.close() == 0
    assert wb.store.snapshot() == {key: product(key) for key in range(4)}


def test_close_reports_pending_and_stops_new_writes(wb):
    wb.put(1, product(1))
    wb.store.down = True
    assert wb.close(max_attempts=1) == 1
    with pytest.raises(RuntimeError, match="closed"):
        wb.put(2, product(2))


def test_new_flusher_after_crash_finishes_and_replay_is_harmless(wb, redis, ns):
    model = {}
    for step in range(25):
        wb.put(step % 7, product(step))
        model[step % 7] = product(step)
    with pytest.raises(Killed):
        wb.flush_once(on_applied=kill)
    assert wb.pending() == 25
    applied = wb.store.snapshot()
    assert applied and applied != model
    successor = WriteBehind(redis, wb.store, prefix=ns.prefix, batch_size=10, clock=SimClock())
    assert successor.close() == 0
    assert wb.store.snapshot() == model
    assert successor.skipped == len(applied)


def test_store_apply_ignores_replayed_and_older_versions():
    store = ProductStore()
    changes = [Change(1, product(1), "5-0"), Change(2, None, "5-1")]
    assert store.apply(changes) == 2
    assert store.apply(changes) == 0
    assert store.apply([Change(1, product(0), "4-9"), Change(2, product(2), "4-0")]) == 0
    assert store.snapshot() == {1: product(1)}
    assert store.apply([Change(2, product(2), "10-0")]) == 1
    assert store.snapshot() == {1: product(1), 2: product(2)}


def test_bad_input_is_refused_before_it_is_acknowledged(wb):
    with pytest.raises(ValueError, match="fields"):
        wb.put(1, {"name": "x"})
    with pytest.raises(ValueError, match="None"):
        wb.put(1, None)
    with pytest.raises(ValueError, match="integer id"):
        wb.delete("a")
    assert wb.pending() == 0
    for kwargs in ({"batch_size": 0}, {"max_pending": 0}, {"ttl": 0}, {"ttl": float("inf")}):
        with pytest.raises(ValueError):
            WriteBehind(wb.cache, wb.store, **kwargs)


def test_stateful_with_clock_failing_store_and_killed_flusher(redis, ns):
    """Reads always return the last acknowledged write; the store ends equal to the model."""

    class BehindMachine(RuleBasedStateMachine):
        @initialize()
        def start(self) -> None:
            self.prefix = ns.key(uuid.uuid4().hex[:8])
            self.store = InterleavingStore()
            self.clock = SimClock()
            self.model: dict[int, dict] = {}
            self.wb = self._flusher()

        def _flusher(self) -> WriteBehind:
            return WriteBehind(
                redis, self.store, prefix=self.prefix, batch_size=4, max_pending=12, clock=self.clock
            )

        @rule(key=st.integers(0, 5), price=st.integers(0, 1000))
        def put(self, key: int, price: int) -> None:
            full = self.wb.pending() >= 12
            try:
                self.wb.put(key, product(price))
            except BacklogFull:
                assert full
                return
            assert not full
            self.model[key] = product(price)

        @rule(key=st.integers(0, 5))
        def delete(self, key: int) -> None:
            try:
                self.wb.delete(key)
            except BacklogFull:
                return
            self.model.pop(key, None)

        @rule(key=st.integers(0, 5))
        def get(self, key: int) -> None:
            try:
                assert self.wb.get(key) == self.model.get(key)
            except StoreUnavailable:
                assert self.store.down

        @rule(key=st.integers(0, 5), price=st.none() | st.integers(0, 1000), evict=st.booleans())
        def get_racing_a_flushed_write(self, key: int, price: int | None, evict: bool) -> None:
            """A get whose store read is followed by another client's write, a flush, maybe an eviction."""

            def other_client() -> None:
                if price is None:
                    self.delete(key)
                else:
                    self.put(key, price)
                self.flush_once()
                if evict:
                    redis.delete(self.wb.item_key(key))

            before = self.model.get(key)
            self.store.between = other_client
            try:
                assert self.wb.get(key) == before
            except StoreUnavailable:
                assert self.store.down
            self.store.between = None

        @rule()
        def flush_once(self) -> None:
            try:
                self.wb.flush_once()
            except StoreUnavailable:
                assert self.store.down

        @rule()
        def kill_flusher_mid_batch(self) -> None:
            with contextlib.suppress(Killed, StoreUnavailable):
                self.wb.flush_once(on_applied=kill)
            self.wb = self._flusher()

        @rule()
        def toggle_store(self) -> None:
            self.store.down = not self.store.down

        @rule(seconds=st.sampled_from([0.1, 10]))
        def advance(self, seconds: float) -> None:
            self.clock.advance(seconds)

        @invariant()
        def backlog_bounded(self) -> None:
            if hasattr(self, "wb"):
                assert self.wb.pending() <= 12

        def teardown(self) -> None:
            if not hasattr(self, "wb"):
                return
            self.store.down = False
            assert self._flusher().close() == 0
            assert self.store.snapshot() == self.model

    run_state_machine_as_test(BehindMachine, settings=settings(max_examples=30, stateful_step_count=40))


def _flusher_process(url: str, db: str, prefix: str, *extra: str) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "scalekit.caches.write_behind",
        "--url",
        url,
        "--db",
        db,
        "--prefix",
        prefix,
    ]
    return subprocess.Popen([*command, *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("batch_size", [1, 16])
def test_flusher_process_killed_with_sigkill_mid_batch(redis_url, tmp_path, batch_size):
    """A real flusher process is SIGKILLed after applying a batch, before acknowledging it;
    a new process finishes the backlog and no acknowledged write is lost.

    Needs a real Redis: a separate process cannot reach the in-process fakeredis."""
    client = backend.connect(redis_url)
    space = backend.namespace(f"test-wb-{uuid.uuid4().hex[:12]}", client)
    db_path = str(tmp_path / "products.sqlite")
    try:
        writer = WriteBehind(client, ProductStore(db_path), prefix=space.prefix, clock=SimClock())
        model = {}
        for step in range(60):
            key = step % 9
            if step % 11 == 10:
                writer.delete(key)
                model.pop(key, None)
            else:
                writer.put(key, product(step))
                model[key] = product(step)
        flag = tmp_path / "applied.flag"
        victim = _flusher_process(
            redis_url,
            db_path,
            space.prefix,
            "--batch-size",
            str(batch_size),
            "--pause-after-apply",
            str(flag),
        )
        deadline = time.monotonic() + 30
        while not flag.exists():
            assert victim.poll() is None, victim.communicate()
            assert time.monotonic() < deadline, "the flusher never reached the pause point"
            time.sleep(0.02)
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(timeout=10)
        assert victim.returncode == -signal.SIGKILL
        assert writer.pending() == 60
        assert ProductStore(db_path).snapshot() != {}

        successor = _flusher_process(redis_url, db_path, space.prefix, "--batch-size", str(batch_size))
        out, err = successor.communicate(timeout=60)
        assert successor.returncode == 0, err
        assert out.strip() == "flushed 60 writes"
        assert writer.pending() == 0
        assert ProductStore(db_path).snapshot() == model
        for key in range(9):
            assert writer.get(key) == model.get(key)
    finally:
        space.clear()
        client.close()


def test_flusher_command_needs_a_real_redis(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != backend.ENV_VAR}
    result = subprocess.run(
        [sys.executable, "-m", "scalekit.caches.write_behind", "--db", str(tmp_path / "x.sqlite")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode != 0
    assert "needs a real Redis" in result.stderr


@pytest.mark.parametrize(
    "bad",
    [
        {"name": "big", "price_cents": 2**70, "stock": 1},
        {"name": "\ud800", "price_cents": 1, "stock": 1},
    ],
)
def test_value_the_store_cannot_hold_is_refused_and_does_not_block_the_backlog(wb, bad):
    with pytest.raises(ValueError):
        wb.put(1, bad)
    with pytest.raises(ValueError, match="64-bit"):
        wb.delete(2**64)
    assert wb.pending() == 0
    wb.put(2, product(2))
    assert wb.flush() == 0
    assert wb.store.snapshot() == {2: product(2)}


class TickingClock(SimClock):
    """A clock that moves on every read, like a real one between two calls."""

    def now(self) -> float:
        return self.advance(0.03)


def test_backlog_wait_reads_the_clock_once_per_round_and_never_sleeps_negative(redis, ns):
    clock = TickingClock()
    wb = WriteBehind(redis, ProductStore(), prefix=ns.prefix, max_pending=1, clock=clock)
    wb.put(1, product(1))
    with pytest.raises(BacklogFull):
        wb.put(2, product(2), timeout=0.05)
    assert wb.refused == 1


def test_client_without_decode_responses_is_a_clear_error():
    raw = fakeredis.FakeRedis(server=fakeredis.FakeServer())
    with pytest.raises(ValueError, match="decode_responses=True"):
        WriteBehind(raw, ProductStore())


def test_change_the_store_refuses_goes_to_dead_letters_and_the_rest_is_saved(wb):
    wb.store.connection.execute(
        "CREATE TRIGGER refuse BEFORE INSERT ON products WHEN NEW.id = 3 "
        "BEGIN SELECT RAISE(ABORT, 'product 3 is frozen'); END"
    )
    for key in (1, 3, 5):
        wb.put(key, product(key))
    refused_version = wb.put(3, product(33))
    assert wb.flush() == 0
    assert wb.store.snapshot() == {1: product(1), 5: product(5)}
    assert wb.dead_lettered == 2  # each refused write of product 3 is kept, in order
    first, dead = wb.dead_letters()
    assert first["value"] == product(3)
    assert dead["key"] == 3 and dead["value"] == product(33) and dead["version"] == refused_version
    assert "product 3 is frozen" in dead["error"]
    assert wb.get(3) is None
    wb.put(7, product(7))
    assert wb.flush() == 0
    assert wb.store.get(7) == product(7)


def test_a_database_lock_is_retried_not_dead_lettered(wb):
    for key in range(3):
        wb.put(key, product(key))
    real_apply = wb.store.apply

    def locked(changes):
        raise sqlite3.OperationalError("database is locked")

    wb.store.apply = locked
    with pytest.raises(sqlite3.OperationalError):
        wb.flush_once()
    wb.store.apply = real_apply
    assert (wb.pending(), wb.dead_lettered) == (3, 0)
    assert wb.flush() == 0
    assert wb.store.snapshot() == {key: product(key) for key in range(3)}


@pytest.mark.parametrize("batch_size", [1, 100])
def test_a_later_refused_write_never_erases_an_earlier_acknowledged_one(redis, ns, batch_size):
    """Write A (valid), then write B to the same product, which the store refuses: in one batch,
    coalescing kept only B, the store refused it and A was gone. A must reach the store."""
    wb = WriteBehind(redis, ProductStore(), prefix=ns.prefix, batch_size=batch_size, clock=SimClock())
    wb.store.connection.execute(
        "CREATE TRIGGER too_dear BEFORE INSERT ON products WHEN NEW.price_cents > 1000 "
        "BEGIN SELECT RAISE(ABORT, 'price over the limit'); END"
    )
    wb.put(1, product(5))
    wb.put(2, product(6))
    refused = wb.put(1, product(5000))
    wb.put(2, product(7))
    assert wb.flush() == 0
    assert wb.store.snapshot() == {1: product(5), 2: product(7)}
    [dead] = wb.dead_letters()
    assert (dead["key"], dead["value"], dead["version"]) == (1, product(5000), refused)
    assert wb.get(1) == product(5)
    assert (wb.flushed, wb.dead_lettered) == (4, 1)


def test_refused_write_superseded_in_its_batch_is_merged_away_like_any_other(redis, ns):
    """Coalescing keeps the last write per product; a refused one that a later valid write
    replaced never needs the store (last write wins), so nothing is lost or dead-lettered."""
    wb = WriteBehind(redis, ProductStore(), prefix=ns.prefix, batch_size=100, clock=SimClock())
    wb.store.connection.execute(
        "CREATE TRIGGER too_dear BEFORE INSERT ON products WHEN NEW.price_cents > 1000 "
        "BEGIN SELECT RAISE(ABORT, 'price over the limit'); END"
    )
    wb.put(1, product(5))
    wb.put(1, product(5000))
    wb.put(1, product(8))
    assert wb.flush() == 0
    assert wb.store.snapshot() == {1: product(8)}
    assert wb.get(1) == product(8)
    assert wb.dead_letters() == [] and wb.coalesced == 2


class LockedFor(SimClock):
    """A clock whose sleeps release a SQLite write lock held by another connection after ``n`` sleeps."""

    def __init__(self, holder: sqlite3.Connection, n: int) -> None:
        super().__init__()
        self.holder, self.n = holder, n

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        self.n -= 1
        if self.n == 0:
            self.holder.execute("ROLLBACK")


def test_database_is_locked_is_retried_with_backoff_by_flush(redis, ns, tmp_path):
    """Another process holds SQLite's write lock: flush() backs off and retries instead of raising."""
    path = tmp_path / "products.sqlite"
    store = ProductStore(path)
    store.connection.execute("PRAGMA busy_timeout = 0")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    clock = LockedFor(holder, 2)
    wb = WriteBehind(redis, store, prefix=ns.prefix, clock=clock)
    for key in range(3):
        wb.put(key, product(key))
    assert wb.flush(base_delay=0.5) == 0
    assert wb.retries == 2 and clock.now() == pytest.approx(0.5 + 1.0)
    assert store.snapshot() == {key: product(key) for key in range(3)}
    assert wb.dead_lettered == 0
    holder.close()


def test_database_locked_for_good_reports_pending_instead_of_raising(redis, ns, tmp_path):
    path = tmp_path / "products.sqlite"
    store = ProductStore(path)
    store.connection.execute("PRAGMA busy_timeout = 0")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    wb = WriteBehind(redis, store, prefix=ns.prefix, clock=SimClock())
    wb.put(1, product(1))
    assert wb.flush(max_attempts=3) == 1
    assert (wb.retries, wb.dead_lettered) == (2, 0)
    holder.execute("ROLLBACK")
    holder.close()
    assert wb.flush() == 0 and store.snapshot() == {1: product(1)}


@pytest.mark.parametrize("timeout", [float("nan"), -1.0, float("inf"), "1", True])
def test_a_meaningless_timeout_is_a_clear_error_not_a_loop(redis, ns, timeout):
    wb = WriteBehind(redis, ProductStore(), prefix=ns.prefix, max_pending=1, clock=SimClock())
    wb.put(1, product(1))
    with pytest.raises(ValueError, match="timeout must be a"):
        wb.put(2, product(2), timeout=timeout)
    with pytest.raises(ValueError, match="timeout must be a"):
        wb.delete(2, timeout=timeout)
    assert wb.pending() == 1


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_attempts": 0},
        {"max_attempts": 2.5},
        {"base_delay": float("nan")},
        {"base_delay": -1},
        {"max_delay": float("inf")},
        {"base_delay": 2.0, "max_delay": 1.0},
    ],
)
def test_bad_flush_options_are_clear_errors(wb, kwargs):
    wb.put(1, product(1))
    wb.store.down = True
    with pytest.raises(ValueError):
        wb.flush(**kwargs)
    assert wb.pending() == 1


@pytest.mark.parametrize("kwargs", [{"batch_size": 2.5}, {"batch_size": True}, {"max_pending": 1.5}])
def test_sizes_must_be_whole_numbers(wb, kwargs):
    with pytest.raises(ValueError, match="whole number"):
        WriteBehind(wb.cache, wb.store, **kwargs)


def test_any_mapping_is_accepted_and_stored_as_a_plain_product(wb):
    wb.put(1, types.MappingProxyType(product(1)))
    assert wb.get(1) == product(1)
    assert wb.flush() == 0 and wb.store.snapshot() == {1: product(1)}


def test_flusher_loop_survives_a_locked_database_and_says_so(redis_url, tmp_path, monkeypatch):
    """The flusher process's loop: "database is locked" twice, then the store answers."""
    client = backend.connect(redis_url)
    space = backend.namespace(f"test-wb-{uuid.uuid4().hex[:12]}", client)
    db_path = str(tmp_path / "products.sqlite")
    failures = [sqlite3.OperationalError("database is locked")] * 2

    class FlakyStore(ProductStore):
        def apply(self, changes):
            if failures:
                raise failures.pop()
            return super().apply(changes)

    monkeypatch.setattr("scalekit.caches.write_behind.ProductStore", FlakyStore)
    try:
        writer = WriteBehind(client, ProductStore(db_path), prefix=space.prefix, clock=SimClock())
        for key in range(5):
            writer.put(key, product(key))
        lines: list[str] = []
        flushed = run_flusher(redis_url, db_path, space.prefix, poll=0.01, log=lines.append)
        assert flushed == 5 and writer.pending() == 0
        assert ProductStore(db_path).snapshot() == {key: product(key) for key in range(5)}
        assert "database is locked" in lines[0] and "recovered" in lines[-1]
    finally:
        space.clear()
        client.close()


@pytest.mark.parametrize(
    "fields",
    [
        {"k": "abc", "p": ""},
        {"k": "1", "p": "{not json"},
        {"k": "1", "p": '{"name": "x"}'},
        {"k": str(2**70), "p": ""},
        {"p": ""},
    ],
    ids=["key", "json", "fields", "range", "missing"],
)
def test_a_malformed_entry_in_the_stream_is_dead_lettered_not_a_poison_pill(wb, redis, fields):
    """An entry no WriteBehind wrote (another version, a hand-made XADD) used to make every flush
    raise, so the flusher died on it again and again and nothing behind it was ever saved."""
    wb.put(1, product(1))
    redis.xadd(wb.log_key, fields)
    wb.put(2, product(2))
    assert wb.flush() == 0
    assert wb.store.snapshot() == {1: product(1), 2: product(2)}
    [dead] = wb.dead_letters()
    assert "malformed" in dead["error"] and dead["value"] is None and "raw" in dead
    assert wb.get(1) == product(1)


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server on PATH")
def test_flusher_rides_out_a_redis_crash_and_appendonly_keeps_the_backlog(tmp_path):
    """Writes acknowledged, Redis SIGKILLed, a flusher started while it is down, Redis restarted
    from its append-only file: the flusher says it is waiting, then saves every write."""
    from throwaway_redis import RedisProcess

    server = RedisProcess(tmp_path / "redis", shutil.which("redis-server")).start()
    url, db_path = server.url, str(tmp_path / "products.sqlite")
    try:
        client = redis_lib.Redis(port=server.port, decode_responses=True)
        writer = WriteBehind(client, ProductStore(db_path), prefix="{wb}", clock=SimClock())
        for key in range(5):
            writer.put(key, product(key))
        client.close()
        server.kill()
        lines: list[str] = []
        result: list[int] = []
        flusher = threading.Thread(
            target=lambda: result.append(run_flusher(url, db_path, "{wb}", poll=0.05, log=lines.append))
        )
        flusher.start()
        deadline = time.monotonic() + 10
        while not lines:
            assert time.monotonic() < deadline, "the flusher never reported the outage"
            time.sleep(0.02)
        server.start()
        flusher.join(timeout=30)
        assert not flusher.is_alive()
        assert result == [5]
        assert "ConnectionError" in lines[0] and "recovered" in lines[-1]
        assert ProductStore(db_path).snapshot() == {key: product(key) for key in range(5)}
    finally:
        server.kill()


@pytest.mark.parametrize("garbage", ["not json", "[1, 2]", '{"name": "x"}'])
def test_a_corrupt_cached_item_is_a_miss_that_heals(wb, redis, garbage):
    wb.put(1, product(1))
    assert wb.flush() == 0
    redis.set(wb.item_key(1), garbage)
    assert wb.get(1) == product(1)
    assert json.loads(redis.get(wb.item_key(1))) == product(1)
    assert wb.get(1) == product(1)
