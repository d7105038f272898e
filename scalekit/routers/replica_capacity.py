"""How far read replicas scale a read-heavy workload, and where writes stop them.

Every node can do ``node_capacity`` queries per second. Reads are spread evenly over
the replicas; every write runs on the primary, and every replica must also replay it
(``apply_cost`` says what a replayed write costs relative to a query: 1 when it does
the same work, 0 when replaying were free). The busiest node sets the throughput.

The writes are given one of two ways: as a share of all queries (``write_fraction``,
so more reads bring more writes) or as a fixed rate (``write_rate`` writes/s, when the
scenario fixes how many writes there are and only the reads grow).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

DEFAULT_WRITE_FRACTION = 0.1


@dataclass(frozen=True)
class ReplicaCapacity:
    """The most queries per second a primary with ``replicas`` read replicas can serve."""

    replicas: int
    total: float
    reads: float
    writes: float
    bottleneck: str


def _number(name: str, value: object, rule: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number ({rule}), got {value!r}")
    return float(value)


def replica_capacity(
    replicas: int,
    *,
    node_capacity: float = 1.0,
    write_fraction: float | None = None,
    apply_cost: float = 1.0,
    write_rate: float | None = None,
) -> ReplicaCapacity:
    """Maximum throughput of the mix, and which node runs out first.

    With no replicas one node serves everything. Otherwise the primary carries the
    writes and each replica its share of the reads plus every replayed write.

    - ``write_fraction`` (default 0.1): writes are a fixed share ``w`` of all queries
      ``X``, so ``w * X <= C`` on the primary and ``(1 - w) * X / n + a * w * X <= C``
      on each replica.
    - ``write_rate``: writes are a fixed ``W`` per second. The primary runs ``W <= C``;
      each replica serves ``reads / n + a * W <= C``, so
      ``reads = n * (C - a * W)`` and ``total = reads + W``.

    Give one or the other, not both.
    """
    if isinstance(replicas, bool) or not isinstance(replicas, numbers.Integral) or replicas < 0:
        raise ValueError(f"replicas must be an int >= 0, got {replicas!r}")
    capacity = _number("node_capacity", node_capacity, "> 0 queries/s")
    if not 0 < capacity < math.inf:
        raise ValueError(f"node_capacity must be > 0 queries/s (and finite), got {node_capacity!r}")
    a = _number("apply_cost", apply_cost, "1 = a replayed write costs one query")
    if not 0 <= a < math.inf:
        raise ValueError(
            f"apply_cost must be >= 0 (1 = a replayed write costs one query), got {apply_cost!r}"
        )
    if write_rate is not None:
        if write_fraction is not None:
            raise ValueError(
                "give the writes either as write_fraction (a share of all queries) "
                "or as write_rate (writes per second), not both"
            )
        return _with_write_rate(int(replicas), capacity, a, write_rate)
    fraction = DEFAULT_WRITE_FRACTION if write_fraction is None else write_fraction
    w = _number("write_fraction", fraction, "a share between 0 and 1")
    if not 0 <= w <= 1:
        raise ValueError(f"write_fraction must be between 0 and 1, got {write_fraction!r}")
    if replicas == 0:
        total, bottleneck = capacity, "single node"
    else:
        per_query_on_replica = (1 - w) / replicas + a * w
        replica_limit = capacity / per_query_on_replica if per_query_on_replica > 0 else math.inf
        primary_limit = capacity / w if w > 0 else math.inf
        total = min(replica_limit, primary_limit)
        bottleneck = "primary (writes)" if primary_limit <= replica_limit else "replicas"
    return ReplicaCapacity(int(replicas), total, (1 - w) * total, w * total, bottleneck)


def _with_write_rate(replicas: int, capacity: float, a: float, write_rate: object) -> ReplicaCapacity:
    writes = _number("write_rate", write_rate, "writes per second, >= 0")
    if not 0 <= writes < math.inf:
        raise ValueError(f"write_rate must be a finite number >= 0 writes/s, got {write_rate!r}")
    where = "the single node" if replicas == 0 else "the primary"
    if writes > capacity:
        raise ValueError(
            f"write_rate {writes:g}/s is more than {where} can run (node_capacity {capacity:g}/s): "
            "replicas do not help with writes; shard them or buy a bigger primary"
        )
    if replicas == 0:
        return ReplicaCapacity(0, capacity, capacity - writes, writes, "single node")
    replay = a * writes
    if replay > capacity:
        raise ValueError(
            f"each replica must replay {writes:g} writes/s at apply_cost {a:g}, which is "
            f"{replay:g} queries/s of work, more than node_capacity {capacity:g}/s: the replicas "
            "would fall further behind forever"
        )
    reads = replicas * (capacity - replay)
    return ReplicaCapacity(replicas, reads + writes, reads, writes, "replicas")


def write_cap(*, node_capacity: float = 1.0, write_fraction: float = DEFAULT_WRITE_FRACTION) -> float:
    """The throughput no number of replicas can exceed: the primary alone runs every write."""
    capacity = _number("node_capacity", node_capacity, "> 0 queries/s")
    if not 0 < capacity < math.inf:
        raise ValueError(f"node_capacity must be > 0 queries/s (and finite), got {node_capacity!r}")
    w = _number("write_fraction", write_fraction, "a share in (0, 1]")
    if not 0 < w <= 1:
        raise ValueError(f"write_fraction must be in (0, 1] for a write cap to exist, got {write_fraction!r}")
    return capacity / w
