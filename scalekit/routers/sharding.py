"""Sharding strategies: which shard a key lives on.

Each strategy has ``shard_for(key)`` (the shard id for one key) and ``shard_ids()``
(every id it can return, so a router can check it has all those shards). They differ
in what they make easy: hash spreads keys evenly but moves most of them when the shard
count changes; ranges keep neighbours together but pile new, time-ordered keys onto the
last shard; geography keeps data near its users but is as uneven as the users are; a
directory can put any key anywhere but every lookup depends on it.
"""

from __future__ import annotations

import math
import numbers
from bisect import bisect_right
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from itertools import pairwise
from typing import Any

from scalekit.routers.hashing import stable_hash

Key = Any
ShardId = Hashable


class HashSharding:
    """``shard = hash(key) % n`` with a stable hash.

    Integer keys use the integer itself (``user_id % n``, the outline's rule); other
    keys use :func:`~scalekit.routers.hashing.stable_hash` (BLAKE2b), never Python's
    per-process salted ``hash``. Note that ``42`` and ``"42"`` may land on different shards.
    """

    def __init__(self, n: int) -> None:
        if isinstance(n, bool) or not isinstance(n, numbers.Integral):
            raise TypeError(f"shard count must be an int, got {type(n).__name__} {n!r}")
        if n < 1:
            raise ValueError(f"shard count must be >= 1, got {n}")
        self.n = int(n)

    def shard_for(self, key: str | bytes | int) -> int:
        """The shard (0 to n-1) for ``key``."""
        if isinstance(key, numbers.Integral) and not isinstance(key, bool):
            return int(key) % self.n
        return stable_hash(key) % self.n

    def shard_ids(self) -> list[int]:
        """Shards 0 to n-1."""
        return list(range(self.n))

    def __repr__(self) -> str:
        return f"HashSharding({self.n})"


class RangeSharding:
    """Shard ``i`` holds the keys in the half-open range ``boundaries[i] = (low, high)``.

    Ranges must be sorted and must not overlap; gaps are allowed, and a key in a gap
    or outside every range is a ``KeyError`` rather than a silent guess.
    """

    def __init__(self, boundaries: Sequence[tuple[Any, Any]]) -> None:
        try:
            ranges = [tuple(pair) for pair in boundaries]
        except TypeError:
            raise TypeError(
                f"RangeSharding needs a list of (low, high) pairs such as [(0, 100), (100, 200)], "
                f"got {boundaries!r}"
            ) from None
        if not ranges:
            raise ValueError("RangeSharding needs at least one (low, high) range, got none")
        for index, pair in enumerate(ranges):
            if len(pair) != 2:
                raise ValueError(f"range {index} must be a (low, high) pair, got {pair!r}")
            low, high = pair
            try:
                ordered = low < high
            except TypeError:
                raise TypeError(
                    f"range {index} is [{low!r}, {high!r}): its ends cannot be compared "
                    f"({type(low).__name__} and {type(high).__name__}); use keys of one kind"
                ) from None
            if not ordered:
                raise ValueError(f"range {index} is [{low!r}, {high!r}): low must be less than high")
        for index in range(1, len(ranges)):
            (prev_low, prev_high), (low, high) = ranges[index - 1], ranges[index]
            if low < prev_low:
                raise ValueError(
                    f"ranges must be sorted by their low end: range {index} starts at {low!r}, "
                    f"before range {index - 1} at {prev_low!r}"
                )
            if low < prev_high:
                raise ValueError(
                    f"ranges must not overlap: range {index - 1} [{prev_low!r}, {prev_high!r}) and "
                    f"range {index} [{low!r}, {high!r}) share keys"
                )
        self.boundaries: list[tuple[Any, Any]] = ranges
        self._lows = [low for low, _ in ranges]

    @classmethod
    def split(cls, low: float, high: float, n: int) -> RangeSharding:
        """``n`` equal-width ranges covering ``[low, high)``: the outline's ``key / range_size``."""
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
            raise ValueError(f"shard count must be an int >= 1, got {n!r}")
        n = int(n)
        if not all(isinstance(v, numbers.Real) and math.isfinite(v) for v in (low, high)):
            raise ValueError(f"split needs finite numbers for low and high, got [{low!r}, {high!r})")
        if not low < high:
            raise ValueError(f"need low < high to split a key range, got [{low!r}, {high!r})")
        edges = [low + (high - low) * i / n for i in range(n)] + [high]
        if all(isinstance(v, int) for v in (low, high)) and (high - low) % n == 0:
            edges = [int(edge) for edge in edges]
        return cls(list(pairwise(edges)))

    def shard_for(self, key: Any) -> int:
        """The index of the range that holds ``key``."""
        try:
            index = bisect_right(self._lows, key) - 1
            inside = index >= 0 and key < self.boundaries[index][1]
        except TypeError:
            raise TypeError(
                f"key {key!r} ({type(key).__name__}) cannot be compared with the range boundaries "
                f"({type(self._lows[0]).__name__})"
            ) from None
        if not inside:
            raise KeyError(f"key {key!r} is outside every range; the ranges are {self._describe()}")
        return index

    def shard_ids(self) -> list[int]:
        """One shard per range: 0 to len(boundaries)-1."""
        return list(range(len(self.boundaries)))

    def _describe(self) -> str:
        shown = [f"[{low!r}, {high!r})" for low, high in self.boundaries[:6]]
        more = f" and {len(self.boundaries) - 6} more" if len(self.boundaries) > 6 else ""
        return ", ".join(shown) + more

    def __repr__(self) -> str:
        return f"RangeSharding({self.boundaries!r})"


