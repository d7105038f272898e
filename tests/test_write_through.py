"""WriteThrough: store and cache both updated before a write returns; a store failure changes nothing."""

from __future__ import annotations

import json
import uuid

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from scalekit.caches.store import ProductStore, StoreUnavailable
from scalekit.caches.write_through import WriteThrough


def product(price: int) -> dict:
    return {"name": f"p{price}", "price_cents": price, "stock": 1}


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


def test_stateful_with_a_failing_store(redis, ns):
    """Whatever Redis holds for a product is what the store holds; reads return the model."""

    class ThroughMachine(RuleBasedStateMachine):
        @initialize()
        def start(self) -> None:
            self.store = ProductStore()
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
