"""Consistent hashing: a ring of virtual nodes that moves few keys when nodes change.

Each node is hashed onto a 64-bit ring at ``vnodes`` points ("virtual nodes"); a key
belongs to the first point clockwise from the key's own hash. Adding a node only takes
over the arcs just before its new points, so about ``1/(n+1)`` of the keys move, all of
them to the new node; removing a node hands only its own keys to its neighbours.
With ``hash(key) % n`` instead, changing ``n`` moves about ``n/(n+1)`` of all keys.
"""

from __future__ import annotations

import numbers
import threading
from bisect import bisect
from collections.abc import Iterable

from scalekit.routers.hashing import HASH_BITS, stable_hash

Node = str | int
RING_SIZE = 1 << HASH_BITS


class ConsistentHashRing:
    """A consistent-hash ring over named nodes, ``vnodes`` points per node.

    Lookups may run in threads while nodes join or leave: a change builds the new
    ring aside and swaps it in whole, so a lookup sees either the old ring or the new.

    ``node_for(key)`` costs one hash and one binary search. Point ``i`` of node ``n``
    sits at ``stable_hash(f"{n}#{i}")`` (BLAKE2b, 64 bits), so every process builds
    the same ring from the same node names.
    """

    def __init__(self, nodes: Iterable[Node], vnodes: int = 160) -> None:
        if isinstance(vnodes, bool) or not isinstance(vnodes, numbers.Integral):
            raise TypeError(f"vnodes must be an int, got {type(vnodes).__name__} {vnodes!r}")
        if vnodes < 1:
            raise ValueError(f"vnodes must be >= 1 (points per node on the ring), got {vnodes}")
        if isinstance(nodes, (str, bytes)):
            raise TypeError(f"nodes must be a list of node names, not one string: got {nodes!r}")
        self._vnodes = int(vnodes)
        self._lock = threading.Lock()
        self._nodes: list[Node] = []
        for node in nodes:
            node = _plain(node)
            self._check_new(node)
            self._nodes.append(node)
        if not self._nodes:
            raise ValueError("a ring needs at least one node, got none")
        self._ring: tuple[list[int], list[Node], tuple[Node, ...]] = ([], [], ())
        self._rebuild()

    @property
    def nodes(self) -> tuple[Node, ...]:
        """The ring's nodes, in the order they were added."""
        return tuple(self._nodes)

    @property
    def vnodes(self) -> int:
        """Points per node on the ring."""
        return self._vnodes

    def node_for(self, key: str | bytes | int) -> Node:
        """The node that owns ``key``: the first ring point clockwise from its hash."""
        points, owners, _ = self._ring
        return owners[bisect(points, stable_hash(key))]

    shard_for = node_for

    def add_node(self, node: Node) -> None:
        """Put ``node`` on the ring; only keys that now hash to its points move, all to it."""
        node = _plain(node)
        with self._lock:
            self._check_new(node)
            self._nodes = [*self._nodes, node]
            self._rebuild()

    def remove_node(self, node: Node) -> None:
        """Take ``node`` off the ring; only its keys move, each to the next point clockwise."""
        with self._lock:
            if node not in self._nodes:
                raise KeyError(f"node {node!r} is not on the ring; its nodes are {list(self._nodes)}")
            if len(self._nodes) == 1:
                raise ValueError(
                    f"cannot remove {node!r}: it is the last node, and a ring needs at least one"
                )
            self._nodes = [n for n in self._nodes if n != node]
            self._rebuild()

    def shard_ids(self) -> list[Node]:
        """The ids this strategy can route to (for :class:`~scalekit.routers.ShardRouter`)."""
        return list(self._nodes)

    def ownership(self) -> dict[Node, float]:
        """The exact fraction of the hash space each node owns (sums to 1).

        This is the share of keys a node gets on average; ``max / mean`` of these
        shares is the ring's load spread, which shrinks as ``vnodes`` grows.
        """
        points, owners, nodes = self._ring
        share = dict.fromkeys(nodes, 0)
        previous = points[-1] - RING_SIZE
        for point, owner in zip(points, owners, strict=False):
            share[owner] += point - previous
            previous = point
        return {node: arc / RING_SIZE for node, arc in share.items()}

    def __len__(self) -> int:
        return len(self._nodes)

    def __repr__(self) -> str:
        return f"ConsistentHashRing(nodes={list(self._nodes)!r}, vnodes={self._vnodes})"

    def _check_new(self, node: Node) -> None:
        if isinstance(node, bool) or not isinstance(node, (str, int)):
            raise TypeError(f"node names must be str or int, got {type(node).__name__} {node!r}")
        if any(str(node) == str(existing) for existing in self._nodes):
            raise ValueError(f"node {node!r} is already on the ring (names must differ as text)")

    def _rebuild(self) -> None:
        placed = sorted(
            (stable_hash(f"{node}#{i}"), str(node), node) for node in self._nodes for i in range(self._vnodes)
        )
        owners = [node for _, _, node in placed]
        self._ring = ([point for point, _, _ in placed], [*owners, owners[0]], tuple(self._nodes))


def _plain(node: object) -> object:
    """numpy integers name the same node as the int they hold."""
    if isinstance(node, numbers.Integral) and not isinstance(node, bool):
        return int(node)
    return node
