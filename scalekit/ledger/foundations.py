"""Claims of the outline's first four sections: scalability, scaling up or out, databases, applications."""

from __future__ import annotations

import math

import numpy as np

from scalekit import autoscale, db, models, sim
from scalekit import patterns_table as pt
from scalekit.clock import SimClock
from scalekit.ledger.core import (
    SMOOTH_WAIT_S,
    Finding,
    _claim,
    _close,
    _traffic,
)
from scalekit.routers import (
    GeoSharding,
    HashSharding,
    RangeSharding,
    ReplicaRouter,
    load_spread,
    moved_fraction,
    replica_capacity,
)

# --- What is scalability? (notebook 01) -------------------------------------------------


@_claim(
    "black_friday_smooth",
    "What is Scalability? › Why Scalability Matters",
    "01",
    "With scalability, Black Friday's 10x traffic is handled smoothly",
)
def _black_friday_smooth() -> Finding:
    rate, per_server = _traffic(), 100.0
    wanted = np.maximum(2, np.ceil(rate / (per_server * 0.70)))
    lagged = np.concatenate([np.full(5, wanted[0]), wanted[:-5]])
    reactive = sim.worst_fifo_wait(rate, np.minimum(wanted, lagged) * per_server)
    scheduled = sim.worst_fifo_wait(rate, wanted * per_server)
    return Finding(
        f"longest wait {reactive / 60:.1f} min when servers arrive 5 min late; "
        f"{scheduled:.0f} s when scheduled",
        reactive <= SMOOTH_WAIT_S,
        scheduled <= SMOOTH_WAIT_S,
        "capacity is added before the spike (scheduled), not after it is seen",
    )


@_claim(
    "user_growth",
    "What is Scalability? › Why Scalability Matters",
    "01",
    "From 100k to 10M users with the same performance",
)
def _user_growth() -> Finding:
    per_server = 100.0
    goal = models.mmc_response_time(1_000.0, per_server, math.ceil(1_000.0 / (per_server * 0.70)))
    servers = models.servers_needed(100_000.0, per_server, goal)
    ceiling = models.SCALE_OUT.ceiling(per_server)
    return Finding(
        f"{servers:,} servers keep {goal * 1000:.1f} ms (M/M/c); with the course's 0.5% contention a fleet "
        f"tops out at {ceiling:,.0f} req/s, short of 100,000",
        ceiling >= 100_000.0,
        servers < 100 * 15,
        "nothing is shared between the servers (no contention, σ = 0)",
    )


@_claim(
    "pay_for_use",
    "What is Scalability? › Why Scalability Matters",
    "01",
    "Pay only for what you use, not for peak capacity 24/7",
)
def _pay_for_use() -> Finding:
    rate, per_server = _traffic(), 100.0
    wanted = np.maximum(2, np.ceil(rate / (per_server * 0.70)))
    lagged = np.concatenate([np.full(5, wanted[0]), wanted[:-5]])
    paid = np.minimum(wanted, lagged).sum()
    peak = math.ceil(rate.max() / (per_server * 0.70)) * rate.size
    busy = (rate / per_server).sum()
    return Finding(
        f"a peak-sized fleet costs {peak / paid:.1f}x the autoscaled one, which pays for "
        f"{paid / busy:.2f}x the busy server-minutes",
        paid / busy <= 1.1,
        peak / paid >= 2,
        "'what you use' includes the headroom the fleet keeps (70% target)",
    )


# --- Vertical vs horizontal (notebooks 01, 02) ------------------------------------------


@_claim(
    "vertical_8000",
    "Vertical vs Horizontal Scaling › Visual Comparison",
    "01",
    "2 → 16 CPUs takes a server from 1,000 to 8,000 req/s",
)
def _vertical_8000() -> Finding:
    value = float(models.SCALE_UP.throughput(8))
    linear = models.usl_throughput(8, models.REFERENCE_RATE, 0.0, 0.0)
    return Finding(
        f"{value:,.0f} req/s with the course's scale-up model",
        _close(value, 8_000),
        _close(linear, 8_000),
        "cores share nothing (σ = κ = 0)",
    )


@_claim(
    "horizontal_4000",
    "Vertical vs Horizontal Scaling › Visual Comparison",
    "01",
    "4 servers behind a load balancer serve 4,000 req/s",
)
def _horizontal_4000() -> Finding:
    value = float(models.SCALE_OUT.throughput(4))
    return Finding(f"{value:,.0f} req/s with the course's scale-out model", _close(value, 4_000))