class GeoSharding:
    """The shard is chosen by the key's region (a string such as ``"EU"``).

    Regions missing from ``mapping`` go to ``default``; with no default they are a
    ``KeyError`` naming the known regions.
    """

    def __init__(self, mapping: Mapping[str, ShardId], default: ShardId | None = None) -> None:
        if not isinstance(mapping, Mapping):
            raise TypeError(
                f"GeoSharding needs a dict of region -> shard such as {{'US': 0, 'EU': 1}}, "
                f"got {type(mapping).__name__} {mapping!r}"
            )
        if not mapping:
            raise ValueError("GeoSharding needs a mapping of at least one region to a shard")
        for region in mapping:
            if not isinstance(region, str):
                raise TypeError(
                    f"regions must be strings such as 'EU', got {type(region).__name__} {region!r}"
                )
        self.mapping = dict(mapping)
        self.default = default

    def shard_for(self, region: str) -> ShardId:
        """The shard for ``region``."""
        if not isinstance(region, str):
            raise TypeError(f"a region must be a string such as 'EU', got {type(region).__name__} {region!r}")
        if region in self.mapping:
            return self.mapping[region]
        if self.default is not None:
            return self.default
        raise KeyError(
            f"unknown region {region!r}: known regions are {sorted(self.mapping)}; "
            f"pass default=<shard> to route other regions"
        )

    def shard_ids(self) -> list[ShardId]:
        """Every shard a region (or the default) maps to, in first-seen order."""
        ids = [*self.mapping.values(), *([] if self.default is None else [self.default])]
        return list(dict.fromkeys(ids))

    def __repr__(self) -> str:
        return f"GeoSharding({self.mapping!r}, default={self.default!r})"


class DirectoryUnavailable(ConnectionError):
    """The lookup directory is down, so no key can be routed."""


class DirectorySharding:
    """A lookup table says which shard holds each key.

    Any key can be placed (and moved) anywhere, which makes rebalancing flexible, but
    every request needs the directory first: while it is unavailable, nothing can be
    routed, even though every shard is healthy.
    """

    def __init__(self, table: Mapping[Hashable, ShardId]) -> None:
        if not isinstance(table, Mapping):
            raise TypeError(
                f"DirectorySharding needs a dict of key -> shard such as {{42: 1}}, "
                f"got {type(table).__name__} {table!r}"
            )
        self.table: dict[Hashable, ShardId] = dict(table)
        self.available = True
        self.lookups = 0

    def shard_for(self, key: Hashable) -> ShardId:
        """The shard the directory lists for ``key``."""
        if not self.available:
            raise DirectoryUnavailable(
                f"the shard directory is down: cannot route key {key!r} (the shards themselves are fine)"
            )
        self.lookups += 1
        if not isinstance(key, Hashable):
            raise TypeError(
                f"a directory key must be hashable (an int or str), got {type(key).__name__} {key!r}"
            )
        try:
            return self.table[key]
        except KeyError:
            raise KeyError(
                f"key {key!r} is not in the directory; add it with assign(key, shard) first"
            ) from None

    def assign(self, key: Hashable, shard: ShardId) -> None:
        """Place (or move) ``key`` on ``shard``."""
        self.table[key] = shard

    def fail(self) -> None:
        """Simulate the directory going down."""
        self.available = False

    def recover(self) -> None:
        """Bring the directory back."""
        self.available = True

    def shard_ids(self) -> list[ShardId]:
        """Every shard the table currently uses, in first-seen order."""
        return list(dict.fromkeys(self.table.values()))

    def __repr__(self) -> str:
        return f"DirectorySharding(<{len(self.table)} entries>)"


def moved_fraction(
    keys: Iterable[Key], before: Callable[[Key], ShardId], after: Callable[[Key], ShardId]
) -> float:
    """The fraction of ``keys`` whose shard differs between two routings (e.g. 4 and 5 shards)."""
    total = moved = 0
    for key in keys:
        total += 1
        moved += before(key) != after(key)
    if total == 0:
        raise ValueError("moved_fraction needs at least one key")
    return moved / total


def load_spread(counts: Iterable[float]) -> float:
    """``max / mean`` of per-shard loads: 1.0 is perfectly even, 2.0 means the busiest has twice its share.

    A mapping (such as a ``Counter`` of shard -> count) counts by its values, not its keys.
    """
    if isinstance(counts, Mapping):
        counts = counts.values()
    try:
        values = [float(c) for c in counts]
    except (TypeError, ValueError):
        raise ValueError(f"loads must be numbers, one per shard, got {counts!r}") from None
    if not values:
        raise ValueError("load_spread needs at least one shard's count")
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"loads must be finite numbers, got {values}")
    if any(v < 0 for v in values):
        raise ValueError(f"loads cannot be negative, got {values}")
    mean = sum(values) / len(values)
    if mean == 0:
        raise ValueError("load_spread is undefined when every shard has zero load")
    return max(values) / mean
