"""Routers: where a request or a row goes. Replicas, shards, rings, cluster slots, load balancers."""

from scalekit.routers import partitioning
from scalekit.routers.balancers import (
    BalancedRun,
    LeastConnections,
    PowerOfTwoChoices,
    RandomChoice,
    RoundRobin,
    dispatch,
    make_balancer,
    simulate_balancer,
)
from scalekit.routers.hashing import stable_hash
from scalekit.routers.replica_capacity import ReplicaCapacity, replica_capacity, write_cap
from scalekit.routers.replicas import ReplicaRouter, ReplicationError
from scalekit.routers.ring import ConsistentHashRing
from scalekit.routers.shard_router import QueryResult, ShardRouter
from scalekit.routers.sharding import (
    DirectorySharding,
    DirectoryUnavailable,
    GeoSharding,
    HashSharding,
    RangeSharding,
    load_spread,
    moved_fraction,
)
from scalekit.routers.slots import (
    SLOT_COUNT,
    cluster_slot,
    crc16_xmodem,
    hash_tag,
    master_for_slot,
    slot_ranges,
)

__all__ = [
    "SLOT_COUNT",
    "BalancedRun",
    "ConsistentHashRing",
    "DirectorySharding",
    "DirectoryUnavailable",
    "GeoSharding",
    "HashSharding",
    "LeastConnections",
    "PowerOfTwoChoices",
    "QueryResult",
    "RandomChoice",
    "RangeSharding",
    "ReplicaCapacity",
    "ReplicaRouter",
    "ReplicationError",
    "RoundRobin",
    "ShardRouter",
    "cluster_slot",
    "crc16_xmodem",
    "dispatch",
    "hash_tag",
    "load_spread",
    "make_balancer",
    "master_for_slot",
    "moved_fraction",
    "partitioning",
    "replica_capacity",
    "simulate_balancer",
    "slot_ranges",
    "stable_hash",
    "write_cap",
]
