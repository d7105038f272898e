"""The outline's scaling checklist as a function: audit an architecture, get the next steps.

:func:`audit` answers each of the eight questions from facts about the system (where
sessions live, the cache hit ratio, the database's load and capacity, the query plans,
the autoscaling group, the slow work inside requests, the load tests, the metrics) with
the same models the course teaches, and returns every unchecked item with its next step
written out in full, numbers included.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields

import pandas as pd

from scalekit import models
from scalekit.routers import replica_capacity

ITEMS = (
    "stateless",
    "caching",
    "read_replicas",
    "indexes",
    "autoscaling",
    "queues",
    "load_testing",
    "monitoring",
)
QUESTIONS = {
    "stateless": "Is your service stateless?",
    "caching": "Are you using caching?",
    "read_replicas": "Have you added read replicas?",
    "indexes": "Are indexes optimized?",
    "autoscaling": "Is auto-scaling configured?",
    "queues": "Do you queue long-running tasks?",
    "load_testing": "Have you done load testing?",
    "monitoring": "Is monitoring in place?",
}
SIGNALS = ("latency percentiles", "error rate", "saturation", "queue depth")
SESSION_HOMES = ("memory", "sticky", "redis", "token")
TARGET_CPU = 0.70
SLOW_REQUEST_S = 2.0


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class Architecture:
    """The facts :func:`audit` needs about a system, at the peak it must survive."""

    name: str
    peak_rps: float
    app_servers: int = 2
    server_rps: float = 500.0
    sessions: str = "memory"
    write_fraction: float = 0.1
    cache_hit_ratio: float = 0.0
    db_node_qps: float = 5_000.0
    replicas: int = 0
    query_plans: tuple[str, ...] = ()
    autoscaling: bool = False
    max_servers: int = 0
    slow_work_s: float = 0.0
    slow_work_rps: float = 0.0
    load_tested_x: float = 0.0
    expected_peak_x: float = 10.0
    monitored: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if not (isinstance(self.name, str) and self.name.strip()):
            raise ValueError(f"name must be a non-empty text naming the system, got {self.name!r}")
        for name in ("peak_rps", "server_rps", "db_node_qps"):
            value = getattr(self, name)
            if not (_is_number(value) and value > 0):
                raise ValueError(f"{name} must be a number > 0, got {value!r}")
        for name in ("slow_work_s", "slow_work_rps", "load_tested_x"):
            value = getattr(self, name)
            if not (_is_number(value) and value >= 0):
                raise ValueError(f"{name} must be a number >= 0, got {value!r}")
        if not (_is_number(self.expected_peak_x) and self.expected_peak_x >= 1):
            raise ValueError(
                f"expected_peak_x is the peak as a multiple of a normal day, so a number >= 1, "
                f"got {self.expected_peak_x!r}"
            )
        for name in ("write_fraction", "cache_hit_ratio"):
            value = getattr(self, name)
            if not (_is_number(value) and 0 <= value <= 1):
                raise ValueError(f"{name} must be a share between 0 and 1, got {value!r}")
        for name in ("app_servers", "replicas", "max_servers"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a whole number >= 0, got {value!r}")
        if not isinstance(self.autoscaling, bool):
            raise ValueError(f"autoscaling must be True or False, got {self.autoscaling!r}")
        if self.autoscaling and self.max_servers < self.app_servers:
            raise ValueError(
                f"max_servers ({self.max_servers}) is below the {self.app_servers} app servers already "
                "running: an autoscaling group's maximum is at least its current size"
            )
        if self.sessions not in SESSION_HOMES:
            raise ValueError(f"sessions must be one of {SESSION_HOMES}, got {self.sessions!r}")
        for name in ("query_plans", "monitored"):
            value = getattr(self, name)
            if isinstance(value, str) or not isinstance(value, Iterable):
                raise ValueError(f"{name} must be a collection of texts (a tuple or set), got {value!r}")
            if not all(isinstance(v, str) for v in value):
                raise ValueError(f"every entry of {name} must be a text, got {list(value)!r}")
        unknown = set(self.monitored) - set(SIGNALS)
        if unknown:
            raise ValueError(f"unknown monitored signals {sorted(unknown)}; the signals are {list(SIGNALS)}")

    @classmethod
    def from_facts(cls, facts: Mapping[str, object]) -> Architecture:
        """An Architecture from a mapping of facts, with a clear error for a missing or unknown one."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(facts) - known)
        if unknown:
            raise ValueError(f"unknown facts {unknown}; an architecture knows {sorted(known)}")
        missing = [name for name in ("name", "peak_rps") if name not in facts]
        if missing:
            raise ValueError(f"missing facts {missing}: every architecture needs a name and its peak_rps")
        return cls(**facts)  # type: ignore[arg-type]

    @property
    def db_writes(self) -> float:
        """Writes per second at the peak: a cache never absorbs them."""
        return self.peak_rps * self.write_fraction

    @property
    def db_reads(self) -> float:
        """Reads per second that miss the cache and reach the database."""
        return self.peak_rps * (1 - self.write_fraction) * (1 - self.cache_hit_ratio)


