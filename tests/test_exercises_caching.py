"""The checks of notebook 05's exercises: right answers pass, typical wrong ones get a reason."""

from __future__ import annotations

from collections import OrderedDict

import pytest

from scalekit.exercises import caching as checks
from scalekit.workload import zipf_trace

TRACE = zipf_trace(500, 20_000, 1.0, seed=11)


# ---------------------------------------------------------------- sizing


def test_cache_size_right_answer_does_not_restate_it():
    size = checks.smallest_size_for(TRACE, 0.9, warmup=5_000)
    feedback = checks.check_cache_size(size, TRACE, 0.9, warmup=5_000)
    assert feedback and f"{size}" not in feedback.message and f"{size:,}" not in feedback.message


@pytest.mark.parametrize("offset", [-1, 1, 50])
def test_cache_size_off_by_some(offset):
    size = checks.smallest_size_for(TRACE, 0.9, warmup=5_000)
    feedback = checks.check_cache_size(size + offset, TRACE, 0.9, warmup=5_000)
    assert not feedback
    assert ("short of" in feedback.message) if offset < 0 else ("smaller cache" in feedback.message)


def test_cache_size_measured_without_the_warmup_is_told_so():
    cold = checks.smallest_size_for(TRACE, 0.9)
    assert cold != checks.smallest_size_for(TRACE, 0.9, warmup=5_000)
    feedback = checks.check_cache_size(cold, TRACE, 0.9, warmup=5_000)
    assert not feedback and "warmup=5000" in feedback.message


@pytest.mark.parametrize("answer", [0.9, "100", -3, True, None, ...])
def test_cache_size_wrong_kinds(answer):
    feedback = checks.check_cache_size(answer, TRACE, 0.9, warmup=5_000)
    assert not feedback and repr(feedback).startswith("Not yet")


# ---------------------------------------------------------------- build it: LRU


class RightLRU:
    def __init__(self, capacity):
        self.capacity, self.data = capacity, OrderedDict()

    def get(self, key):
        if key not in self.data:
            return None
        self.data.move_to_end(key)
        return self.data[key]

    def put(self, key, value):
        self.data[key] = value
        self.data.move_to_end(key)
        if len(self.data) > self.capacity:
            self.data.popitem(last=False)


class FIFO(RightLRU):
    """Forgets to refresh a key on a hit: first in, first out."""

    def get(self, key):
        return self.data.get(key)


class StalePut(RightLRU):
    """A put of a key already cached keeps the old value."""

    def put(self, key, value):
        if key not in self.data:
            super().put(key, value)
        else:
            self.data.move_to_end(key)


class OneTooMany(RightLRU):
    """Evicts only when the cache holds more than capacity + 1 keys."""

    def put(self, key, value):
        self.data[key] = value
        self.data.move_to_end(key)
        if len(self.data) > self.capacity + 1:
            self.data.popitem(last=False)


class EvictsNewest(RightLRU):
    def put(self, key, value):
        if key not in self.data and len(self.data) >= self.capacity:
            self.data.popitem(last=True)
        self.data[key] = value
        self.data.move_to_end(key)


class PutDoesNotRefresh(RightLRU):
    """Updates a cached key's value in place, without making it the most recent."""

    def put(self, key, value):
        if key in self.data:
            self.data[key] = value
        else:
            super().put(key, value)


class Stub:
    def __init__(self, capacity): ...

    def get(self, key): ...

    def put(self, key, value): ...


class Raises(RightLRU):
    def get(self, key):
        return self.data[key]


class MinusOneOnMiss(RightLRU):
    """The LeetCode convention: -1 for a missing key."""

    def get(self, key):
        found = super().get(key)
        return -1 if found is None else found


class EvictsBeforeCheckingPresence(RightLRU):
    """A full cache evicts even when the put only updates a key it holds."""

    def put(self, key, value):
        if len(self.data) >= self.capacity:
            self.data.popitem(last=False)
        self.data[key] = value
        self.data.move_to_end(key)


class SharedByTheClass(RightLRU):
    """Keeps its entries on the class: every new cache starts with the last one's entries."""

    data = OrderedDict()  # noqa: RUF012 (shared on purpose: the bug under test)

    def __init__(self, capacity):
        self.capacity = capacity


class LeastFrequentlyUsed(RightLRU):
    def __init__(self, capacity):
        super().__init__(capacity)
        self.uses = {}

    def get(self, key):
        if key in self.data:
            self.uses[key] += 1
        return self.data.get(key)

    def put(self, key, value):
        if key not in self.data and len(self.data) >= self.capacity:
            victim = min(self.data, key=self.uses.__getitem__)
            del self.data[victim], self.uses[victim]
        self.data[key] = value
        self.uses[key] = self.uses.get(key, 0) + 1


