"""CacheAside over Redis and SQLite: read-through, invalidate-on-write, negative caching, TTLs."""

from __future__ import annotations

import json
import random
import sys
import threading
import time
import uuid

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from scalekit.caches.aside import CacheAside
from scalekit.caches.store import ProductStore, StoreUnavailable
from scalekit.clock import SimClock


def product(price: int) -> dict:
    return {"name": f"p{price}", "price_cents": price, "stock": 1}


@pytest.fixture
def store() -> ProductStore:
    products = ProductStore()
    for pid in range(5):
        products.put(pid, product(100 + pid))
    products.reads = products.writes = 0
    return products


def test_miss_reads_through_then_hits(redis, ns, store):
    aside = CacheAside(redis, store, prefix=ns.prefix, clock=SimClock())
    assert aside.get(1) == product(101)
    assert aside.get(1) == product(101)
    assert (aside.hits, aside.misses, store.reads) == (1, 1, 1)


def test_write_invalidates_so_next_read_sees_new_value(redis, ns, store):
    aside = CacheAside(redis, store, prefix=ns.prefix, clock=SimClock())
    aside.get(2)
    aside.put(2, product(999))
    assert redis.get(aside.key(2)) is None
    assert aside.get(2) == product(999)
    aside.delete(2)
    assert aside.get(2) is None


def test_logical_ttl_expires_on_the_clock(redis, ns, store):
    clock = SimClock()
    aside = CacheAside(redis, store, prefix=ns.prefix, ttl=10, clock=clock)
    aside.get(0)
    store.put(0, product(7))  # behind the cache's back: only expiry can reveal it
    clock.advance(9.9)
    assert aside.get(0) == product(100)
    clock.advance(0.1)
    assert aside.get(0) == product(7)


def test_negative_entry_has_its_own_ttl_and_insert_invalidates_it(redis, ns, store):
    clock = SimClock()
    aside = CacheAside(redis, store, prefix=ns.prefix, ttl=3600, negative_ttl=5, clock=clock)
    assert aside.get(42) is None
    assert aside.get(42) is None
    assert (store.reads, aside.negative_hits) == (1, 1)
    clock.advance(5)
    assert aside.get(42) is None
    assert store.reads == 2
    aside.put(42, product(42))
    assert aside.get(42) == product(42)


def test_negative_caching_can_be_turned_off(redis, ns, store):
    aside = CacheAside(redis, store, prefix=ns.prefix, negative_ttl=0, clock=SimClock())
    aside.get(42)
    aside.get(42)
    assert store.reads == 2
    assert redis.get(aside.key(42)) is None


def test_without_a_clock_redis_expires_entries(redis, ns, store):
    aside = CacheAside(redis, store, prefix=ns.prefix, ttl=3600, negative_ttl=30)
    aside.get(1)
    aside.get(77)
    assert 3_590_000 < redis.pttl(aside.key(1)) <= 3_600_000
    assert 20_000 < redis.pttl(aside.key(77)) <= 30_000


def test_store_failure_on_write_keeps_cache_consistent(redis, ns, store):
    aside = CacheAside(redis, store, prefix=ns.prefix, clock=SimClock())
    aside.get(3)
    store.down = True
    with pytest.raises(StoreUnavailable):
        aside.put(3, product(1))
    assert aside.get(3) == product(103)  # still served from Redis, and still true
    store.down = False
    assert store.get(3) == product(103)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"ttl": 0},
        {"ttl": -1},
        {"negative_ttl": -1},
        {"ttl": float("inf")},
        {"ttl": float("nan")},
        {"negative_ttl": float("inf")},
    ],
)
def test_bad_ttls_are_clear_errors(redis, store, kwargs):
    with pytest.raises(ValueError, match="ttl"):
        CacheAside(redis, store, **kwargs)


def test_bad_product_is_refused_before_anything_changes(redis, ns, store):
    aside = CacheAside(redis, store, prefix=ns.prefix, clock=SimClock())
    aside.get(1)
    with pytest.raises(ValueError, match="fields"):
        aside.put(1, {"name": "x"})
    assert aside.get(1) == product(101)
    assert store.get(1) == product(101)


KEYS = st.integers(0, 6)