@_claim(
    "vertical_cost",
    "Vertical vs Horizontal Scaling › Detailed Comparison",
    "02",
    "Vertical cost grows exponentially: USD 100 → 1,000",
)
def _vertical_cost() -> Finding:
    eight = float(models.vertical_cost(8))
    top = models.PRICES.max_units
    premium = float(models.vertical_cost(top)) / float(models.horizontal_cost(top))
    return Finding(
        f"USD {eight:,.0f} for 8x (linear inside an instance family); the largest machine costs "
        f"{premium:.1f}x as much as the same capacity in servers; "
        "two points cannot tell exponential from power",
        _close(eight, 1_000.0, 0.02),
        premium > 1.5,
        "'exponential' means the top end, past the biggest instance family",
    )


@_claim(
    "horizontal_cost",
    "Vertical vs Horizontal Scaling › Detailed Comparison",
    "02",
    "Horizontal cost grows linearly: USD 100 → 400",
)
def _horizontal_cost() -> Finding:
    value = float(models.horizontal_cost(4))
    return Finding(f"USD {value:,.0f} for 4 servers", _close(value, 400.0, 0.01))


@_claim(
    "vertical_limit",
    "Vertical vs Horizontal Scaling › Detailed Comparison",
    "02",
    "One machine can grow to 256 cores",
)
def _vertical_limit() -> Finding:
    peak_cores = 2 * models.usl_peak(models.SCALE_UP.contention, models.SCALE_UP.coherency)
    biggest = 2 * models.SCALE_UP.max_units
    return Finding(
        f"throughput peaks at {peak_cores:.0f} cores; the largest machine has {biggest:.0f}",
        peak_cores >= 256,
        biggest >= 256,
        "the software keeps scaling on one machine up to 256 cores",
    )


@_claim(
    "horizontal_unlimited",
    "Vertical vs Horizontal Scaling › Detailed Comparison",
    "02",
    "Horizontal scaling is virtually unlimited",
)
def _horizontal_unlimited() -> Finding:
    ceiling = models.SCALE_OUT.ceiling() / models.REFERENCE_RATE
    return Finding(
        f"at most {ceiling:,.0f} servers' worth with 0.5% contention (λ/σ)",
        math.isinf(ceiling),
        math.isinf(models.usl_peak(0.0, 0.0)),
        "servers share nothing at all (σ = κ = 0)",
    )


@_claim(
    "zero_downtime",
    "Vertical vs Horizontal Scaling › Detailed Comparison",
    "02",
    "Scaling out upgrades with zero downtime",
)
def _zero_downtime() -> Finding:
    needed = models.servers_needed(3_000.0, 1_000.0, 0.005)
    stalls = (needed - 1) * 1_000.0 <= 3_000.0
    spare_ok = models.mmc_response_time(3_000.0, 1_000.0, needed) <= 0.005
    return Finding(
        f"{needed} servers carry 3,000 req/s at 5 ms; with one out for its upgrade the rest "
        f"{'overflow' if stalls else 'cope'}",
        not stalls,
        spare_ok,
        "the fleet keeps one spare server (N+1)",
    )


@_claim(
    "high_availability",
    "Vertical vs Horizontal Scaling › Detailed Comparison",
    "02",
    "One machine is a single point of failure; several are highly available",
)
def _high_availability() -> Finding:
    one = 0.99
    any_one = float(models.availability(3, one))  # notebook 02: any one of 3 carries the load
    two_of_three = models.k_of_n_availability(2, 3, one)
    return Finding(
        f"{one:.2%} for one machine; 3 servers {any_one:.4%} if any one carries the load (02), "
        f"{two_of_three:.4%} if two must",
        two_of_three > one,
    )


# --- Database scaling (notebook 03) -------------------------------------------------------


@_claim(
    "replicas_3x", "Database Scaling Patterns › 1. Read Replicas", "03", "3 read replicas scale reads by 3x"
)
def _replicas_3x() -> Finding:
    total = replica_capacity(3).total
    free = replica_capacity(3, apply_cost=0.0).reads / replica_capacity(1, apply_cost=0.0).reads
    return Finding(
        f"{total:.2f}x one server when a replayed write costs a query; {free:.1f}x the reads of one "
        "replica if replay were free",
        _close(total, 3.0),
        _close(free, 3.0),
        "replaying the primary's writes costs the replicas nothing",
    )


