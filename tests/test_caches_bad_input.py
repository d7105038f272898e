"""Hostile arguments to the Redis cache tiers are clear ValueErrors before anything is written."""

from __future__ import annotations

import math

import pytest

from scalekit.caches import CacheAside, HotCache, ProductStore, WriteBehind, WriteThrough, simulate_stampede
from scalekit.clock import SimClock
from scalekit.sessions import SessionDataError, SessionStore, encode

PRODUCT = {"name": "lamp", "price_cents": 1999, "stock": 3}


@pytest.mark.parametrize("ttl", [1e10, 1e300])
def test_a_ttl_redis_cannot_expire_is_refused_up_front(redis, ns, ttl):
    """Redis refuses SET ... PX 1e300 ("invalid expire time"); the check must come before the store."""
    store = ProductStore()
    with pytest.raises(ValueError, match="at most"):
        CacheAside(redis, store, prefix=ns.prefix, ttl=ttl)
    with pytest.raises(ValueError, match="at most"):
        CacheAside(redis, store, prefix=ns.prefix, negative_ttl=ttl)
    with pytest.raises(ValueError, match="at most"):
        WriteThrough(redis, store, prefix=ns.prefix, ttl=ttl)
    with pytest.raises(ValueError, match="at most"):
        WriteBehind(redis, store, prefix=ns.prefix, ttl=ttl)
    with pytest.raises(ValueError, match="at most"):
        HotCache(redis, prefix=ns.prefix, ttl=ttl)
    assert store.snapshot() == {} and ns.keys() == []


def test_the_longest_accepted_ttl_works_on_the_server(redis, ns):
    store = ProductStore()
    through = WriteThrough(redis, store, prefix=ns.prefix, ttl=1e9)
    through.put(1, PRODUCT)
    assert through.get(1) == PRODUCT and redis.pttl(through.key(1)) > 0


@pytest.mark.parametrize("negative_ttl", ["5", None, [1]])
def test_negative_ttl_of_the_wrong_type_is_a_value_error(redis, ns, negative_ttl):
    with pytest.raises(ValueError, match="negative_ttl must be a number of seconds"):
        CacheAside(redis, ProductStore(), prefix=ns.prefix, negative_ttl=negative_ttl)


@pytest.mark.parametrize("compute_time", [math.nan, math.inf, -1.0, "0.2"])
def test_hot_cache_fill_refuses_a_meaningless_compute_time_and_still_releases_the_lock(
    redis, ns, compute_time
):
    """A NaN delta silently turned XFetch off (NaN never compares as early)."""
    hot = HotCache(redis, prefix=ns.prefix, protection="xfetch+lock", clock=SimClock(), seed=1)
    found = hot.lookup("k")
    assert found.action == "load"
    with pytest.raises(ValueError, match="compute_time"):
        hot.fill("k", 1, compute_time, found.token)
    assert redis.get(hot.lock_key("k")) is None and redis.get(hot.key("k")) is None


@pytest.mark.parametrize("arrivals", [[0.1, math.nan], [0.1, math.inf], [-0.5, 1.0]])
def test_stampede_simulation_refuses_arrivals_it_cannot_replay(redis, ns, arrivals):
    hot = HotCache(redis, prefix=ns.prefix, clock=SimClock())
    with pytest.raises(ValueError, match="finite numbers of seconds >= 0"):
        simulate_stampede(hot, arrivals)


def test_session_ttl_redis_cannot_expire_is_refused_up_front(redis, ns):
    with pytest.raises(ValueError, match="at most"):
        SessionStore(redis, ns.prefix, ttl=1e300)


@pytest.mark.parametrize("data", [{"a": math.nan}, {1: "a"}, {"a": (1, 2)}, ["a"]])
def test_session_data_errors_are_value_errors_too(data):
    with pytest.raises(ValueError):
        encode(data)
    with pytest.raises(TypeError):
        encode(data)
    with pytest.raises(SessionDataError):
        encode(data)


@pytest.mark.parametrize("strategy", [WriteThrough, WriteBehind])
def test_a_key_that_is_not_a_product_id_is_refused_even_when_redis_holds_it(redis, ns, strategy):
    """get("1") answered from Redis when the entry existed and raised only on a miss."""
    cache = strategy(redis, ProductStore(), prefix=ns.prefix)
    cache.put(1, PRODUCT)
    for key in ("1", 1.0, True):
        with pytest.raises(ValueError, match="a product key is an integer id"):
            cache.get(key)


def test_numpy_integer_keys_are_product_ids(redis, ns):
    """Keys drawn from a seeded numpy generator are np.int64, not int: every tier takes them."""
    import numpy as np

    store, clock = ProductStore(), SimClock()
    key = np.int64(7)
    aside = CacheAside(redis, store, prefix=f"{ns.prefix}:a")
    aside.put(key, PRODUCT)
    assert aside.get(key) == PRODUCT and aside.get(key) == PRODUCT and aside.hits == 1
    through = WriteThrough(redis, store, prefix=f"{ns.prefix}:t")
    through.put(np.int32(8), PRODUCT)
    assert through.get(np.uint16(8)) == PRODUCT
    behind = WriteBehind(redis, store, prefix=f"{ns.prefix}:b", clock=clock)
    behind.put(np.int64(9), PRODUCT)
    assert behind.get(np.int64(9)) == PRODUCT
    behind.flush()
    assert store.get(np.int64(9)) == PRODUCT == store.get(9)
    with pytest.raises(ValueError, match="integer id"):
        aside.get(np.float64(7.0))
