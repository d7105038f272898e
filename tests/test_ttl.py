"""TTLCache on a SimClock: expiry, LRU eviction, and a stateful test against a dict model."""

from __future__ import annotations

import cachetools
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from scalekit.caches import TTLCache
from scalekit.clock import SimClock

KEYS = st.integers(min_value=0, max_value=6)


def test_entry_lives_exactly_ttl_seconds_and_reads_do_not_extend_it() -> None:
    clock = SimClock()
    cache = TTLCache(10, ttl=5, clock=clock)
    cache.put("a", 1)
    clock.advance(4.9)
    assert cache.get("a") == 1
    clock.advance(0.1)
    assert cache.get("a") is None
    assert (cache.hits, cache.misses, len(cache)) == (1, 1, 0)


def test_put_again_restarts_the_ttl() -> None:
    clock = SimClock()
    cache = TTLCache(10, ttl=5, clock=clock)
    cache.put("a", 1)
    clock.advance(4)
    cache.put("a", 2)
    clock.advance(4)
    assert cache.get("a") == 2


def test_full_cache_drops_expired_entries_before_evicting_live_ones() -> None:
    clock = SimClock()
    cache = TTLCache(2, ttl=10, clock=clock)
    cache.put("old", 1)
    clock.advance(5)
    cache.put("live", 2)
    assert cache.get("old") == 1
    clock.advance(6)
    cache.put("new", 3)
    assert cache.keys() == ["live", "new"]


def test_full_cache_evicts_least_recently_used_live_entry() -> None:
    clock = SimClock()
    cache = TTLCache(2, ttl=100, clock=clock)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.get("a")
    cache.put("c", 3)
    assert cache.keys() == ["a", "c"]


def test_zero_ttl_caches_nothing_and_delete_reports_live_entries_only() -> None:
    clock = SimClock()
    cache = TTLCache(3, ttl=0, clock=clock)
    cache.put("a", 1)
    assert cache.get("a") is None
    assert cache.delete("a") is False


@pytest.mark.parametrize(
    ("capacity", "ttl", "message"),
    [(0, 1, "capacity"), (-2, 1, "capacity"), (2, -1, "ttl must be"), (2, float("nan"), "ttl must be")],
)
def test_bad_arguments_are_clear_errors(capacity: int, ttl: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TTLCache(capacity, ttl, clock=SimClock())


class TTLMachine(RuleBasedStateMachine):
    """The cache against a model: key -> (value, expires_at, last_used_step), on a SimClock."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = SimClock()
        self.capacity, self.ttl = 3, 10.0
        self.cache = TTLCache(self.capacity, self.ttl, clock=self.clock)
        self.model: dict[int, tuple[int, float, int]] = {}
        self.step = 0
        self.hits = self.misses = 0

    def _live(self) -> dict[int, tuple[int, float, int]]:
        now = self.clock.now()
        return {k: entry for k, entry in self.model.items() if now < entry[1]}

    @rule(key=KEYS, value=st.integers())
    def put(self, key: int, value: int) -> None:
        self.step += 1
        self.cache.put(key, value)
        self.model = self._live()
        self.model.pop(key, None)
        if len(self.model) >= self.capacity:
            oldest = min(self.model, key=lambda k: self.model[k][2])
            del self.model[oldest]
        self.model[key] = (value, self.clock.now() + self.ttl, self.step)

    @rule(key=KEYS)
    def get(self, key: int) -> None:
        self.step += 1
        got = self.cache.get(key, "missing")
        live = self._live()
        if key in live:
            value, expires_at, _ = live[key]
            self.model[key] = (value, expires_at, self.step)
            self.hits += 1
            assert got == value
        else:
            self.misses += 1
            assert got == "missing"

    @rule(key=KEYS)
    def delete(self, key: int) -> None:
        assert self.cache.delete(key) is (key in self._live())
        self.model.pop(key, None)

    @rule(seconds=st.sampled_from([0.5, 3.0, 9.99, 10.0, 25.0]))
    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @invariant()
    def same_live_entries_in_recency_order(self) -> None:
        live = self._live()
        assert self.cache.keys() == sorted(live, key=lambda k: live[k][2])
        assert len(self.cache) == len(live) <= self.capacity
        assert (self.cache.hits, self.cache.misses) == (self.hits, self.misses)
        for key in range(7):
            assert (key in self.cache) is (key in live)


TestTTLMachine = TTLMachine.TestCase
TestTTLMachine.settings = settings(max_examples=150, stateful_step_count=40)


@settings(max_examples=150)
@given(
    steps=st.lists(
        st.tuples(KEYS, st.sampled_from([0.0, 0.5, 3.0, 9.99, 10.0, 25.0])), min_size=1, max_size=120
    )
)
def test_same_hits_and_contents_as_cachetools_ttlcache(steps: list[tuple[int, float]]) -> None:
    clock = SimClock()
    ours = TTLCache(3, 10.0, clock=clock)
    theirs = cachetools.TTLCache(3, 10.0, timer=clock.now)
    for key, wait in steps:
        clock.advance(wait)
        our_value, their_value = ours.get(key), theirs.get(key)
        assert our_value == their_value
        if our_value is None:
            ours.put(key, clock.now())
            theirs[key] = clock.now()
    theirs.expire()
    assert sorted(ours.keys()) == sorted(theirs.keys())
