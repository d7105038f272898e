"""Consistent-hash lookups: scalekit's ConsistentHashRing against uhashring, same keys, same run.

Run: .venv/bin/python benchmarks/bench_routers.py
Prints lookups per second (best of several repeats) for 10 nodes x 160 virtual nodes on
the same 100 000 keys, then the fraction of keys each ring moves when an 11th node joins
(ideal: 1/11), and ends with the ratios.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from uhashring import HashRing

from scalekit.routers import ConsistentHashRing, moved_fraction

N_KEYS = 100_000
NODES = [f"node-{i}" for i in range(10)]
VNODES = 160
REPEATS = 5


def best_rate(lookup: Callable[[str], object], keys: list[str]) -> float:
    """Lookups per second, best of ``REPEATS`` passes over ``keys``."""
    best = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        for key in keys:
            lookup(key)
        best = min(best, time.perf_counter() - start)
    return len(keys) / best


def main() -> None:
    keys = [f"user:{i}" for i in range(N_KEYS)]
    ours = ConsistentHashRing(NODES, vnodes=VNODES)
    theirs = HashRing(NODES, vnodes=VNODES)
    ours_rate = best_rate(ours.node_for, keys)
    theirs_rate = best_rate(theirs.get_node, keys)

    ours_after = ConsistentHashRing(NODES, vnodes=VNODES)
    ours_after.add_node("node-10")
    theirs_after = HashRing(NODES, vnodes=VNODES)
    theirs_after.add_node("node-10")
    ours_moved = moved_fraction(keys, ours.node_for, ours_after.node_for)
    theirs_moved = moved_fraction(keys, theirs.get_node, theirs_after.get_node)
    ideal = 1 / (len(NODES) + 1)

    print(f"{N_KEYS:,} keys, {len(NODES)} nodes x {VNODES} vnodes, best of {REPEATS}")
    print(f"{'ring':<34}{'lookups/s':>14}{'moved on +1 node':>20}")
    print(f"{'scalekit ConsistentHashRing':<34}{ours_rate:>14,.0f}{ours_moved:>20.4f}")
    print(f"{'uhashring HashRing':<34}{theirs_rate:>14,.0f}{theirs_moved:>20.4f}")
    print(f"{'ideal 1/(n+1)':<34}{'':>14}{ideal:>20.4f}")
    print(f"ratio lookups/s scalekit / uhashring: {ours_rate / theirs_rate:.2f}x (target >= 1.3x)")
    print(f"ratio moved / ideal: scalekit {ours_moved / ideal:.3f}, uhashring {theirs_moved / ideal:.3f}")


if __name__ == "__main__":
    main()