def test_stateful_against_a_dict_model(redis, ns):
    """Reads always agree with the model (the database's truth), whatever the interleaving."""

    class AsideMachine(RuleBasedStateMachine):
        @initialize()
        def start(self) -> None:
            self.clock = SimClock()
            self.store = ProductStore()
            self.model: dict[int, dict] = {}
            self.aside = CacheAside(
                redis,
                self.store,
                prefix=ns.key(uuid.uuid4().hex[:8]),
                ttl=30,
                negative_ttl=5,
                clock=self.clock,
            )

        @rule(key=KEYS, price=st.integers(0, 10_000))
        def put(self, key: int, price: int) -> None:
            try:
                self.aside.put(key, product(price))
                self.model[key] = product(price)
            except StoreUnavailable:
                assert self.store.down

        @rule(key=KEYS)
        def delete(self, key: int) -> None:
            try:
                self.aside.delete(key)
                self.model.pop(key, None)
            except StoreUnavailable:
                assert self.store.down

        @rule(key=KEYS)
        def get(self, key: int) -> None:
            try:
                assert self.aside.get(key) == self.model.get(key)
            except StoreUnavailable:
                assert self.store.down

        @rule(seconds=st.sampled_from([0.5, 5, 40]))
        def advance(self, seconds: float) -> None:
            self.clock.advance(seconds)

        @rule()
        def toggle_store(self) -> None:
            self.store.down = not self.store.down

        @invariant()
        def store_matches_model(self) -> None:
            if hasattr(self, "store"):
                assert self.store.snapshot() == self.model

    run_state_machine_as_test(AsideMachine, settings=settings(max_examples=60, stateful_step_count=30))


class InterleavingStore(ProductStore):
    """A ProductStore that runs ``between`` once, right after its next get: another client acts
    while this reader is between the database and Redis."""

    between = None

    def get(self, key: int) -> dict | None:
        row = super().get(key)
        hook, self.between = self.between, None
        if hook is not None:
            hook()
        return row


@pytest.mark.parametrize("timing", ["redis-ttl", "sim-clock"])
@pytest.mark.parametrize("meanwhile", ["update", "delete", "insert"])
def test_reader_racing_a_writer_never_caches_what_the_writer_replaced(redis, ns, timing, meanwhile):
    """Reader misses and reads the store; a writer changes the row and invalidates; the reader
    then fills Redis. Without a guard the old row (or "not found") stays for the whole TTL."""
    store = InterleavingStore()
    if meanwhile != "insert":
        store.put(1, product(1))
    clock = SimClock() if timing == "sim-clock" else None
    aside = CacheAside(redis, store, prefix=ns.prefix, ttl=3600, negative_ttl=3600, clock=clock)
    writes = {
        "update": lambda: aside.put(1, product(2)),
        "delete": lambda: aside.delete(1),
        "insert": lambda: aside.put(1, product(3)),
    }
    store.between = writes[meanwhile]
    aside.get(1)
    truth = store.get(1)
    assert aside.get(1) == truth
    assert aside.get(1) == truth  # and the entry cached by that read is the truth too
    assert aside.hits + aside.negative_hits >= 1


def test_untouched_product_is_still_cached_after_a_guarded_fill(redis, ns, store):
    aside = CacheAside(redis, store, prefix=ns.prefix, clock=SimClock())
    aside.get(1)
    assert redis.get(aside.key(1)) is not None
    aside.get(1)
    assert (aside.hits, aside.misses, store.reads) == (1, 1, 1)


def test_threads_reading_and_writing_leave_no_stale_entry(redis, ns):
    """Real threads, random interleavings: once they stop, every cached entry is what the store holds.

    The store pauses after each read (a slow query), which widens the race window."""

    class SlowStore(ProductStore):
        def get(self, key):
            row = super().get(key)
            time.sleep(0.0005)
            return row

    store = SlowStore()
    aside = CacheAside(redis, store, prefix=ns.prefix, ttl=3600, negative_ttl=3600)
    rng = random.Random(7)
    plans = [
        [(rng.random() < 0.3, rng.randrange(4), rng.randrange(1000)) for _ in range(150)] for _ in range(4)
    ]
    errors: list[str] = []

    def client(plan) -> None:
        try:
            for is_write, key, price in plan:
                if is_write:
                    aside.put(key, product(price))
                else:
                    aside.get(key)
        except Exception as error:
            errors.append(repr(error))

    threads = [threading.Thread(target=client, args=(plan,)) for plan in plans]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert errors == []
    for key in range(4):
        raw = redis.get(aside.key(key))
        if raw is not None:
            assert json.loads(raw)["v"] == store.get(key), f"product {key} cached stale"
        assert aside.get(key) == store.get(key)


@pytest.mark.parametrize("garbage", ["not json", '{"x": 1}', "[1, 2]", '{"v": 5, "exp": "soon"}'])
def test_a_corrupt_cache_entry_is_a_miss_that_heals(redis, ns, store, garbage):
    """Something else wrote to our key: read through to the store and overwrite it, never fail forever."""
    aside = CacheAside(redis, store, prefix=ns.prefix, clock=SimClock())
    redis.set(aside.key(1), garbage)
    assert aside.get(1) == product(101)
    assert aside.get(1) == product(101)
    assert (aside.misses, aside.hits) == (1, 1)
