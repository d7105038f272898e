"""Claims of the outline's caching, async, real-world, interview and summary sections."""

from __future__ import annotations

import math

import numpy as np

from scalekit import datasets, models, sim, workload
from scalekit import patterns_table as pt
from scalekit.caches import che_hit_ratio, che_size_for_hit_ratio
from scalekit.caches.multilevel import OUTLINE_HIERARCHY
from scalekit.ledger.core import (
    ACCEPTED_ASYNC_WAIT_S,
    SMOOTH_WAIT_S,
    Finding,
    _claim,
    _close,
)
from scalekit.routers import (
    replica_capacity,
)
from scalekit.routers.hashing import stable_hash
from scalekit.timeline import fanout_model

# --- Caching (notebook 05) ------------------------------------------------------------------


@_claim("total_hit_98", "Caching Patterns › Multi-Level Caching (diagram)", "05", "Total hit ratio 98%")
def _total_hit() -> Finding:
    value = 1 - OUTLINE_HIERARCHY.shares()[-1]
    return Finding(f"{value:.1%}", _close(value, 0.98, 0.001))


@_claim("latency_5ms", "Caching Patterns › Multi-Level Caching (diagram)", "05", "Average latency 5 ms")
def _latency_5() -> Finding:
    value = OUTLINE_HIERARCHY.mean_latency_ms()
    return Finding(f"{value:.1f} ms from the diagram's own levels", _close(value, 5.0))


@_claim(
    "latency_7_4",
    "Caching Patterns › Performance Impact",
    "05",
    "Average latency (0.6·0 + 0.3·20 + 0.08·5 + 0.02·50) = 7.4 ms",
)
def _latency_7_4() -> Finding:
    plain = OUTLINE_HIERARCHY.mean_latency_ms(cumulative=True)
    answered = OUTLINE_HIERARCHY.mean_latency_ms()
    return Finding(
        f"{plain:.1f} ms when a request also pays the lookups it missed; {answered:.1f} ms if not",
        _close(plain, 7.4, 0.01),
        _close(answered, 7.4, 0.01),
        "a request pays only the level that answers it, not the misses on the way down",
    )


@_claim("db_200", "Caching Patterns › Performance Impact", "05", "DB load: 200 of 10,000 req/s")
def _db_200() -> Finding:
    value = OUTLINE_HIERARCHY.load_rps(10_000)[-1]
    return Finding(f"{value:,.0f} req/s", _close(value, 200.0, 0.001))


@_claim("db_50x", "Caching Patterns › Performance Impact", "05", "50x less database load")
def _db_50x() -> Finding:
    value = OUTLINE_HIERARCHY.origin_reduction()
    return Finding(f"{value:.0f}x", _close(value, 50.0, 0.001))


# --- Async processing (notebook 06) ----------------------------------------------------------


@_claim(
    "instant_response",
    "Async Processing Patterns › Message Queue Pattern",
    "06",
    "With a queue the user gets an instant response instead of a 5-minute wait",
)
def _instant_response() -> Finding:
    queued, work = 0.005 + 0.001, 300.0
    sync_open = models.littles_law(arrival_rate=2.0, time_in_system=work + 0.005)
    queued_open = models.littles_law(arrival_rate=2.0, time_in_system=queued)
    return Finding(
        f"answer in {queued * 1000:.0f} ms; at 2 uploads/s the API holds {queued_open:.3f} requests "
        f"open instead of {sync_open:,.0f}; the video is ready no sooner",
        queued <= SMOOTH_WAIT_S,
    )


# --- Real-world examples (notebook 07) --------------------------------------------------------


@_claim(
    "celebrity_5_min",
    "Real-World Examples › 1. Twitter's Timeline (numbers)",
    "07",
    "50M followers: 5 minutes to propagate",
)
def _celebrity() -> Finding:
    followers, claimed = 50e6, 5 * 60.0
    node_writes, shares = (
        750_000.0,
        np.array([0.5, 0.25]),
    )  # notebook 07's assumed node rate and fan-out shares
    minutes = followers / (node_writes * shares) / 60
    nodes = followers / claimed / (node_writes * shares)
    return Finding(
        f"{minutes[0]:.1f} to {minutes[1]:.1f} min on one Redis node at 07's assumed rates; "
        f"finishing in exactly 5 min uses {nodes[0]:.1f} to {nodes[1]:.1f} of that node's fan-out rate",
        bool(np.all(np.abs(np.log(minutes / 5)) < np.log(2))),
        bool(np.abs(np.log(minutes[1] / 5)) < np.log(2)),
        "one Redis node fans out at a quarter of its pipelined write rate (07's lower share); "
        "at 07's higher share it finishes in well under 5 min",
    )


