"""WriteThrough: store and cache both updated before a write returns; a store failure changes nothing."""

from __future__ import annotations

import collections
import json
import threading
import time
import types
import uuid

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from scalekit.caches.store import ProductStore, StoreUnavailable
from scalekit.caches.write_through import WriteThrough


def product(price: int) -> dict:
    return {"name": f"p{price}", "price_cents": price, "stock": 1}


class InterleavingStore(ProductStore):
    """A ProductStore that runs ``between`` once, right after its next get or put, as if another
    client acted while this one was between the database and Redis."""

    between = None

    def get(self, key: int) -> dict | None:
        row = super().get(key)
        self._interleave()
        return row

    def put(self, key: int, value: dict) -> None:
        super().put(key, value)
        self._interleave()

    def _interleave(self) -> None:
        hook, self.between = self.between, None
        if hook is not None:
            hook()


def test_write_updates_store_and_cache_before_returning(redis, ns):
    through = WriteThrough(redis, ProductStore(), prefix=ns.prefix)
    through.put(1, product(5))
    assert through.store.get(1) == product(5)
    assert json.loads(redis.get(through.key(1))) == product(5)
    assert through.get(1) == product(5)
    assert (through.hits, through.misses) == (1, 0)


def test_store_failure_raises_and_leaves_cache_unchanged(redis, ns):
    through = WriteThrough(redis, ProductStore(), prefix=ns.prefix)
    through.put(1, product(5))
    through.store.down = True
    with pytest.raises(StoreUnavailable):
        through.put(1, product(6))
    with pytest.raises(StoreUnavailable):
        through.put(2, product(7))
    assert json.loads(redis.get(through.key(1))) == product(5)
    assert redis.get(through.key(2)) is None
    through.store.down = False
    assert through.store.get(1) == product(5)


def test_miss_reads_through_and_fills(redis, ns):
    store = ProductStore()
    store.put(3, product(3))
    through = WriteThrough(redis, store, prefix=ns.prefix)
    assert through.get(3) == product(3)
    assert through.get(3) == product(3)
    assert (through.hits, through.misses, store.reads) == (1, 1, 1)
    assert through.get(4) is None


def test_delete_removes_from_both(redis, ns):
    through = WriteThrough(redis, ProductStore(), prefix=ns.prefix)
    through.put(1, product(5))
    through.delete(1)
    assert redis.get(through.key(1)) is None
    assert through.get(1) is None


def test_ttl_sets_redis_expiry(redis, ns):
    through = WriteThrough(redis, ProductStore(), prefix=ns.prefix, ttl=60)
    through.put(1, product(5))
    assert 50_000 < redis.pttl(through.key(1)) <= 60_000
    for bad in (0, -1, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="ttl must be a finite number"):
            WriteThrough(redis, ProductStore(), ttl=bad)


def test_invalid_value_is_refused_before_any_write(redis, ns):
    through = WriteThrough(redis, ProductStore(), prefix=ns.prefix)
    with pytest.raises(ValueError, match="fields"):
        through.put(1, {"name": "x", "price_cents": 1})
    with pytest.raises(ValueError, match="integer id"):
        through.put("1", product(1))
    assert redis.get(through.key(1)) is None
    assert through.store.snapshot() == {}


@pytest.mark.parametrize("meanwhile", ["delete", "put", "put then evict"])
def test_slow_reader_never_caches_a_value_older_than_the_store(redis, ns, meanwhile):
    """A get misses and reads the store; another client changes the product before the get fills Redis."""
    store = InterleavingStore()
    store.put(1, product(1))
    through = WriteThrough(redis, store, prefix=ns.prefix)

    def other_client() -> None:
        if meanwhile == "delete":
            through.delete(1)
        else:
            through.put(1, product(2))
        if meanwhile == "put then evict":
            redis.delete(through.key(1))

    store.between = other_client
    assert through.get(1) == product(1)
    assert through.get(1) == store.get(1)
    cached = redis.get(through.key(1))
    assert cached is None or json.loads(cached) == store.get(1)


def test_concurrent_puts_leave_redis_agreeing_with_the_store(redis, ns):
    """Put A writes the store, put B runs entirely, then A reaches Redis: A must not cache its older value."""
    store = InterleavingStore()
    through = WriteThrough(redis, store, prefix=ns.prefix)
    store.between = lambda: through.put(1, product(2))
    through.put(1, product(1))
    assert store.get(1) == product(2)
    assert through.get(1) == product(2)
    cached = redis.get(through.key(1))
    assert cached is None or json.loads(cached) == product(2)


