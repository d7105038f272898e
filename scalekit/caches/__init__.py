"""Caches: in-process LRU and TTL caches, hit-ratio curves and a multi-level cache model.

``LRUCache`` and ``TTLCache`` live in the process; ``lru_hit_ratio_curve`` gives the
LRU hit ratio of a trace at every cache size in one pass, and ``che_hit_ratio``
predicts it from key popularities alone; ``CacheHierarchy`` models browser -> CDN ->
Redis -> database.
"""

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
from scalekit.caches.ttl import TTLCache

__all__ = [
    "COLD",
    "OUTLINE_HIERARCHY",
    "CacheHierarchy",
    "CacheLevel",
    "LRUCache",
    "TTLCache",
    "che_hit_ratio",
    "che_size_for_hit_ratio",
    "lru_hit_ratio_curve",
    "simulate_lru",
    "stack_distances",
]