@_claim(
    "hybrid_1000",
    "Real-World Examples › 1. Twitter's Timeline (diagram)",
    "07",
    "Hybrid fan-out at 1,000 followers is the best of both worlds",
)
def _hybrid() -> Finding:
    followers = datasets.load("followers_100k.csv")["followers"].to_numpy()
    written, merged = fanout_model(followers, [1_000, math.inf])
    hybrid, push = written[0] + 10 * merged[0], written[1] + 10 * merged[1]
    burst = int(followers[followers < 1_000].max())
    return Finding(
        f"at 10 reads per post: {hybrid:.1f} operations vs {push:.1f} pushing everyone; largest "
        f"single fan-out {burst:,} vs {int(followers.max()):,}",
        hybrid <= push,
        10 * burst <= followers.max(),
        "what matters is the burst of one post, not the total work",
    )


@_claim(
    "ten_x_servers",
    "Real-World Examples › 2. Amazon's Black Friday (diagram)",
    "07",
    "1M req/s on 100 servers → 10M req/s on 1,000 servers",
)
def _ten_x_servers() -> Finding:
    per_server = 12_500.0
    normal = models.mmc_response_time(1e6, per_server, 100)
    needed = models.servers_needed(1e7, per_server, normal)
    return Finding(f"{needed} servers keep the normal day's response time at 10x traffic", needed <= 1_000)


def _step_spike_wait(traffic_ramp_minutes: int) -> float:
    minutes = np.arange(-5, 40)
    ramp = np.clip(minutes / max(traffic_ramp_minutes, 1e-9), 0, 1) if traffic_ramp_minutes else minutes >= 0
    traffic = 1e6 + 9e6 * ramp
    capacity = np.clip(100 + 60 * np.clip(minutes, 0, None), 100, 1_000) * 12_500.0
    return sim.worst_fifo_wait(traffic, capacity)


@_claim(
    "ramp_15_min",
    "Real-World Examples › 2. Amazon's Black Friday (techniques)",
    "07",
    "100 → 1,000 servers in 15 minutes",
)
def _ramp() -> Finding:
    step, gradual = _step_spike_wait(0), _step_spike_wait(15)
    return Finding(
        f"longest wait {step:.0f} s if traffic jumps at once, {gradual:.0f} s if it rises over 15 min",
        step <= SMOOTH_WAIT_S,
        gradual <= SMOOTH_WAIT_S,
        "traffic takes at least 15 minutes to rise",
    )


@_claim(
    "replicas_20",
    "Real-World Examples › 2. Amazon's Black Friday (techniques)",
    "07",
    "1 master + 20 read replicas carry the database load",
)
def _replicas_20() -> Finding:
    peak, writes, node = 10e6, 10_000.0, 25_000.0
    load = peak * (1 - 0.99) + writes
    tier = replica_capacity(20, node_capacity=node, write_rate=writes)
    lowest = 1 - tier.reads / peak
    return Finding(
        f"{load:,.0f} queries/s at 99% hits; 1+20 take {tier.total:,.0f} ({node:,.0f} per node, "
        f"{writes:,.0f} writes/s given as a rate); they need at least {lowest:.1%} hits",
        load <= tier.total,
    )


@_claim(
    "hit_99",
    "Real-World Examples › 2. Amazon's Black Friday (techniques)",
    "05",
    "Aggressive caching gives a 99% hit ratio",
)
def _hit_99() -> Finding:
    popularity = workload.zipf_popularity(100_000, 0.9)
    share = che_size_for_hit_ratio(popularity, 0.99) / 100_000
    tenth = che_hit_ratio(popularity, 10_000)
    return Finding(
        f"Redis must hold {share:.1%} of a 100,000-product catalogue (Zipf 0.9); 10% of it gives {tenth:.0%}",
        tenth >= 0.99,
        share < 1.0,
        "(almost) the whole catalogue fits in the cache",
    )


