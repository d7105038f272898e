"""How far read replicas scale a read-heavy workload, and where writes stop them.

Every node can do ``node_capacity`` queries per second. Reads are spread evenly over
the replicas; every write runs on the primary, and every replica must also replay it
(``apply_cost`` says what a replayed write costs relative to a query: 1 when it does
the same work, 0 when replaying were free). The busiest node sets the throughput.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass


@dataclass(frozen=True)
class ReplicaCapacity:
    """The most queries per second a primary with ``replicas`` read replicas can serve."""

    replicas: int
    total: float
    reads: float
    writes: float
    bottleneck: str


def replica_capacity(
    replicas: int,
    *,
    node_capacity: float = 1.0,
    write_fraction: float = 0.1,
    apply_cost: float = 1.0,
) -> ReplicaCapacity:
    """Maximum throughput of the mix, and which node runs out first.

    With no replicas one node serves everything. Otherwise the primary carries the
    writes (``w * X <= C``) and each replica its share of the reads plus every
    replayed write (``(1 - w) * X / n + a * w * X <= C``).
    """
    if isinstance(replicas, bool) or not isinstance(replicas, numbers.Integral) or replicas < 0:
        raise ValueError(f"replicas must be an int >= 0, got {replicas!r}")
    if not node_capacity > 0:
        raise ValueError(f"node_capacity must be > 0 queries/s, got {node_capacity!r}")
    if not 0 <= write_fraction <= 1:
        raise ValueError(f"write_fraction must be between 0 and 1, got {write_fraction!r}")
    if not apply_cost >= 0:
        raise ValueError(
            f"apply_cost must be >= 0 (1 = a replayed write costs one query), got {apply_cost!r}"
        )
    w = float(write_fraction)
    if replicas == 0:
        total, bottleneck = float(node_capacity), "single node"
    else:
        per_query_on_replica = (1 - w) / replicas + apply_cost * w
        replica_limit = node_capacity / per_query_on_replica if per_query_on_replica > 0 else float("inf")
        primary_limit = node_capacity / w if w > 0 else float("inf")
        total = min(replica_limit, primary_limit)
        bottleneck = "primary (writes)" if primary_limit <= replica_limit else "replicas"
    return ReplicaCapacity(int(replicas), total, (1 - w) * total, w * total, bottleneck)


def write_cap(*, node_capacity: float = 1.0, write_fraction: float = 0.1) -> float:
    """The throughput no number of replicas can exceed: the primary alone runs every write."""
    if not 0 < write_fraction <= 1:
        raise ValueError(f"write_fraction must be in (0, 1] for a write cap to exist, got {write_fraction!r}")
    return node_capacity / write_fraction
