"""Home timelines on Redis: fan-out on write, on read, the hybrid, on a cluster and from a queue.

``Timeline`` stores posts and delivers them by one of three strategies (``core``);
``buckets`` spreads home timelines over a Redis Cluster; ``QueuedFanout`` stores a post
and leaves the pushing to queue workers; ``fanout_model`` predicts the work per post and
per read for a follower distribution.
"""

from scalekit.timeline.buckets import CALLS_PER_TRIP, bucket_tags, node_shares
from scalekit.timeline.core import (
    CLUSTER_BUCKETS,
    STRATEGIES,
    Post,
    PostReceipt,
    ReadCost,
    Timeline,
    fanout_model,
)
from scalekit.timeline.queued import QueuedFanout, QueuedPost

__all__ = [
    "CALLS_PER_TRIP",
    "CLUSTER_BUCKETS",
    "STRATEGIES",
    "Post",
    "PostReceipt",
    "QueuedFanout",
    "QueuedPost",
    "ReadCost",
    "Timeline",
    "bucket_tags",
    "fanout_model",
    "node_shares",
]