@dataclass(frozen=True)
class AuditItem:
    """One checklist item: its question, whether it is checked, the evidence, and the next step."""

    item: str
    question: str
    checked: bool
    evidence: str
    next_step: str


def replicas_needed(
    read_load: float, write_rate: float, node_capacity: float, apply_cost: float = 1.0
) -> int | None:
    """The fewest read replicas for ``read_load`` reads/s next to ``write_rate`` writes/s.

    0 when the primary alone carries both; ``None`` when no number of replicas can, because
    the writes alone overflow the primary or every replica's replay of them.
    """
    for name, value in (("read_load", read_load), ("write_rate", write_rate), ("apply_cost", apply_cost)):
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    if not (isinstance(node_capacity, (int, float)) and math.isfinite(node_capacity) and node_capacity > 0):
        raise ValueError(f"node_capacity must be a finite number > 0, got {node_capacity!r}")
    if write_rate > node_capacity or apply_cost * write_rate >= node_capacity:
        return 0 if write_rate + read_load <= node_capacity else None
    if replica_capacity(0, node_capacity=node_capacity, write_rate=write_rate).reads >= read_load:
        return 0
    n = max(1, math.ceil(read_load / (node_capacity - apply_cost * write_rate) - 1e-9))
    while replica_capacity(
        n, node_capacity=node_capacity, write_rate=write_rate, apply_cost=apply_cost
    ).reads < read_load * (1 - 1e-12):
        n += 1
    return n


def _stateless(a: Architecture) -> AuditItem:
    if a.sessions in ("redis", "token"):
        return _item(
            "stateless", True, f"sessions live in {a.sessions}: any server can serve any request", ""
        )
    n = max(a.app_servers, 2)
    if a.sessions == "memory":
        evidence = (
            f"sessions in each server's memory: behind round robin {(n - 1) / n:.0%} of follow-up "
            "requests miss theirs"
        )
    else:
        evidence = (
            f"sticky sessions: a crash of 1 of {n} servers logs out {1 / n:.0%} of users, a rolling deploy "
            "nearly all"
        )
    step = (
        "Move sessions into a shared store: Redis through a session store with random ids, rotation at login "
        "and a sliding TTL (scalekit.sessions.SessionStore, notebook 04); then drop sticky routing so the "
        "balancer can use least connections."
    )
    return _item("stateless", False, evidence, step)


