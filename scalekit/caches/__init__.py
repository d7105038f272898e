"""Caches: in-process LRU and TTL caches, Redis caching strategies, hit-ratio curves, hierarchies.

``LRUCache`` and ``TTLCache`` live in the process. ``CacheAside``, ``WriteThrough`` and
``WriteBehind`` keep Redis in front of a SQLite ``ProductStore``; ``HotCache`` and the
lock helpers stop cache stampedes. ``lru_hit_ratio_curve`` gives the LRU hit ratio of
a trace at every cache size in one pass, ``che_hit_ratio`` predicts it from key
popularities alone, and ``CacheHierarchy`` models browser -> CDN -> Redis -> database.
"""

from scalekit.caches.aside import CacheAside
from scalekit.caches.hit_ratio import (
    COLD,
    che_hit_ratio,
    che_size_for_hit_ratio,
    lru_hit_ratio_curve,
    simulate_lru,
    stack_distances,
)
from scalekit.caches.lru import LRUCache
from scalekit.caches.multilevel import OUTLINE_HIERARCHY, CacheHierarchy, CacheLevel
from scalekit.caches.stampede import HotCache, acquire_lock, release_lock, simulate_stampede
from scalekit.caches.store import ProductStore, StoreUnavailable
from scalekit.caches.ttl import TTLCache
from scalekit.caches.write_behind import BacklogFull, WriteBehind
from scalekit.caches.write_through import WriteThrough

__all__ = [
    "COLD",
    "OUTLINE_HIERARCHY",
    "BacklogFull",
    "CacheAside",
    "CacheHierarchy",
    "CacheLevel",
    "HotCache",
    "LRUCache",
    "ProductStore",
    "StoreUnavailable",
    "TTLCache",
    "WriteBehind",
    "WriteThrough",
    "acquire_lock",
    "che_hit_ratio",
    "che_size_for_hit_ratio",
    "lru_hit_ratio_curve",
    "release_lock",
    "simulate_lru",
    "simulate_stampede",
    "stack_distances",
]
