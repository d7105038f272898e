"""OS processes hammering one client's limit on a real Redis never get more through than it allows."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import numpy as np

from scalekit import backend

RATE, BURST, LIMIT, WINDOW = 200.0, 20, 40, 0.25
PROCESSES, SECONDS = 4, 1.5
# A request stamped t1 may reach Redis after one stamped t2 > t1; the limiter then
# charges it at t2. Stamps are taken in the worker, so allow this much reordering.
REORDER = 0.05

WORKER = """
import json, sys, time
from scalekit import backend
from scalekit.limits import GCRA, SlidingLog, TokenBucket

class Stamped:
    def now(self):
        self.last = time.time()
        return self.last
    def sleep(self, seconds):
        time.sleep(seconds)

url, prefix, seconds, rate, burst, limit, window = sys.argv[1], sys.argv[2], *map(float, sys.argv[3:])
client = backend.connect(url)
clock = Stamped()
limiters = {
    "token_bucket": TokenBucket(client, prefix + ":tb", rate, burst, clock=clock),
    "gcra": GCRA(client, prefix + ":gcra", rate, burst, clock=clock),
    "sliding_log": SlidingLog(client, prefix + ":sl", int(limit), window, clock=clock),
}
passed = {name: [] for name in limiters}
checks = 0
stop = time.time() + seconds
while time.time() < stop:
    for name, limiter in limiters.items():
        checks += 1
        if limiter.check("shared").allowed:
            passed[name].append(clock.last)
print(json.dumps({"passed": passed, "checks": checks}))
"""


def _most_in_window(stamps: np.ndarray, window: float) -> int:
    ends = np.searchsorted(stamps, stamps + window, side="left")
    return int((ends - np.arange(stamps.size)).max())


def test_processes_never_beat_the_limit(redis_url):
    client = backend.connect(redis_url)
    space = backend.namespace(f"test-proc-{uuid.uuid4().hex[:12]}", client)
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, redis_url, space.prefix]
            + [str(v) for v in (SECONDS, RATE, BURST, LIMIT, WINDOW)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    try:
        results = [json.loads(w.communicate(timeout=60)[0]) for w in workers]
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
        space.clear()
    assert all(w.returncode == 0 for w in workers)
    checks = sum(r["checks"] for r in results)
    for name in ("token_bucket", "gcra", "sliding_log"):
        stamps = np.sort(np.concatenate([r["passed"][name] for r in results]))
        assert stamps.size > 0
        span = stamps[-1] - stamps[0]
        if name == "sliding_log":
            assert _most_in_window(stamps, WINDOW - REORDER) <= LIMIT, name
            assert stamps.size <= LIMIT * (span / WINDOW + 1) + 1, name
        else:
            assert stamps.size <= BURST + RATE * (span + REORDER), name
            for window in (0.1, 0.25, 1.0):
                assert _most_in_window(stamps, window) <= BURST + RATE * (window + REORDER), (name, window)
    offered_per_limiter = checks / 3
    assert offered_per_limiter > 2 * RATE * SECONDS, (
        "the processes must overload the limit for the test to mean anything"
    )


def test_threads_sharing_one_client_never_beat_the_limit(redis_url):
    """Eight threads, one connection pool: each limiter's own clock reading is the stamp."""
    import threading
    import time

    from scalekit.limits import GCRA, FixedWindow, SlidingLog, TokenBucket

    class Stamped(threading.local):
        def now(self) -> float:
            self.last = time.time()
            return self.last

        def sleep(self, seconds: float) -> None:
            time.sleep(seconds)

    client = backend.connect(redis_url)
    space = backend.namespace(f"test-thr-{uuid.uuid4().hex[:12]}", client)
    clock = Stamped()
    limiters = {
        "token_bucket": TokenBucket(client, space.key("tb"), RATE, BURST, clock=clock),
        "gcra": GCRA(client, space.key("g"), RATE, BURST, clock=clock),
        "sliding_log": SlidingLog(client, space.key("s"), LIMIT, WINDOW, clock=clock),
        "fixed_window": FixedWindow(client, space.key("f"), LIMIT, WINDOW, clock=clock),
    }
    passed: dict[str, list[float]] = {name: [] for name in limiters}
    lock = threading.Lock()
    rounds = []

    def hammer() -> None:
        stop = time.time() + 0.8
        while time.time() < stop:
            rounds.append(1)
            for name, limiter in limiters.items():
                if limiter.check("shared").allowed:
                    with lock:
                        passed[name].append(clock.last)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        space.clear()
    assert len(rounds) > 2 * RATE * 0.8, "the threads must overload the limit for the test to mean anything"
    for name in ("token_bucket", "gcra"):
        stamps = np.sort(passed[name])
        assert stamps.size <= BURST + RATE * (stamps[-1] - stamps[0] + REORDER), name
    log = np.sort(passed["sliding_log"])
    assert _most_in_window(log, WINDOW - REORDER) <= LIMIT
    _, per_window = np.unique(np.floor(np.asarray(passed["fixed_window"]) / WINDOW), return_counts=True)
    assert per_window.max() <= LIMIT