def _caching(a: Architecture) -> AuditItem:
    reads = a.peak_rps * (1 - a.write_fraction)
    if a.cache_hit_ratio > 0:
        return _item("caching", True, f"{a.cache_hit_ratio:.0%} of {reads:,.0f} reads/s are cache hits", "")
    spare = _db_reads_capacity(a)
    if spare is None:
        step = (
            f"Cache the hot reads (cache-aside on Redis, notebook 05), but know that the {a.db_writes:,.0f} "
            "writes/s alone overflow the database: caching cannot help with them; shard or queue the writes."
        )
    elif spare >= reads:
        step = (
            "Cache the most repeated reads with cache-aside on Redis and a TTL (notebook 05): the database "
            f"still carries the peak ({spare:,.0f} reads/s of room), so a cache buys latency and headroom; "
            "measure its hit ratio from the start."
        )
    else:
        hit = 1 - spare / reads
        step = (
            f"Cache the hot reads with cache-aside on Redis and a TTL (notebook 05): the database tier "
            f"({a.replicas} replicas) carries {spare:,.0f} reads/s next to the writes, so a hit ratio of "
            f"{hit:.0%} keeps it within capacity at the peak; size Redis from the hit-ratio curve of a trace."
        )
    return _item("caching", False, f"no cache: all {reads:,.0f} reads/s reach the database", step)


def _db_reads_capacity(a: Architecture) -> float | None:
    if a.db_writes > a.db_node_qps or (a.replicas and a.db_writes >= a.db_node_qps):
        return None
    return replica_capacity(a.replicas, node_capacity=a.db_node_qps, write_rate=a.db_writes).reads


def _read_replicas(a: Architecture) -> AuditItem:
    capacity = _db_reads_capacity(a)
    nodes = f"{1 + a.replicas} node" + ("s" if a.replicas else "")
    evidence = f"{a.db_reads:,.0f} reads/s and {a.db_writes:,.0f} writes/s reach a database of {nodes}"
    if capacity is not None and a.db_reads <= capacity:
        return _item("read_replicas", True, evidence + f" that carries {capacity:,.0f} reads/s", "")
    needed = replicas_needed(a.db_reads, a.db_writes, a.db_node_qps)
    if needed is None:
        step = (
            f"Replicas cannot help: the primary and every replica must run all {a.db_writes:,.0f} writes/s, "
            f"and a node runs {a.db_node_qps:,.0f} queries/s. Shard the writes by a key that spreads new "
            "rows (hashed, not a growing id; notebook 03), or queue them for the primary to take at its pace."
        )
    else:
        step = (
            f"Add read replicas: {needed} (from {a.replicas}) carry the {a.db_reads:,.0f} reads/s next to "
            f"{a.db_writes:,.0f} writes/s (replica_capacity, notebook 03). Route reads with read-your-writes "
            "for users who just wrote, and take replicas that lag too far out of rotation."
        )
    return _item("read_replicas", False, evidence, step)


def _indexes(a: Architecture) -> AuditItem:
    scans = [plan for plan in a.query_plans if plan.startswith("SCAN") and "USING" not in plan]
    if not a.query_plans:
        step = (
            "Read the query plans of the slowest statements (PostgreSQL: pg_stat_statements, then EXPLAIN; "
            "SQLite: EXPLAIN QUERY PLAN, scalekit.db.query_plan) and index what they filter and sort on."
        )
        return _item("indexes", False, "no query plans were read", step)
    if not scans:
        return _item("indexes", True, f"every hot query ({len(a.query_plans)}) searches an index", "")
    step = (
        f"Add an index on the columns those queries filter or sort on, then read the plan again: it should "
        f"say SEARCH ... USING INDEX instead of {scans[0]!r} (notebook 08, question 2)."
    )
    return _item("indexes", False, f"{len(scans)} of {len(a.query_plans)} hot queries read every row", step)


def _autoscaling(a: Architecture) -> AuditItem:
    needed = max(2, math.ceil(a.peak_rps / (a.server_rps * TARGET_CPU)))
    evidence = (
        f"the peak needs {needed} servers at {TARGET_CPU:.0%} CPU "
        f"({a.peak_rps:,.0f} req/s, {a.server_rps:,.0f} each)"
    )
    if a.autoscaling and a.max_servers >= needed:
        return _item("autoscaling", True, evidence + f"; the group may grow to {a.max_servers}", "")
    if a.autoscaling:
        at_max = a.peak_rps / (a.server_rps * max(a.max_servers, 1))
        step = (
            f"Raise the group's maximum from {a.max_servers} to at least {needed}: at {a.max_servers} "
            f"servers the peak runs at {at_max:.0%} of capacity. Schedule that size before a known peak, "
            "since reactive scaling adds servers minutes after the load arrives (notebooks 04 and 07)."
        )
    else:
        step = (
            f"Put the app servers in an autoscaling group from 2 to at least {needed} servers, tracking "
            f"requests per server (or CPU near {TARGET_CPU:.0%}), with a cool-down no shorter than a "
            "server's boot time, and scheduled scaling before known peaks (notebook 04)."
        )
    return _item("autoscaling", False, evidence + ("" if a.autoscaling else "; no autoscaling group"), step)


