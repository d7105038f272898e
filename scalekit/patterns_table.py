"""The outline's summary table of patterns, each benefit computed with the course's own models.

Every function here calls the same scalekit code as the notebook that teaches the
pattern, under the assumptions that notebook states, so the summary cannot drift from
the lessons. :func:`patterns_table` puts them together; the claims ledger reuses them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scalekit import autoscale, datasets, models, sim
from scalekit.caches.multilevel import OUTLINE_HIERARCHY, CacheHierarchy, CacheLevel
from scalekit.routers import HashSharding, RangeSharding, load_spread, replica_capacity, write_cap

NOTEBOOKS = {
    "01": "01_what_is_scalability.ipynb",
    "02": "02_vertical_vs_horizontal.ipynb",
    "03": "03_database_scaling.ipynb",
    "04": "04_application_scaling.ipynb",
    "05": "05_caching.ipynb",
    "06": "06_async_processing.ipynb",
    "07": "07_real_world_examples.ipynb",
    "08": "08_interview_questions.ipynb",
    "09": "09_summary.ipynb",
}

REDIS_MS, DATABASE_MS = 0.5, 20.0  # assumed: one cache lookup and one database query
FIBRE_KM_PER_MS, ROUND_TRIPS, EDGE_KM, EDGE_HITS = 200.0, 4, 300.0, 0.95  # assumed CDN setting
APP_SERVER_RPS = 500.0  # notebook 04's server on the three-day trace
SERVICE_LOAD = {"user": 200.0, "post": 850.0, "comment": 110.0, "notification": 350.0}  # notebook 04


def link(notebook: str) -> str:
    """A relative markdown link to a notebook by its number, e.g. ``[03](03_database_scaling.ipynb)``."""
    return f"[{notebook}]({NOTEBOOKS[notebook]})"


def replica_speedups(write_fraction: float = 0.1) -> dict[str, float]:
    """Throughput of a primary plus replicas, in single servers' worth (notebook 03's model)."""
    return {
        "3 replicas": replica_capacity(3, write_fraction=write_fraction).total,
        "3 replicas, free replay": replica_capacity(3, write_fraction=write_fraction, apply_cost=0.0).total,
        "20 replicas": replica_capacity(20, write_fraction=write_fraction).total,
        "20 replicas, free replay": replica_capacity(20, write_fraction=write_fraction, apply_cost=0.0).total,
        "write cap": write_cap(write_fraction=write_fraction),
    }


def shard_write_scaling(shards: int = 4, users: int = 100_000) -> dict[str, float]:
    """Write capacity of ``shards`` shards in one primary's worth, when the newest 10% of ids write.

    The busiest shard decides: capacity = shards / (busiest shard's share / mean share).
    """
    recent = np.arange(int(0.9 * users), users)
    routers = {"hash": HashSharding(shards), "range": RangeSharding.split(0, users, shards)}
    scaling = {}
    for name, router in routers.items():
        counts = np.bincount([router.shard_for(int(k)) for k in recent], minlength=shards)
        scaling[name] = shards / load_spread(counts)
    return scaling


def cache_speedup(hit_ratio: float, cache_ms: float = REDIS_MS, backend_ms: float = DATABASE_MS) -> float:
    """Mean-latency speed-up of one cache in front of a backend (a two-level ``CacheHierarchy``)."""
    levels = [CacheLevel("cache", hit_ratio, cache_ms), CacheLevel("backend", 1.0, backend_ms)]
    return backend_ms / CacheHierarchy(levels).mean_latency_ms()


def outline_hierarchy_speedup() -> float:
    """The outline's browser-CDN-Redis-database hierarchy against every request paying the database."""
    return float(OUTLINE_HIERARCHY.latencies_ms[-1]) / OUTLINE_HIERARCHY.mean_latency_ms()


def queue_spike(
    spike_rps: float = 2_000.0, capacity_rps: float = 1_000.0, minutes: int = 10
) -> dict[str, float]:
    """A spike into a queue drained at a fixed rate: peak backlog and the longest wait (s).

    With a constant capacity the backlog divided by the capacity is exactly the FIFO wait.
    """
    rates = np.r_[np.full(minutes, spike_rps), np.full(3 * minutes, capacity_rps / 2)]
    backlog = sim.fluid_backlog(rates, capacity_rps)
    return {"peak backlog": float(backlog.max()), "longest wait (s)": float(backlog.max() / capacity_rps)}


def trace_queue_wait_hours(headroom: float = 1.2) -> float:
    """Notebook 06: a worker pool sized 20% above the normal daily peak against the 10x sale (hours)."""
    rates = datasets.load("traffic_3day.csv")["requests_per_second"].to_numpy()
    capacity = headroom * rates[: 2 * 1440].max()
    return float(sim.fluid_backlog(rates, capacity).max() / capacity / 3600)


def microservice_units(per_instance: float = 100.0, latency_goal: float = 0.015) -> dict[str, int]:
    """Notebook 04: instances for each service alone, a rigid monolith, and a pooled monolith."""
    each = [models.servers_needed(load, per_instance, latency_goal) for load in SERVICE_LOAD.values()]
    return {
        "per service": int(sum(each)),
        "rigid monolith": int(max(each) * len(each)),
        "pooled monolith": models.servers_needed(sum(SERVICE_LOAD.values()), per_instance, latency_goal),
    }


def autoscaling_bill() -> dict[str, float]:
    """Notebook 04: the outline's threshold policy on three days of traffic, against a peak-sized fleet."""
    offered = datasets.load("traffic_3day.csv")["requests_per_second"].to_numpy()
    run = autoscale.simulate(
        offered,
        APP_SERVER_RPS,
        autoscale.ThresholdPolicy(),
        autoscale.GroupLimits(2, 20, 4),
        launch_minutes=3,
    )
    peak_fleet = autoscale.servers_for_peak(offered, APP_SERVER_RPS, target=0.70)
    busy_hours = float(offered.sum() / APP_SERVER_RPS / 60)
    return {
        "peak-sized / autoscaled": peak_fleet * offered.size / 60 / run.server_hours,
        "paid / busy": run.server_hours / busy_hours,
    }


def cdn_speedup(origin_km: float, edge_hits: float = EDGE_HITS) -> float:
    """Page time without a CDN over page time with one: ``ROUND_TRIPS`` trips at fibre speed."""
    origin = ROUND_TRIPS * 2 * origin_km / FIBRE_KM_PER_MS
    edge = ROUND_TRIPS * 2 * EDGE_KM / FIBRE_KM_PER_MS
    return origin / (edge_hits * edge + (1 - edge_hits) * (edge + origin))


def patterns_table() -> pd.DataFrame:
    """The outline's summary table with a computed benefit and the notebook that teaches each row."""
    replicas = replica_speedups()
    shards = shard_write_scaling()
    units = microservice_units()
    bill = autoscaling_bill()
    spike = queue_spike()
    rows = [
        (
            "Read replicas",
            "read-heavy workloads",
            "3-10x read scalability",
            f"{replicas['3 replicas']:.1f}x with 3 replicas and {replicas['20 replicas']:.1f}x with 20 "
            f"(10% writes, a replayed write costs a query); {replicas['3 replicas, free replay']:.1f}x and "
            f"{replicas['20 replicas, free replay']:.0f}x if replay were free; "
            f"never past {replicas['write cap']:.0f}x",
            "03",
        ),
        (
            "Sharding",
            "massive databases",
            "unlimited write scalability",
            f"4 shards take {shards['hash']:.1f}x one primary's new writes with a hashed key, "
            f"{shards['range']:.1f}x with a range on a growing id",
            "03",
        ),
        (
            "Caching",
            "repeated reads",
            "10-100x performance boost",
            f"{cache_speedup(0.9):.0f}x at 90% hits, {cache_speedup(0.99):.0f}x at 99% "
            f"({REDIS_MS:g} vs {DATABASE_MS:g} ms); "
            f"the outline's own hierarchy {outline_hierarchy_speedup():.1f}x",
            "05",
        ),
        (
            "Message queues",
            "async processing",
            "decouple services, handle spikes",
            f"a 2x spike for 10 min queues {spike['peak backlog']:,.0f} jobs, longest wait "
            f"{spike['longest wait (s)'] / 60:.0f} min; "
            f"a 4-hour 10x sale waits {trace_queue_wait_hours():.1f} h",
            "06",
        ),
        (
            "Microservices",
            "independent scaling",
            "scale parts independently",
            f"{units['per service']} instances scaled per service, "
            f"{units['rigid monolith']} for a rigid monolith, "
            f"{units['pooled monolith']} for a pooled one",
            "04",
        ),
        (
            "Auto-scaling",
            "variable traffic",
            "pay only for what you use",
            f"{bill['peak-sized / autoscaled']:.1f}x fewer server-hours than a peak-sized fleet, "
            f"yet {bill['paid / busy']:.1f}x the busy server-hours",
            "04",
        ),
        (
            "CDN",
            "static content",
            "10x faster globally",
            f"{cdn_speedup(8_000):.1f}x page time for a user 8,000 km from the origin, "
            f"{cdn_speedup(1_000):.1f}x at 1,000 km",
            "09",
        ),
    ]
    frame = pd.DataFrame(
        rows, columns=["pattern", "use case", "outline's benefit", "computed here", "notebook"]
    )
    frame["notebook"] = frame["notebook"].map(link)
    return frame


def as_markdown(frame: pd.DataFrame) -> str:
    """A markdown table of ``frame`` (links stay clickable; ``|`` in a cell is escaped)."""
    cells = frame.astype(str).apply(lambda column: column.str.replace("|", "\\|"))
    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(row) + " |" for row in cells.itertuples(index=False)]
    return "\n".join(lines)