@_claim(
    "replica_90",
    "Database Scaling Patterns › 1. Read Replicas",
    "03",
    "The replicas take the read queries, 90% of the traffic (each replica's arrow is labelled 90%)",
)
def _replica_90() -> Finding:
    rng, clock = np.random.default_rng(3), SimClock()  # notebook 03's seed, mix and lag
    primary = db.connect()
    db.create_tables(primary, ["users"])
    router = ReplicaRouter.from_primary(primary, 3, clock=clock, lag=0.1)
    next_id = 1
    for is_write in rng.permutation(np.arange(1000) < 100).tolist():
        if is_write:
            router.execute("INSERT INTO users (id, name, email) VALUES (?, ?, ?)", (next_id, "u", "u@x"))
            next_id += 1
        else:
            router.execute("SELECT name FROM users WHERE id = ?", (int(rng.integers(1, next_id + 1)),))
        clock.advance(0.001)
    clock.advance(0.1)
    replicas = [s for s in router.stats() if s["node"] != "primary"]
    together = sum(s["reads"] for s in replicas) / 1000
    each = max(s["reads"] for s in replicas) / 1000
    work = max(s["reads"] + s["writes"] for s in replicas) / 1000
    return Finding(
        f"the 3 replicas serve {together:.0%} of all queries together, {each:.0%} each (round robin), and "
        f"replaying every write brings each to {work:.0%} of the work; no replica takes 90% on its own",
        _close(together, 0.9),
    )


@_claim(
    "get_shard",
    "Database Scaling Patterns › 2. Database Sharding (code); Interview Q3",
    "03",
    "getShard: user 1 → shard 1, 4 → 0, 7 → 3",
)
def _get_shard() -> Finding:
    got = [HashSharding(4).shard_for(u) for u in (1, 4, 7)]
    return Finding(", ".join(map(str, got)), got == [1, 0, 3])


@_claim(
    "shard_labels",
    "Database Scaling Patterns › 2. Database Sharding (diagram)",
    "03",
    "Shard 1 holds users 0, 4, 8 and shard 2 users 1, 5, 9",
)
def _shard_labels() -> Finding:
    got = [HashSharding(4).shard_for(u) for u in (0, 1)]
    return Finding(
        f"user_id % 4 puts user 0 on shard {got[0]} and user 1 on shard {got[1]}",
        got == [1, 2],
        got == [0, 1],
        "the diagram numbers its shards from 1, the code from 0",
    )


def _users(n: int = 100_000) -> np.ndarray:
    return np.arange(n)


@_claim(
    "hash_even", "Database Scaling Patterns › Sharding Strategies", "03", "Hash sharding spreads data evenly"
)
def _hash_even() -> Finding:
    spread = load_spread(np.bincount(_users() % 4))
    return Finding(f"busiest shard {spread:.2f}x the mean (100,000 ids, 4 shards)", spread <= 1.05)


@_claim(
    "hash_rebalance",
    "Database Scaling Patterns › Sharding Strategies",
    "03",
    "Hash sharding makes adding shards hard",
)
def _hash_rebalance() -> Finding:
    moved = moved_fraction(_users(20_000).tolist(), HashSharding(4).shard_for, HashSharding(5).shard_for)
    return Finding(f"{moved:.0%} of keys move from 4 to 5 shards", moved > 0.5)


@_claim(
    "range_add",
    "Database Scaling Patterns › Sharding Strategies",
    "03",
    "Range sharding makes adding shards easy",
)
def _range_add() -> Finding:
    four = RangeSharding.split(0, 100_000, 4)
    five = RangeSharding([*four.boundaries, (100_000, 125_000)])
    moved = moved_fraction(_users().tolist(), four.shard_for, five.shard_for)
    return Finding(f"{moved:.0%} of keys move when a range is appended", moved < 0.05)


@_claim(
    "range_hotspot",
    "Database Scaling Patterns › Sharding Strategies; Interview Q3",
    "03",
    "Range sharding: uneven, hotspots possible",
)
def _range_hotspot() -> Finding:
    recent = _users()[90_000:]
    spread = load_spread(
        np.bincount([RangeSharding.split(0, 100_000, 4).shard_for(int(k)) for k in recent], minlength=4)
    )
    return Finding(f"the newest 10% of ids put {spread:.1f}x the mean on one shard", spread > 1.5)


@_claim(
    "geo_uneven", "Database Scaling Patterns › Sharding Strategies", "03", "Geographic sharding is uneven"
)
def _geo_uneven() -> Finding:
    rng = np.random.default_rng(3)  # notebook 03's seed, users and country mix
    countries = rng.choice(["US", "IN", "BR", "DE", "JP"], size=2_000, p=[0.45, 0.25, 0.15, 0.10, 0.05])
    geo = GeoSharding({"US": 0, "IN": 1, "BR": 2, "DE": 3, "JP": 3})
    spread = load_spread(np.bincount([geo.shard_for(c) for c in countries.tolist()], minlength=4))
    return Finding(
        f"the US shard carries {spread:.2f}x the mean (2,000 users, 03's country mix)", spread > 1.2
    )


