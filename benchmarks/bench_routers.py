"""Consistent-hash lookups: scalekit's ConsistentHashRing against uhashring, same keys, same run.

Run: .venv/bin/python benchmarks/bench_routers.py
Times 10 nodes x 160 virtual nodes on the same 100 000 keys. Each repeat times one pass
of each ring back to back, alternating which goes first, so a busy neighbour slows both
alike; the speed ratio is the median of the per-repeat ratios. Then the fraction of keys
each ring moves when an 11th node joins (ideal: 1/11), and the ratios.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from uhashring import HashRing

from scalekit.routers import ConsistentHashRing, moved_fraction

N_KEYS = 100_000
NODES = [f"node-{i}" for i in range(10)]
VNODES = 160
REPEATS = 9


def pass_seconds(lookup: Callable[[str], object], keys: list[str]) -> float:
    """Seconds for one lookup of every key."""
    start = time.perf_counter()
    for key in keys:
        lookup(key)
    return time.perf_counter() - start


def paired_timings(
    ours: Callable[[str], object], theirs: Callable[[str], object], keys: list[str]
) -> tuple[list[float], list[float]]:
    """``REPEATS`` pass times of each lookup, taken in pairs that alternate which runs first."""
    pass_seconds(ours, keys[:1000])
    pass_seconds(theirs, keys[:1000])
    ours_s, theirs_s = [], []
    for repeat in range(REPEATS):
        if repeat % 2 == 0:
            ours_s.append(pass_seconds(ours, keys))
            theirs_s.append(pass_seconds(theirs, keys))
        else:
            theirs_s.append(pass_seconds(theirs, keys))
            ours_s.append(pass_seconds(ours, keys))
    return ours_s, theirs_s


def main() -> None:
    keys = [f"user:{i}" for i in range(N_KEYS)]
    ours = ConsistentHashRing(NODES, vnodes=VNODES)
    theirs = HashRing(NODES, vnodes=VNODES)
    ours_s, theirs_s = paired_timings(ours.node_for, theirs.get_node, keys)
    ratios = [t / o for o, t in zip(ours_s, theirs_s, strict=True)]

    ours_after = ConsistentHashRing(NODES, vnodes=VNODES)
    ours_after.add_node("node-10")
    theirs_after = HashRing(NODES, vnodes=VNODES)
    theirs_after.add_node("node-10")
    ours_moved = moved_fraction(keys, ours.node_for, ours_after.node_for)
    theirs_moved = moved_fraction(keys, theirs.get_node, theirs_after.get_node)
    ideal = 1 / (len(NODES) + 1)

    print(f"{N_KEYS:,} keys, {len(NODES)} nodes x {VNODES} vnodes, {REPEATS} paired repeats")
    print(f"{'ring':<34}{'lookups/s (best)':>18}{'moved on +1 node':>20}")
    print(f"{'scalekit ConsistentHashRing':<34}{N_KEYS / min(ours_s):>18,.0f}{ours_moved:>20.4f}")
    print(f"{'uhashring HashRing':<34}{N_KEYS / min(theirs_s):>18,.0f}{theirs_moved:>20.4f}")
    print(f"{'ideal 1/(n+1)':<34}{'':>18}{ideal:>20.4f}")
    print(
        f"ratio lookups/s scalekit / uhashring: median {statistics.median(ratios):.2f}x "
        f"(range {min(ratios):.2f}-{max(ratios):.2f} over {REPEATS} pairs; target >= 1.3x)"
    )
    print(f"ratio moved / ideal: scalekit {ours_moved / ideal:.3f}, uhashring {theirs_moved / ideal:.3f}")


if __name__ == "__main__":
    main()
