"""Benchmark: scalekit's Redis rate limiters against the `limits` package on the same server.

Two measurements, both on the real server named by ``$REDIS_URL`` (the `limits` package
speaks to Redis through its own client, so the embedded fakeredis cannot host it):

* **checks per second**: CHECKS checks per strategy spread over CLIENTS client ids, one
  round trip each, in ROUNDS rounds that take the strategies of both libraries in turns,
  through clients with the same settings (replies as bytes). The table shows each
  strategy's best and median round. Each scalekit strategy is divided by its counterpart
  in `limits` (fixed window by fixed window, sliding log by moving window; `limits` has
  no token bucket or GCRA, so those are divided by its cheapest strategy, the fixed
  window: a different algorithm, compared for cost only). Two controls measured in the
  same turns say how far to trust a ratio: `limits`' fixed window a second time (its
  ratio to itself is the noise of this machine) and a Lua script that does nothing (the
  cost of the round trip alone, the ceiling for any one-call limiter). The aim is at
  least 0.9x.
* **worst overshoot**: one client follows a seeded bursty schedule in real time (a steady
  trickle plus bursts) for SECONDS seconds against every limiter at once, each allowing
  LIMIT requests per WINDOW seconds; the table shows the most requests let through in any
  WINDOW seconds, divided by LIMIT, beside what each rule promises. A token bucket's bound
  is (burst + rate x window) / limit = 2 by design; logs promise 1; fixed windows allow up
  to 2 across a boundary; a sliding window counter estimates the last window from two
  counters, so it promises no exact bound.

Keys live under prefixes unique to this run and are deleted afterwards. Run:

    REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python benchmarks/bench_limits.py
"""

from __future__ import annotations

import os
import statistics
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
    storages = [storage_class(url, key_prefix=f"{prefix}-limits-{n}") for n in range(4)]
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
        CONTROL: strategies.FixedWindowRateLimiter(storages[3]),
    }
    table: dict[str, Callable[[str], bool]] = {
        name: (lambda who, limiter=limiter: limiter.check(who).allowed) for name, limiter in ours.items()
    }
    table.update(
        {name: (lambda who, limiter=limiter: limiter.hit(item, who)) for name, limiter in theirs.items()}
    )
    nothing = client.script_load("return 1")
    table[ROUND_TRIP] = lambda who: client.evalsha(nothing, 1, f"{prefix}:nothing:{who}")
    return table, storages


CONTROL = "limits fixed window, again"
ROUND_TRIP = "a Lua script doing nothing"
PROMISE = {
    "scalekit fixed window": "2",
    "scalekit sliding log": "1",
    "scalekit token bucket": "2",
    "scalekit GCRA": "2",
    "limits fixed window": "2",
    "limits moving window": "1",
    "limits sliding window counter": "none",
    CONTROL: "2",
    ROUND_TRIP: "",
}
COUNTERPART = {
    "scalekit fixed window": "limits fixed window",
    "scalekit sliding log": "limits moving window",
    "scalekit token bucket": "limits fixed window",
    "scalekit GCRA": "limits fixed window",
    CONTROL: "limits fixed window",
}


def checks_per_second(table: dict[str, Callable[[str], bool]]) -> dict[str, list[float]]:
    """Each strategy's rate in each of ROUNDS rounds of CHECKS // ROUNDS checks, taken in turns."""
    order = [f"c{n % CLIENTS}" for n in range(CHECKS // ROUNDS)]
    names = list(table)
    rates: dict[str, list[float]] = {name: [] for name in table}
    for round_number in range(ROUNDS):
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            check = table[name]
            started = time.perf_counter()
            for client_id in order:
                check(client_id)
            rates[name].append(len(order) / (time.perf_counter() - started))
    return rates


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
    client = backend.connect(url, decode_responses=False)
    prefix = f"bench-limits-{uuid.uuid4().hex[:12]}"
    spaces = [backend.namespace(prefix, client), backend.namespace(prefix + "-burst", client)]
    table, storages = checkers(client, url, prefix, 10**9, 1.0)
    limited, more_storages = checkers(client, url, prefix + "-burst", LIMIT, WINDOW)
    del limited[CONTROL], limited[ROUND_TRIP]
    try:
        rates = checks_per_second(table)
        overshoot = worst_overshoot(limited)
    finally:
        for space in spaces:
            space.clear()
        for storage in storages + more_storages:
            storage.reset()
    print(
        f"{CHECKS:,} checks per strategy over {CLIENTS:,} clients in {ROUNDS} rounds; "
        f"overshoot over {SECONDS:g} s "
        f"of bursty traffic against {LIMIT} per {WINDOW:g} s\n"
    )
    best = {name: max(values) for name, values in rates.items()}
    middle = {name: statistics.median(values) for name, values in rates.items()}
    head = f"{'strategy':30} {'checks/s best':>13} {'median':>8} {'worst window / limit':>21} {'promised':>9}"
    print(head)
    for name in table:
        worst = f"{overshoot[name]:.2f}" if name in overshoot else ""
        print(f"{name:30} {best[name]:13,.0f} {middle[name]:8,.0f} {worst:>21} {PROMISE[name]:>9}")
    print("\nratios of checks per second, best round / median round (aim >= 0.9x):")
    for ours, theirs in COUNTERPART.items():
        label = "noise: limits fixed window / itself" if ours == CONTROL else f"{ours} / {theirs}"
        print(f"  {label:52} {best[ours] / best[theirs]:5.2f}x / {middle[ours] / middle[theirs]:5.2f}x")
    print(
        f"  {'round trip: scalekit fixed window / empty script':52} "
        f"{best['scalekit fixed window'] / best[ROUND_TRIP]:5.2f}x / "
        f"{middle['scalekit fixed window'] / middle[ROUND_TRIP]:5.2f}x"
    )
    print(
        "a ratio no further from 1 than the noise line is a tie on this machine; "
        "the empty script is the most any one-call limiter can do"
    )


if __name__ == "__main__":
    main()