def test_stateful_with_a_failing_store(redis, ns):
    """Whatever Redis holds for a product is what the store holds; reads return the model."""

    class ThroughMachine(RuleBasedStateMachine):
        @initialize()
        def start(self) -> None:
            self.store = InterleavingStore()
            self.model: dict[int, dict] = {}
            self.through = WriteThrough(redis, self.store, prefix=ns.key(uuid.uuid4().hex[:8]))

        @rule(key=st.integers(0, 5), price=st.integers(0, 1000))
        def put(self, key: int, price: int) -> None:
            try:
                self.through.put(key, product(price))
                self.model[key] = product(price)
            except StoreUnavailable:
                assert self.store.down

        @rule(key=st.integers(0, 5))
        def delete(self, key: int) -> None:
            try:
                self.through.delete(key)
                self.model.pop(key, None)
            except StoreUnavailable:
                assert self.store.down

        @rule(key=st.integers(0, 5))
        def get(self, key: int) -> None:
            try:
                assert self.through.get(key) == self.model.get(key)
            except StoreUnavailable:
                assert self.store.down

        @rule(key=st.integers(0, 5), price=st.none() | st.integers(0, 1000), evict=st.booleans())
        def get_racing_another_client(self, key: int, price: int | None, evict: bool) -> None:
            """A get whose store read is followed by another client's write and maybe an eviction."""

            def other_client() -> None:
                if price is None:
                    self.delete(key)
                else:
                    self.put(key, price)
                if evict:
                    redis.delete(self.through.key(key))

            before = self.model.get(key)
            self.store.between = other_client
            try:
                assert self.through.get(key) == before
            except StoreUnavailable:
                assert self.store.down
            self.store.between = None

        @rule(key=st.integers(0, 5), first=st.integers(0, 1000), second=st.integers(0, 1000))
        def put_racing_another_put(self, key: int, first: int, second: int) -> None:
            """Put ``first`` reaches the store, put ``second`` runs entirely, then ``first`` reaches Redis."""
            self.store.between = lambda: self.put(key, second)
            self.put(key, first)
            if self.store.between is None:  # the store was up and ran the hook: `second` was last
                self.model[key] = product(second)
            self.store.between = None

        @rule(key=st.integers(0, 5))
        def evict(self, key: int) -> None:
            redis.delete(self.through.key(key))

        @rule()
        def toggle_store(self) -> None:
            self.store.down = not self.store.down

        @invariant()
        def cache_never_ahead_of_store(self) -> None:
            if not hasattr(self, "store"):
                return
            assert self.store.snapshot() == self.model
            for key in range(6):
                cached = redis.get(self.through.key(key))
                if cached is not None:
                    assert json.loads(cached) == self.model.get(key)

    run_state_machine_as_test(ThroughMachine, settings=settings(max_examples=60, stateful_step_count=30))


def test_reader_between_a_writers_store_write_and_eviction_cannot_cache_the_old_value(redis, ns):
    """Writer W bumps the generation; reader R misses and reads the old row; W commits and caches
    the new value; Redis evicts it; only then does R try to fill Redis with the old row."""
    r_has_read, w_is_done = threading.Event(), threading.Event()

    class Store(ProductStore):
        def put(self, key: int, value: dict) -> None:
            assert r_has_read.wait(5)
            super().put(key, value)

        def get(self, key: int) -> dict | None:
            row = super().get(key)
            r_has_read.set()
            assert w_is_done.wait(5)
            return row

    store = Store()
    ProductStore.put(store, 1, product(1))
    through = WriteThrough(redis, store, prefix=ns.prefix)
    writer = threading.Thread(target=through.put, args=(1, product(2)))
    writer.start()
    deadline = time.monotonic() + 5
    while redis.get(through.generation_key(1)) is None:
        assert time.monotonic() < deadline, "the writer never bumped the generation"
        time.sleep(0.001)
    reader = threading.Thread(target=through.get, args=(1,))
    reader.start()
    writer.join(5)
    redis.delete(through.key(1))
    w_is_done.set()
    reader.join(5)
    assert not writer.is_alive() and not reader.is_alive()
    assert through.get(1) == store.get(1) == product(2)


@pytest.mark.parametrize(
    "value",
    [
        types.MappingProxyType({"name": "p5", "price_cents": 5, "stock": 1}),
        collections.OrderedDict(name="p5", price_cents=5, stock=1),
        collections.ChainMap({"name": "p5"}, {"price_cents": 5, "stock": 1}),
    ],
    ids=["MappingProxyType", "OrderedDict", "ChainMap"],
)
def test_any_mapping_product_is_saved_and_cached_as_plain_json(redis, ns, value):
    through = WriteThrough(redis, ProductStore(), prefix=ns.prefix)
    through.put(5, product(1))
    through.put(5, value)
    assert through.store.get(5) == product(5)
    assert json.loads(redis.get(through.key(5))) == product(5)
    assert through.get(5) == product(5)


