"""Benchmark: scalekit's Redis rate limiters against the `limits` package on the same server.

Two measurements, both on the real server named by ``$REDIS_URL`` (the `limits` package
speaks to Redis through its own client, so the embedded fakeredis cannot host it):

* **checks per second**: CHECKS checks per strategy spread over CLIENTS client ids, one
  round trip each, in ROUNDS rounds that take the strategies of both libraries in turns;
  each strategy keeps its best round, so a busy machine slows both alike. Each scalekit
  strategy is divided by its counterpart in `limits` (fixed window by fixed window, sliding
  log by moving window; `limits` has no token bucket or GCRA, so those are divided by its
  cheapest strategy, the fixed window). The aim is at least 0.9x.
* **worst overshoot**: one client follows a seeded bursty schedule in real time (a steady
  trickle plus bursts) for SECONDS seconds against every limiter at once, each allowing
  LIMIT requests per WINDOW seconds; the table shows the most requests let through in any
  WINDOW seconds, divided by LIMIT. A token bucket's bound is (burst + rate x window) / limit
  = 2 by design; windows and logs promise 1, fixed windows break it at a boundary.

Keys live under prefixes unique to this run and are deleted afterwards. Run:

    REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python benchmarks/bench_limits.py
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections.abc import Callable
from typing import NoReturn

import numpy as np

from scalekit import backend
from scalekit.limits import GCRA, FixedWindow, SlidingLog, TokenBucket

CHECKS = 20_000
CLIENTS = 1_000
ROUNDS = 50
LIMIT, WINDOW = 50, 1.0
SECONDS = 6.0
SEED = 2026


def skip(reason: str) -> NoReturn:
    """Say why the comparison cannot run and stop without failing `make bench`."""
    print(f"bench_limits skipped: {reason}")
    sys.exit(0)


def require_limits():
    try:
        import limits  # noqa: F401
        from limits import RateLimitItemPerSecond, strategies
        from limits.storage import RedisStorage
    except ImportError:
        skip(
            "the `limits` package is not installed, so there is nothing to compare with. "
            "Install it with `.venv/bin/pip install 'limits[redis]'`."
        )
    return RateLimitItemPerSecond, strategies, RedisStorage


def checkers(client, url: str, prefix: str, limit: int, window: float):
    """name -> check(client_id) -> bool, for scalekit's four limiters and the three of `limits`."""
    item_class, strategies, storage_class = require_limits()
    item = item_class(limit, int(window))
    storages = [storage_class(url, key_prefix=f"{prefix}-limits-{n}") for n in range(3)]
    ours = {
        "scalekit fixed window": FixedWindow(client, f"{prefix}:fw", limit, window),
        "scalekit sliding log": SlidingLog(client, f"{prefix}:sl", limit, window),
        "scalekit token bucket": TokenBucket(client, f"{prefix}:tb", limit / window, limit),
        "scalekit GCRA": GCRA(client, f"{prefix}:gcra", limit / window, limit),
    }
    theirs = {
        "limits fixed window": strategies.FixedWindowRateLimiter(storages[0]),
        "limits moving window": strategies.MovingWindowRateLimiter(storages[1]),
        "limits sliding window counter": strategies.SlidingWindowCounterRateLimiter(storages[2]),
    }
    table: dict[str, Callable[[str], bool]] = {
        name: (lambda who, limiter=limiter: limiter.check(who).allowed) for name, limiter in ours.items()
    }
    table.update(
        {name: (lambda who, limiter=limiter: limiter.hit(item, who)) for name, limiter in theirs.items()}
    )
    return table, storages


COUNTERPART = {
    "scalekit fixed window": "limits fixed window",
    "scalekit sliding log": "limits moving window",
    "scalekit token bucket": "limits fixed window",
    "scalekit GCRA": "limits fixed window",
}


def checks_per_second(table: dict[str, Callable[[str], bool]]) -> dict[str, float]:
    """Best rate of each strategy over ROUNDS rounds of CHECKS // ROUNDS checks, taken in turns."""
    order = [f"c{n % CLIENTS}" for n in range(CHECKS // ROUNDS)]
    names = list(table)
    best = dict.fromkeys(table, 0.0)
    for round_number in range(ROUNDS):
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            check = table[name]
            started = time.perf_counter()
            for client_id in order:
                check(client_id)
            best[name] = max(best[name], len(order) / (time.perf_counter() - started))
    return best


def schedule(seed: int = SEED) -> np.ndarray:
    """Seconds from the start: a trickle at half the limit plus bursts of 1.5x the limit in 50 ms."""
    rng = np.random.default_rng(seed)
    trickle = rng.uniform(0, SECONDS, int(SECONDS * LIMIT / WINDOW / 2))
    starts = rng.uniform(0, SECONDS - 0.05, 8)
    bursts = (starts[:, None] + rng.uniform(0, 0.05, (starts.size, int(1.5 * LIMIT)))).ravel()
    return np.sort(np.concatenate([trickle, bursts]))


def worst_overshoot(table: dict[str, Callable[[str], bool]]) -> dict[str, float]:
    passed: dict[str, list[float]] = {name: [] for name in table}
    start = time.time()
    for offset in schedule().tolist():
        pause = start + offset - time.time()
        if pause > 0:
            time.sleep(pause)
        for name, check in table.items():
            stamp = time.time()
            if check("burster"):
                passed[name].append(stamp)
    worst = {}
    for name, stamps in passed.items():
        times = np.asarray(stamps)
        ends = np.searchsorted(times, times + WINDOW, side="left")
        worst[name] = float((ends - np.arange(times.size)).max()) / LIMIT if times.size else 0.0
    return worst


def main() -> None:
    url = os.environ.get(backend.ENV_VAR)
    require_limits()
    if not url:
        skip(
            "set REDIS_URL to a real Redis server (e.g. redis://127.0.0.1:6379/0); "
            "the `limits` package cannot use the embedded fakeredis."
        )
    client = backend.connect(url)
    prefix = f"bench-limits-{uuid.uuid4().hex[:12]}"
    spaces = [backend.namespace(prefix, client), backend.namespace(prefix + "-burst", client)]
    table, storages = checkers(client, url, prefix, 10**9, 1.0)
    limited, more_storages = checkers(client, url, prefix + "-burst", LIMIT, WINDOW)
    try:
        rates = checks_per_second(table)
        overshoot = worst_overshoot(limited)
    finally:
        for space in spaces:
            space.clear()
        for storage in storages + more_storages:
            storage.reset()
    print(
        f"{CHECKS:,} checks per strategy over {CLIENTS:,} clients, best of {ROUNDS} rounds; "
        f"overshoot over {SECONDS:g} s "
        f"of bursty traffic against {LIMIT} per {WINDOW:g} s\n"
    )
    print(f"{'strategy':32} {'checks/s':>10} {'worst in any window / limit':>29}")
    for name in table:
        print(f"{name:32} {rates[name]:10,.0f} {overshoot[name]:29.2f}")
    print("\nscalekit / limits, checks per second (aim >= 0.9x):")
    for ours, theirs in COUNTERPART.items():
        print(f"  {ours:24} / {theirs:22} {rates[ours] / rates[theirs]:5.2f}x")


if __name__ == "__main__":
    main()