def _queues(a: Architecture) -> AuditItem:
    if a.slow_work_s <= SLOW_REQUEST_S:
        return _item(
            "queues", True, f"no request does more than {SLOW_REQUEST_S:g} s of work before answering", ""
        )
    held = models.littles_law(arrival_rate=a.slow_work_rps, time_in_system=a.slow_work_s)
    step = (
        f"Enqueue the slow work and answer 202 at once (a job queue with leases, retries, a dead-letter "
        f"list and idempotency keys; notebook 06): the API then holds almost no requests open instead of "
        f"{held:,.0f} (Little's law: {a.slow_work_rps:g}/s x {a.slow_work_s:g} s), and workers keep "
        "their own pace."
    )
    return _item("queues", False, f"requests do {a.slow_work_s:g} s of work before answering", step)


def _load_testing(a: Architecture) -> AuditItem:
    tested = f"load-tested at {a.load_tested_x:g}x a normal day" if a.load_tested_x else "never load-tested"
    evidence = f"{tested}; the expected peak is {a.expected_peak_x:g}x"
    if a.load_tested_x >= a.expected_peak_x:
        return _item("load_testing", True, evidence, "")
    step = (
        f"Load-test at {a.expected_peak_x:g}x a normal day (k6, Locust or Artillery) before the peak: fit "
        "the Universal Scalability Law to the results to see where adding servers stops paying "
        "(notebook 02), and find which tier breaks first."
    )
    return _item("load_testing", False, evidence, step)


def _monitoring(a: Architecture) -> AuditItem:
    missing = [signal for signal in SIGNALS if signal not in a.monitored]
    if not missing:
        return _item(
            "monitoring", True, "latency percentiles, errors, saturation and queue depth are watched", ""
        )
    step = (
        f"Watch {_and(missing)} with alerts; the tail (p99) passes the knee before the mean does, and "
        "utilisation above about 70% is where waiting explodes (notebook 01)."
    )
    return _item("monitoring", False, f"not watched: {_and(missing)}", step)


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _item(item: str, checked: bool, evidence: str, next_step: str) -> AuditItem:
    return AuditItem(item, QUESTIONS[item], checked, evidence, next_step)


_CHECKS = (_stateless, _caching, _read_replicas, _indexes, _autoscaling, _queues, _load_testing, _monitoring)


def review(architecture: Architecture | Mapping[str, object]) -> list[AuditItem]:
    """All eight checklist items for ``architecture``, checked or not, in the outline's order."""
    if isinstance(architecture, Mapping):
        architecture = Architecture.from_facts(architecture)
    if not isinstance(architecture, Architecture):
        raise TypeError(
            f"audit takes an Architecture (or a mapping of its facts), got {type(architecture).__name__}"
        )
    return [check(architecture) for check in _CHECKS]


def audit(architecture: Architecture | Mapping[str, object]) -> list[AuditItem]:
    """The unchecked items of the scaling checklist for ``architecture``, each with its next step."""
    return [item for item in review(architecture) if not item.checked]


def audit_table(items: Iterable[AuditItem]) -> pd.DataFrame:
    """Audit items as a DataFrame indexed by item (set ``display.max_colwidth`` to None to read it all)."""
    rows = [
        {
            "item": i.item,
            "question": i.question,
            "checked": i.checked,
            "evidence": i.evidence,
            "next step": i.next_step,
        }
        for i in items
    ]
    return pd.DataFrame(rows, columns=["item", "question", "checked", "evidence", "next step"]).set_index(
        "item"
    )