# --- Interview questions (notebook 08) ----------------------------------------------------------


def _q2_requests_per_db_query(hit_ratio: float = 0.95, write_fraction: float = 0.1) -> float:
    return write_fraction + (1 - write_fraction) * (1 - hit_ratio)


@_claim(
    "q2_50",
    "Interview Questions › Q2 (example architecture)",
    "08",
    "Redis with 95% hits leaves only 50 req/s to the DB",
)
def _q2_50() -> Finding:
    value = 1_000 * _q2_requests_per_db_query()
    return Finding(f"{value:,.0f} req/s (the cache absorbs reads, not the 100 writes)", _close(value, 50.0))


@_claim("q2_20x", "Interview Questions › Q2 (example architecture)", "08", "Result: 20x improvement")
def _q2_20x() -> Finding:
    per_request = _q2_requests_per_db_query()
    share = 0.1 / per_request
    gains = [replica_capacity(4, write_fraction=share, apply_cost=a).total / per_request for a in (1.0, 0.0)]
    return Finding(
        f"{gains[0]:.2f}x if a replayed write costs a query, {gains[1]:.1f}x if it were free",
        gains[0] >= 19,
        gains[1] >= 19,
        "replaying writes costs the replicas nothing",
    )


@_claim(
    "q4_sessions",
    "Interview Questions › Q4 (stateless services)",
    "04",
    "Stateful servers lose sessions when a server dies; stateless ones lose none",
)
def _q4_sessions() -> Finding:
    users = range(300)  # notebook 04's 300 users
    before = np.array([stable_hash(f"user-{u}") % 3 for u in users])
    after = np.array([stable_hash(f"user-{u}") % 2 for u in users])
    table, modulo = (before == 2).mean(), (before != after).mean()
    return Finding(
        f"1 of 3 sticky servers dies: {table:.1%} of users logged out (sticky table), "
        f"{modulo:.1%} (hash % N); "
        "sessions in Redis: none",
        table > 0 and modulo > 0,
    )


@_claim(
    "q5_replicas",
    "Interview Questions › Q5 (infrastructure scaling)",
    "08",
    "Read replicas 5 → 20 for 10x traffic",
)
def _q5_replicas() -> Finding:
    gain = replica_capacity(20).total / replica_capacity(5).total
    needed_hits = 1 - gain * (1 - 0.95) / 10
    cached = che_size_for_hit_ratio(workload.zipf_popularity(100_000, 0.9), needed_hits) / 100_000
    return Finding(
        f"{gain:.2f}x the database capacity at 10% writes; enough if the hit ratio rises from 95% "
        f"to {needed_hits:.1%}, which takes caching {cached:.0%} of a 100,000-product catalogue "
        "(Zipf 0.9, as in 05)",
        gain >= 10,
        needed_hits < 1 and cached < 1,
        "the cache's hit ratio rises at the peak to about 99%, holding almost the whole catalogue",
    )


@_claim("q5_uptime", "Interview Questions › Q5 (expected results)", "08", "99.9% uptime during Black Friday")
def _q5_uptime() -> Finding:
    lb_run, app_run, redis_shards = 20, 500, 50  # notebook 08: the peak's fleets; 100 Redis nodes as 50 pairs

    def chain(lb_needed: int, app_needed: int) -> float:
        return float(
            models.k_of_n_availability(lb_needed, lb_run, 0.999)
            * models.k_of_n_availability(app_needed, app_run, 0.99)
            * models.k_of_n_availability(1, 2, 0.999) ** redis_shards
            * 0.9995
        )

    spare, bare = chain(19, 475), chain(lb_run, app_run)  # notebook 08's spares; every node needed
    allowed = (1 - 0.999) * 24 * 60
    return Finding(
        f"{spare:.4%} with 19 of {lb_run} load balancers and 475 of {app_run} app servers needed "
        f"(as in 08), {redis_shards} Redis shard pairs and one master at 99.95%: "
        f"{(1 - spare) * 24 * 60:.1f} of the {allowed:.2f} min allowed in 24 h; "
        f"{bare:.2%} if the peak needs every node",
        bare >= 0.999,
        spare >= 0.999,
        "the fleets keep spares: the peak needs 19 of the 20 load balancers and 475 of the 500 app servers",
    )


