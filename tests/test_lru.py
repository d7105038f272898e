"""LRUCache: behaviour, a stateful test against a list model, and a differential test vs cachetools."""

from __future__ import annotations

import cachetools
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from scalekit.caches import LRUCache

KEYS = st.integers(min_value=0, max_value=9)


def test_evicts_least_recently_used_not_least_recently_inserted() -> None:
    cache = LRUCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1
    cache.put("c", 3)
    assert "b" not in cache
    assert cache.keys() == ["a", "c"]


def test_counts_hits_and_misses_and_returns_default() -> None:
    cache = LRUCache(1)
    assert cache.get("x", "fallback") == "fallback"
    cache.put("x", 0)
    assert cache.get("x", "fallback") == 0
    assert (cache.hits, cache.misses, cache.hit_ratio) == (1, 1, 0.5)


def test_put_of_existing_key_updates_value_without_eviction() -> None:
    cache = LRUCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.put("a", 10)
    assert len(cache) == 2
    assert cache.keys() == ["b", "a"]
    assert cache.get("a") == 10


def test_delete_reports_whether_key_was_there() -> None:
    cache = LRUCache(3)
    cache.put("a", 1)
    assert cache.delete("a") is True
    assert cache.delete("a") is False
    assert len(cache) == 0


@pytest.mark.parametrize("capacity", [0, -1, 1.5, "3", True, None])
def test_bad_capacity_is_a_clear_error(capacity: object) -> None:
    with pytest.raises(ValueError, match="capacity must be a whole number >= 1"):
        LRUCache(capacity)  # type: ignore[arg-type]


class LRUMachine(RuleBasedStateMachine):
    """The cache against a model: a list of (key, value), least recently used first."""

    def __init__(self) -> None:
        super().__init__()
        self.capacity = 3
        self.cache = LRUCache(self.capacity)
        self.model: list[tuple[int, int]] = []
        self.hits = self.misses = 0

    def _find(self, key: int) -> int | None:
        return next((i for i, (k, _) in enumerate(self.model) if k == key), None)

    @rule(key=KEYS, value=st.integers())
    def put(self, key: int, value: int) -> None:
        self.cache.put(key, value)
        index = self._find(key)
        if index is not None:
            self.model.pop(index)
        elif len(self.model) == self.capacity:
            self.model.pop(0)
        self.model.append((key, value))

    @rule(key=KEYS)
    def get(self, key: int) -> None:
        got = self.cache.get(key, "missing")
        index = self._find(key)
        if index is None:
            self.misses += 1
            assert got == "missing"
        else:
            self.hits += 1
            entry = self.model.pop(index)
            self.model.append(entry)
            assert got == entry[1]

    @rule(key=KEYS)
    def delete(self, key: int) -> None:
        index = self._find(key)
        assert self.cache.delete(key) is (index is not None)
        if index is not None:
            self.model.pop(index)

    @invariant()
    def same_contents_in_same_order(self) -> None:
        assert list(self.cache.items()) == self.model
        assert len(self.cache) == len(self.model) <= self.capacity
        assert (self.cache.hits, self.cache.misses) == (self.hits, self.misses)


TestLRUMachine = LRUMachine.TestCase
TestLRUMachine.settings = settings(max_examples=150, stateful_step_count=40)


@settings(max_examples=150)
@given(capacity=st.integers(1, 8), trace=st.lists(st.integers(0, 15), max_size=200))
def test_same_hits_and_contents_as_cachetools(capacity: int, trace: list[int]) -> None:
    ours, theirs = LRUCache(capacity), cachetools.LRUCache(capacity)
    our_hits, their_hits = [], []
    for step, key in enumerate(trace):
        our_value, their_value = ours.get(key), theirs.get(key)
        our_hits.append(our_value is not None)
        their_hits.append(their_value is not None)
        assert our_value == their_value
        if our_value is None:
            ours.put(key, step)
        if their_value is None:
            theirs[key] = step
    assert our_hits == their_hits
    assert dict(ours.items()) == dict(theirs.items())


def test_copies_and_pickles_are_independent_caches():
    import copy
    import pickle

    original = LRUCache(3)
    for key in "abc":
        original.put(key, [key])
    original.get("a")
    for twin in (copy.copy(original), copy.deepcopy(original), pickle.loads(pickle.dumps(original))):
        assert twin.keys() == original.keys() == ["b", "c", "a"]
        assert (twin.hits, twin.misses) == (original.hits, original.misses)
        twin.put("z", ["z"])
        twin.get("b")
        assert original.keys() == ["b", "c", "a"] and original.hits == 1
    assert copy.deepcopy(original).get("a") is not original.get("a")


def test_subclass_overriding_get_is_refused_with_a_reason():
    with pytest.raises(TypeError, match="wrap an LRUCache"):

        class Counting(LRUCache):
            def get(self, key, default=None):
                return super().get(key, default)
