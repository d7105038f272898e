"""Routers for the database side of scaling: replicas, shards, rings and cluster slots."""

from scalekit.routers import partitioning
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
    "ConsistentHashRing",
    "DirectorySharding",
    "DirectoryUnavailable",
    "GeoSharding",
    "HashSharding",
    "QueryResult",
    "RangeSharding",
    "ReplicaCapacity",
    "ReplicaRouter",
    "ReplicationError",
    "ShardRouter",
    "cluster_slot",
    "crc16_xmodem",
    "hash_tag",
    "load_spread",
    "master_for_slot",
    "moved_fraction",
    "partitioning",
    "replica_capacity",
    "slot_ranges",
    "stable_hash",
    "write_cap",
]