@_claim(
    "q5_cost",
    "Interview Questions › Q5 (expected results)",
    "07",
    "10x traffic at maybe 3-4x cost, thanks to caching",
)
def _q5_cost() -> Finding:
    before, after = np.array([2, 50, 10, 1, 5]), np.array([20, 500, 100, 1, 20])
    weights = np.array([1, 1, 2, 8, 8])  # notebook 07: a database node costs 8 app servers, a Redis node 2
    ratio = (after * weights).sum() / (before * weights).sum()
    db_only = (after[3:]).sum() / (before[3:]).sum()
    return Finding(
        f"{ratio:.1f}x with the course's prices per node (07); only a bill that is all database "
        f"would grow {db_only:.1f}x, and the plan scales every other tier 10x",
        3 <= ratio <= 4,
    )


# --- The summary table -----------------------------------------------------------------------------


@_claim("summary_replicas", "Summary › Key Patterns", "03", "Read replicas: 3-10x read scalability")
def _summary_replicas() -> Finding:
    s = pt.replica_speedups()
    return Finding(
        f"{s['3 replicas']:.1f}x to {s['20 replicas']:.1f}x (3 to 20 replicas, 10% writes); "
        f"{s['3 replicas, free replay']:.1f}x to {s['20 replicas, free replay']:.0f}x if replay were free",
        s["3 replicas"] >= 3 and s["20 replicas"] >= 9.5,
        s["3 replicas, free replay"] >= 3 and s["20 replicas, free replay"] >= 9.5,
        "replaying writes is (nearly) free and writes are at most 10%",
    )


@_claim("summary_sharding", "Summary › Key Patterns", "03", "Sharding: unlimited write scalability")
def _summary_sharding() -> Finding:
    s = pt.shard_write_scaling()
    return Finding(
        f"4 shards take {s['hash']:.1f}x the writes (hashed key), {s['range']:.1f}x (range on a growing id)",
        min(s.values()) >= 3.8,
        s["hash"] >= 3.8,
        "the shard key spreads new writes (hashed, not time-ordered)",
    )


@_claim("summary_caching", "Summary › Key Patterns", "05", "Caching: 10-100x performance boost")
def _summary_caching() -> Finding:
    outline, fast = pt.outline_hierarchy_speedup(), pt.cache_speedup(0.99)
    return Finding(
        f"{outline:.1f}x for the outline's own hierarchy; {fast:.0f}x at 99% hits on a 0.5 ms cache "
        "before a 20 ms database",
        10 <= outline <= 100,
        10 <= fast <= 100,
        "a very high hit ratio in front of a backend 40x slower than the cache",
    )


@_claim("summary_queues", "Summary › Key Patterns", "06", "Message queues: handle spikes")
def _summary_queues() -> Finding:
    spike, sale = pt.queue_spike()["longest wait (s)"], pt.trace_queue_wait_hours() * 3600
    return Finding(
        f"a 10-minute 2x spike waits {spike / 60:.0f} min at worst; a 4-hour 10x sale {sale / 3600:.1f} h",
        max(spike, sale) <= ACCEPTED_ASYNC_WAIT_S,
        spike <= ACCEPTED_ASYNC_WAIT_S,
        "spikes are short next to the wait users accept (15 minutes for queued work)",
    )


@_claim("summary_autoscaling", "Summary › Key Patterns", "04", "Auto-scaling: pay only for what you use")
def _summary_autoscaling() -> Finding:
    bill = pt.autoscaling_bill()
    return Finding(
        f"{bill['peak-sized / autoscaled']:.1f}x fewer server-hours than a peak-sized fleet, but "
        f"{bill['paid / busy']:.1f}x the busy server-hours",
        bill["paid / busy"] <= 1.1,
        bill["peak-sized / autoscaled"] >= 2,
        "'what you use' means a fleet that follows the load, headroom included",
    )


@_claim("summary_cdn", "Summary › Key Patterns", "09", "CDN: 10x faster globally")
def _summary_cdn() -> Finding:
    near, far = pt.cdn_speedup(1_000), pt.cdn_speedup(8_000)
    return Finding(
        f"{far:.1f}x for a user 8,000 km from the origin, {near:.1f}x at 1,000 km",
        min(near, far) >= 10,
        far >= 10,
        "the users are far from the origin (8,000 km)",
    )
