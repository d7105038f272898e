"""An event bus on Redis Streams: publish once, every subscriber group gets its own copy.

A topic is one stream. A publisher appends an event with XADD and knows nothing about
who listens. Each subscriber (inventory, payment, email, ...) is a *consumer group*
with its own position in the stream, so every group sees every event; the consumers
inside a group (several copies of one service) share the group's events between them.
A consumer acknowledges an event with XACK after handling it; until then it stays in
the group's pending list, and if the consumer dies, another one takes it over with
XAUTOCLAIM. Delivery is at least once, as with the job queue.

Reads never block (``XREADGROUP`` without ``BLOCK``), so the same code runs on the
embedded fakeredis; a long-running consumer polls.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis


@dataclass(frozen=True)
class Message:
    """One delivered event: its stream id, topic and the event itself (a dict)."""

    id: str
    topic: str
    event: dict[str, Any]


class EventBus:
    """Topics as Redis Streams under ``<prefix>:topic:<name>``, subscribers as consumer groups.

    ``maxlen`` (optional) trims each stream to about that many events, which bounds memory
    but can drop events a slow group has not read yet.
    """

    def __init__(self, client: redis.Redis, prefix: str = "events", *, maxlen: int | None = None) -> None:
        if not isinstance(prefix, str) or not prefix:
            raise ValueError(f"prefix must be a non-empty string, got {prefix!r}")
        if maxlen is not None and maxlen < 1:
            raise ValueError(f"maxlen must be >= 1 or None (keep everything), got {maxlen}")
        self.client, self.prefix, self.maxlen = client, prefix, maxlen

    def stream_key(self, topic: str) -> str:
        """The Redis stream that holds ``topic``."""
        if not isinstance(topic, str) or not topic:
            raise ValueError(f"a topic is a non-empty string, got {topic!r}")
        return f"{self.prefix}:topic:{topic}"

    def publish(self, topic: str, event: dict[str, Any]) -> str:
        """Append ``event`` (a JSON-serialisable dict) to ``topic``; return its stream id."""
        if not isinstance(event, dict):
            raise ValueError(f"an event is a dict, got {type(event).__name__}")
        try:
            body = json.dumps(event, sort_keys=True, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"an event must be JSON-serialisable ({exc})") from None
        kwargs: dict[str, Any] = {} if self.maxlen is None else {"maxlen": self.maxlen, "approximate": True}
        return str(self.client.xadd(self.stream_key(topic), {"event": body}, **kwargs))

    def subscribe(self, topic: str, group: str, *, start: str = "$") -> bool:
        """Create subscriber ``group`` on ``topic``; False if it already existed (nothing changes).

        ``start="$"`` delivers only events published from now on; ``start="0"`` replays
        the whole stream first, which is how a new service catches up on history.
        """
        try:
            self.client.xgroup_create(self.stream_key(topic), group, id=start, mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" in str(exc):
                return False
            raise
        return True

    def groups(self, topic: str) -> list[str]:
        """The subscriber groups of ``topic``, sorted by name."""
        if not self.client.exists(self.stream_key(topic)):
            return []
        return sorted(str(info["name"]) for info in self.client.xinfo_groups(self.stream_key(topic)))

    def read(self, topic: str, group: str, consumer: str, *, count: int = 10) -> list[Message]:
        """Up to ``count`` events new to ``group``, pending on ``consumer`` until it acks them."""
        if count < 1:
            raise ValueError(f"count must be >= 1, got {count}")
        key = self.stream_key(topic)
        try:
            reply = self.client.xreadgroup(group, consumer, {key: ">"}, count=count)
        except redis.ResponseError as exc:
            if "NOGROUP" in str(exc) or "requires the key to exist" in str(exc):
                raise ValueError(f"{group!r} has not subscribed to {topic!r}: call subscribe first") from None
            raise
        return [self._message(topic, entry) for _, entries in reply or [] for entry in entries]

    def ack(self, topic: str, group: str, *message_ids: str) -> int:
        """Mark messages handled for ``group``; return how many were pending."""
        if not message_ids:
            return 0
        return int(self.client.xack(self.stream_key(topic), group, *message_ids))

    def pending(self, topic: str, group: str) -> dict[str, int]:
        """Delivered but unacknowledged messages of ``group``, per consumer (sorted by name)."""
        summary = self.client.xpending(self.stream_key(topic), group)
        return {
            str(c["name"]): int(c["pending"]) for c in sorted(summary["consumers"], key=lambda c: c["name"])
        }

    def claim(
        self, topic: str, group: str, consumer: str, *, min_idle: float = 60.0, count: int = 100
    ) -> list[Message]:
        """Take over messages of ``group`` pending for at least ``min_idle`` seconds (their consumer
        is presumed dead) and give them to ``consumer``, with XAUTOCLAIM.

        Idle time is measured by the Redis server's clock, so keep ``min_idle`` well above
        the longest time a healthy consumer needs for one message.
        """
        if min_idle < 0:
            raise ValueError(f"min_idle must be >= 0 seconds, got {min_idle}")
        key, cursor, claimed = self.stream_key(topic), "0-0", []
        while True:
            reply = self.client.xautoclaim(
                key, group, consumer, int(min_idle * 1000), start_id=cursor, count=count
            )
            cursor, entries = reply[0], reply[1]
            claimed.extend(self._message(topic, entry) for entry in entries if entry and entry[1])
            if cursor in ("0-0", b"0-0"):
                return claimed

    def consume(
        self,
        topic: str,
        group: str,
        consumer: str,
        handler: Callable[[Message], object],
        *,
        count: int = 100,
        messages: list[Message] | None = None,
    ) -> int:
        """Read (or take ``messages``), run ``handler`` on each and ack it; return how many were handled.

        A message whose handler raises is not acknowledged: it stays pending for a retry
        or for another consumer to claim.
        """
        batch = self.read(topic, group, consumer, count=count) if messages is None else messages
        handled = []
        for message in batch:
            try:
                handler(message)
            except Exception:
                continue
            handled.append(message.id)
        self.ack(topic, group, *handled)
        return len(handled)

    def _message(self, topic: str, entry: tuple[str, dict[str, str]]) -> Message:
        message_id, fields = entry
        return Message(str(message_id), topic, json.loads(fields["event"]))

    def __repr__(self) -> str:
        return f"EventBus(prefix={self.prefix!r})"