class RightOnlyWhenSmall(RightLRU):
    """Right up to 16 entries, then behaves as if the capacity were 16: passes every small case."""

    def put(self, key, value):
        super().put(key, value)
        while len(self.data) > min(self.capacity, 16):
            self.data.popitem(last=False)


class RefreshesOnlyOnTheFirstHit(RightLRU):
    def __init__(self, capacity):
        super().__init__(capacity)
        self.refreshed = set()

    def get(self, key):
        if key in self.data and key in self.refreshed:
            return self.data[key]
        self.refreshed.add(key)
        return super().get(key)


class ArrayValues(RightLRU):
    """Returns a numpy array, whose == is not a bool: the check must not crash on it."""

    def get(self, key):
        import numpy as np

        found = super().get(key)
        return None if found is None else np.array([found, found])


class EqualsEverything(RightLRU):
    class Anything:
        def __eq__(self, other):
            return True

        def __ne__(self, other):
            return False

        __hash__ = object.__hash__

    def get(self, key):
        return self.Anything()


def test_lru_right_implementation_is_correct():
    feedback = checks.check_lru(RightLRU)
    assert feedback, feedback.message
    assert "OrderedDict" not in feedback.message and "move_to_end" not in feedback.message


@pytest.mark.parametrize(
    ("broken", "says"),
    [
        (FIFO, "should still be cached"),
        (StalePut, "latest put"),
        (OneTooMany, "evicted"),
        (EvictsNewest, "should"),
        (PutDoesNotRefresh, "should"),
        (Stub, "should still be cached"),
        (Raises, "raised KeyError"),
        (MinusOneOnMiss, "get should return None, got -1"),
        (EvictsBeforeCheckingPresence, "should still be cached"),
        (SharedByTheClass, "not shared by the class"),
        (LeastFrequentlyUsed, "should"),
        (RightOnlyWhenSmall, "each get that returned None was followed by a put"),
        (RefreshesOnlyOnTheFirstHit, "should still be cached"),
        (ArrayValues, "array("),
        (EqualsEverything, "get should return None"),
    ],
)
def test_lru_broken_implementations_get_a_concrete_failing_example(broken, says):
    feedback = checks.check_lru(broken)
    assert not feedback
    assert says in feedback.message and "with capacity" in feedback.message
    assert "get(" in feedback.message


@pytest.mark.parametrize("answer", [None, ..., 3, "LRU"])
def test_lru_non_classes(answer):
    assert not checks.check_lru(answer)


def test_lru_cases_are_seeded_and_start_small():
    first, again = checks.lru_cases(), checks.lru_cases()
    assert first == again
    assert len(first[0][1]) == 2 and len(first[-1][1]) == 4_000


# ---------------------------------------------------------------- judgement: strategies

RIGHT = {"catalogue": "cache-aside", "flash sale": "write-behind", "settings": "write-through"}


def test_strategies_right_answer_does_not_name_the_strategies():
    feedback = checks.check_strategies(RIGHT)
    assert feedback
    assert not any(name in feedback.message for name in checks.STRATEGIES)
    assert checks.check_strategies({k: v.upper() for k, v in RIGHT.items()})
    assert checks.check_strategies({k: f" {v.replace('-', ' ').title()} " for k, v in RIGHT.items()})
    assert checks.check_strategies({k: v.replace("-", "_") for k, v in RIGHT.items()})


@pytest.mark.parametrize(
    ("scenario", "choice", "reason"),
    [
        ("catalogue", "write-through", "memory"),
        ("catalogue", "write-behind", "only in Redis"),
        ("flash sale", "cache-aside", "500/s"),
        ("flash sale", "write-through", "10x"),
        ("settings", "cache-aside", "miss"),
        ("settings", "write-behind", "restart"),
    ],
)
def test_each_wrong_strategy_is_explained(scenario, choice, reason):
    feedback = checks.check_strategies({**RIGHT, scenario: choice})
    assert not feedback
    assert reason in feedback.message and f"'{scenario}'" in feedback.message
    assert all(f"'{other}'" not in feedback.message for other in RIGHT if other != scenario)


def test_all_the_same_strategy_is_wrong_twice():
    feedback = checks.check_strategies(dict.fromkeys(RIGHT, "write-through"))
    assert not feedback and "'catalogue'" in feedback.message and "'flash sale'" in feedback.message


@pytest.mark.parametrize(
    "answer",
    [
        None,
        ...,
        ["cache-aside"],
        {"catalogue": ..., "flash sale": ..., "settings": ...},
        {**RIGHT, "settings": "write-around"},
        {**RIGHT, "search": "cache-aside"},
        {"catalogue": "cache-aside"},
    ],
)
def test_strategies_unfinished_or_malformed(answer):
    feedback = checks.check_strategies(answer)
    assert not feedback and repr(feedback).startswith("Not yet")
