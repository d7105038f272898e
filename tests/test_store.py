"""ProductStore: what it accepts, how it counts, and that refused writes change nothing."""

from __future__ import annotations

import sqlite3
import sys
import threading

import pytest

from scalekit.caches.store import Change, ProductStore, check_key, check_product


def product(price: int, name: str = "p") -> dict:
    return {"name": name, "price_cents": price, "stock": 1}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (product(2**63), "64-bit"),
        (product(-(2**63) - 1), "64-bit"),
        ({"name": "p", "price_cents": 1, "stock": 2**70}, "64-bit"),
        (product(1, name="\ud800"), "UTF-8"),
    ],
)
def test_values_sqlite_cannot_hold_are_refused_with_a_clear_error(value, message):
    store = ProductStore()
    with pytest.raises(ValueError, match=message):
        check_product(value)
    with pytest.raises(ValueError, match=message):
        store.put(1, value)
    with pytest.raises(ValueError, match=message):
        store.apply([Change(1, value, "1-0")])
    assert store.snapshot() == {}
    assert store.writes == 0


def test_int64_bounds_are_accepted():
    store = ProductStore()
    extreme = {"name": "naïve ☕", "price_cents": 2**63 - 1, "stock": -(2**63)}
    store.put(2**63 - 1, extreme)
    assert store.get(2**63 - 1) == extreme


def test_out_of_range_key_is_refused():
    with pytest.raises(ValueError, match="64-bit"):
        check_key(2**63)
    with pytest.raises(ValueError, match="integer id"):
        check_key(True)
    with pytest.raises(ValueError, match="64-bit"):
        ProductStore().put(-(2**63) - 1, product(1))


def test_a_write_the_database_rejects_is_not_counted():
    store = ProductStore()
    store.connection.execute(
        "CREATE TRIGGER refuse BEFORE INSERT ON products BEGIN SELECT RAISE(ABORT, 'refused'); END"
    )
    with pytest.raises(sqlite3.IntegrityError, match="refused"):
        store.put(1, product(1))
    assert store.writes == 0
    store.connection.execute("DROP TRIGGER refuse")
    store.put(1, product(1))
    store.delete(1)
    assert store.writes == 2


def test_apply_is_all_or_nothing_when_the_database_refuses_one_change():
    store = ProductStore()
    store.put(1, product(1))
    store.connection.execute(
        "CREATE TRIGGER refuse BEFORE INSERT ON products WHEN NEW.id = 3 "
        "BEGIN SELECT RAISE(ABORT, 'refused'); END"
    )
    with pytest.raises(sqlite3.IntegrityError, match="refused"):
        store.apply([Change(1, None, "1-0"), Change(2, product(2), "1-1"), Change(3, product(3), "1-2")])
    assert not store.connection.in_transaction
    assert store.snapshot() == {1: product(1)}
    assert store.applied_version(1) is None
    assert store.writes == 1


def test_one_store_shared_by_threads_never_interleaves_transactions():
    """Threads sharing a store (a flusher and request handlers) used to interleave BEGIN/COMMIT on
    its one connection: 'cannot start a transaction within a transaction', and writes lost."""
    store = ProductStore()
    errors: list[str] = []

    def worker(key: int) -> None:
        try:
            for step in range(200):
                store.apply([Change(key, {"name": "x", "price_cents": step, "stock": 1}, f"{step + 1}-0")])
                store.get(key)
                store.put(100 + key, {"name": "y", "price_cents": step, "stock": 1})
        except Exception as error:
            errors.append(repr(error))

    threads = [threading.Thread(target=worker, args=(key,)) for key in range(4)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often, as a loaded server does
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert errors == []
    expected = {key: {"name": "x", "price_cents": 199, "stock": 1} for key in range(4)}
    expected |= {100 + key: {"name": "y", "price_cents": 199, "stock": 1} for key in range(4)}
    assert store.snapshot() == expected