def test_a_put_that_cannot_be_cached_leaves_store_and_cache_unchanged(redis, ns, monkeypatch):
    """Whatever fails before the store is written, neither tier changes."""
    through = WriteThrough(redis, ProductStore(), prefix=ns.prefix, ttl=60)
    through.put(5, product(1))

    def refuse(*args, **kwargs):
        raise TypeError("Object of type Price is not JSON serializable")

    monkeypatch.setattr("scalekit.caches.write_through.json.dumps", refuse)
    with pytest.raises(TypeError):
        through.put(5, product(2))
    monkeypatch.undo()
    assert through.store.get(5) == product(1)
    assert json.loads(redis.get(through.key(5))) == product(1)
    assert 0 < redis.pttl(through.key(5)) <= 60_000


@pytest.mark.parametrize("garbage", ["not json", "[1, 2]", '{"name": "x"}'])
def test_a_corrupt_cache_entry_is_a_miss_that_heals(redis, ns, garbage):
    through = WriteThrough(redis, ProductStore(), prefix=ns.prefix)
    through.put(1, product(1))
    redis.set(through.key(1), garbage)
    assert through.get(1) == product(1)
    assert through.get(1) == product(1)
    assert json.loads(redis.get(through.key(1))) == product(1)


class Killed(BaseException):
    """Stands in for SIGKILL: nothing in the writer runs after it."""


class DiesAfterCommit(ProductStore):
    """A store whose writer process dies right after the database committed, before Redis hears of it."""

    die = False

    def put(self, key: int, value: dict) -> None:
        super().put(key, value)
        if self.die:
            raise Killed

    def delete(self, key: int) -> None:
        super().delete(key)
        if self.die:
            raise Killed


@pytest.mark.parametrize("write", ["put", "delete"])
def test_writer_killed_between_the_store_and_redis_leaves_a_stale_entry_for_at_most_the_lease(
    redis, ns, write
):
    """With ttl=None the old cached value used to outlive such a crash forever."""
    store = DiesAfterCommit()
    through = WriteThrough(redis, store, prefix=ns.prefix, write_lease=0.3)
    through.put(1, product(1))
    store.die = True
    with pytest.raises(Killed):
        if write == "put":
            through.put(1, product(9))
        else:
            through.delete(1)
    store.die = False
    assert 0 < redis.pttl(through.key(1)) <= 300
    assert through.get(1) in (product(1), store.get(1))  # the old value only inside the lease
    time.sleep(0.4)
    assert through.get(1) == store.get(1)
    assert through.get(1) == store.get(1)


def test_no_fill_while_a_write_is_in_flight(redis, ns):
    """A reader that misses after a writer began, reads the old row before the writer's commit and
    fills after it: if the writer then dies before publishing, nothing would ever correct the entry."""

    class ReaderSlipsIn(DiesAfterCommit):
        before_put = None

        def put(self, key: int, value: dict) -> None:
            hook, self.before_put = self.before_put, None
            if hook is not None:
                hook()
            super().put(key, value)

    store = ReaderSlipsIn()
    store.put(1, product(1))
    through = WriteThrough(redis, store, prefix=ns.prefix, write_lease=0.3)
    reader_saw = []
    store.before_put = lambda: reader_saw.append(through.get(1))
    store.die = True
    with pytest.raises(Killed):
        through.put(1, product(2))
    store.die = False
    assert reader_saw == [product(1)]
    assert redis.get(through.key(1)) is None
    time.sleep(0.4)
    assert through.get(1) == product(2) and redis.get(through.key(1)) is not None


def test_a_failed_store_write_gives_the_lease_back_at_once(redis, ns):
    through = WriteThrough(redis, ProductStore(), prefix=ns.prefix)
    through.put(1, product(1))
    assert redis.exists(through.lease_key(1)) == 0
    through.store.down = True
    with pytest.raises(StoreUnavailable):
        through.put(1, product(2))
    with pytest.raises(StoreUnavailable):
        through.delete(1)
    through.store.down = False
    assert redis.exists(through.lease_key(1)) == 0
    assert json.loads(redis.get(through.key(1))) == product(1)
    redis.delete(through.key(1))
    assert through.get(1) == product(1) and redis.get(through.key(1)) is not None


def test_bad_write_lease_is_a_clear_error(redis, ns):
    for lease in (0, -1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="write_lease"):
            WriteThrough(redis, ProductStore(), prefix=ns.prefix, write_lease=lease)