# --- Application scaling (notebook 04) -----------------------------------------------------


@_claim(
    "independent_scaling",
    "Application Scaling Patterns › 2. Microservices Pattern",
    "04",
    "Each service scales independently (3, 10, 2 and 5 instances)",
)
def _independent_scaling() -> Finding:
    units = pt.microservice_units()
    return Finding(
        f"{units['per service']} instances per service vs {units['rigid monolith']} for a rigid "
        f"monolith, {units['pooled monolith']} for a pooled one",
        units["per service"] <= units["pooled monolith"],
        units["per service"] < units["rigid monolith"],
        "the services need different resources, so a monolith could not pool them",
    )


@_claim(
    "fault_isolation",
    "Application Scaling Patterns › 2. Microservices Pattern",
    "04",
    "Comment service down ≠ entire app down",
)
def _fault_isolation() -> Finding:
    gateway, up = 0.9999, 0.999
    paths = {"read a post": {"post"}, "post page": {"user", "post", "comment"}, "sign up": {"user"}}
    working = sum("comment" not in needs for needs in paths.values())
    mono = models.downtime_per_year(gateway * up ** len(pt.SERVICE_LOAD))
    one = models.downtime_per_year(gateway * up)
    return Finding(
        f"with the comment service down {working} of {len(paths)} request paths still work; "
        f"reading a post is down {one:,.0f} vs {mono:,.0f} min a year",
        working > 0,
    )


@_claim(
    "cpu_40",
    "Application Scaling Patterns › 3. Auto-Scaling (diagram)",
    "04",
    "4 → 6 servers at 70% CPU: CPU drops to 40%",
)
def _cpu_40() -> Finding:
    value = autoscale.rescaled_utilisation(0.70, 4, 6)
    return Finding(f"at least {value:.1%}", value <= 0.40 + 0.005)


@_claim(
    "cpu_50",
    "Application Scaling Patterns › 3. Auto-Scaling (diagram)",
    "04",
    "6 → 4 servers at 30% CPU: CPU rises to 50%",
)
def _cpu_50() -> Finding:
    value = autoscale.rescaled_utilisation(0.30, 6, 4)
    return Finding(f"at most {value:.1%}", value >= 0.50 - 0.005)


@_claim(
    "group_2_20",
    "Application Scaling Patterns › 3. Auto-Scaling (configuration)",
    "04",
    "A group of 2 to 20 servers carries the traffic",
)
def _group_2_20() -> Finding:
    offered = _traffic()
    needed = autoscale.servers_for_peak(offered, pt.APP_SERVER_RPS, target=0.70)
    at_max = offered.max() / (20 * pt.APP_SERVER_RPS)
    return Finding(
        f"the sale peak needs {needed} servers at 70% CPU; 20 run it at {at_max:.0%}",
        needed <= 20,
        at_max < 1.0,
        "the peak may run above the 70% target",
    )


def _threshold_run(offered: np.ndarray) -> autoscale.AutoscaleRun:
    return autoscale.simulate(
        offered,
        pt.APP_SERVER_RPS,
        autoscale.ThresholdPolicy(),
        autoscale.GroupLimits(min_size=2, max_size=20, desired=4),
        launch_minutes=3,
    )


@_claim(
    "plus_2",
    "Application Scaling Patterns › 3. Auto-Scaling (configuration)",
    "04",
    "Adding 2 servers after 5 minutes above 70% CPU keeps up with the load",
)
def _plus_2() -> Finding:
    offered = _traffic()
    sale = _threshold_run(offered).worst_wait_minutes * 60
    normal = _threshold_run(offered[: 2 * 1440]).worst_wait_minutes * 60
    return Finding(
        f"longest wait {sale / 60:.1f} min on the sale day, {normal:.0f} s on ordinary days",
        sale <= SMOOTH_WAIT_S,
        normal <= SMOOTH_WAIT_S,
        "load changes slowly (no sudden sale)",
    )


@_claim(
    "no_flapping",
    "Application Scaling Patterns › 3. Auto-Scaling (configuration)",
    "04",
    "Scale in by 1 below 30%, out above 70%: the group settles",
)
def _no_flapping() -> Finding:
    worst = autoscale.rescaled_utilisation(0.30, 3, 2)
    return Finding(f"removing 1 of 3 servers at 30% leaves {worst:.0%}, under the 70% alarm", worst < 0.70)
