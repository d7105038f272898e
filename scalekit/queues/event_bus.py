"""An event bus on Redis Streams: publish once, every subscriber group gets its own copy.

A topic is one stream. A publisher appends an event with XADD and knows nothing about
who listens. Each subscriber (inventory, payment, email, ...) is a *consumer group*
with its own position in the stream, so every group sees every event; the consumers
inside a group (several copies of one service) share the group's events between them.
A consumer acknowledges an event with XACK after handling it; until then it stays in
the group's pending list, and if the consumer dies, another one takes it over with
XAUTOCLAIM. Delivery is at least once, as with the job queue.

An event that fails every time (a *poison* event) would be claimed and fail forever.
So each group delivers an event at most ``max_deliveries`` times; the claim after the
last one moves it to the topic's dead-letter stream (``<prefix>:dead:<topic>``) with its
group, delivery count and last error, where ``dead_letters`` lists it for a person to
look at. The move is copy-then-ack, so a crash between the two can copy an event twice;
``dead_letters`` shows each one once.

Durability: streams, groups and dead letters live in Redis memory. A server without
persistence (``appendonly yes``, or RDB snapshots, which lose the last minutes) forgets
every event and every group's position when it restarts, and an evicting
``maxmemory-policy`` may delete a stream to make room.

Reads never block (``XREADGROUP`` without ``BLOCK``), so the same code runs on the
embedded fakeredis; a long-running consumer polls.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis

from scalekit.queues.encoding import describe_error, safe_text, to_json


@dataclass(frozen=True)
class Message:
    """One delivered event: its stream id, topic, the event itself (a dict), and which
    delivery this is to its group (1 = first)."""

    id: str
    topic: str
    event: dict[str, Any]
    deliveries: int = 1


@dataclass(frozen=True)
class DeadLetter:
    """An event a group gave up on: its stream id, topic and group, the event, how many
    times it was delivered, and the error of the last attempt."""

    id: str
    topic: str
    group: str
    event: dict[str, Any]
    deliveries: int
    error: str


class EventBus:
    """Topics as Redis Streams under ``<prefix>:topic:<name>``, subscribers as consumer groups.

    ``maxlen`` (optional) trims each stream to about that many events, which bounds memory
    but can drop events a slow group has not read yet. ``max_deliveries`` is how many times
    a group tries an event before ``claim`` moves it to the dead letters.
    """

    def __init__(
        self,
        client: redis.Redis,
        prefix: str = "events",
        *,
        maxlen: int | None = None,
        max_deliveries: int = 5,
    ) -> None:
        if not isinstance(prefix, str) or not prefix:
            raise ValueError(f"prefix must be a non-empty string, got {prefix!r}")
        if maxlen is not None and not (_whole(maxlen) and maxlen >= 1):
            raise ValueError(f"maxlen must be >= 1 or None (keep everything), got {maxlen}")
        if not (_whole(max_deliveries) and max_deliveries >= 1):
            raise ValueError(f"max_deliveries must be a whole number >= 1, got {max_deliveries!r}")
        self.client, self.prefix, self.maxlen = client, prefix, maxlen
        self.max_deliveries = int(max_deliveries)

    def stream_key(self, topic: str) -> str:
        """The Redis stream that holds ``topic``."""
        if not isinstance(topic, str) or not topic:
            raise ValueError(f"a topic is a non-empty string, got {topic!r}")
        return f"{self.prefix}:topic:{topic}"

    def dead_key(self, topic: str) -> str:
        """The stream of ``topic``'s dead letters (every group's)."""
        self.stream_key(topic)
        return f"{self.prefix}:dead:{topic}"

    def _errors_key(self, topic: str) -> str:
        self.stream_key(topic)
        return f"{self.prefix}:errors:{topic}"

    def publish(self, topic: str, event: dict[str, Any]) -> str:
        """Append ``event`` (a JSON-serialisable dict) to ``topic``; return its stream id."""
        if not isinstance(event, dict):
            raise ValueError(f"an event is a dict, got {type(event).__name__}")
        body = to_json(event, "an event")
        kwargs: dict[str, Any] = {} if self.maxlen is None else {"maxlen": self.maxlen, "approximate": True}
        return str(self.client.xadd(self.stream_key(topic), {"event": body}, **kwargs))

    def subscribe(self, topic: str, group: str, *, start: str = "$") -> bool:
        """Create subscriber ``group`` on ``topic``; False if it already existed (nothing changes).

        ``start="$"`` delivers only events published from now on; ``start="0"`` replays
        the whole stream first, which is how a new service catches up on history.
        """
        if not isinstance(group, str) or not group:
            raise ValueError(f"a group is a non-empty string, got {group!r}")
        try:
            self.client.xgroup_create(self.stream_key(topic), group, id=start, mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" in str(exc):
                return False
            if "Invalid stream ID" in str(exc):
                raise ValueError(
                    f"start is '$' (new events only), '0' (the whole history) or a stream id, got {start!r}"
                ) from None
            raise
        return True

    def groups(self, topic: str) -> list[str]:
        """The subscriber groups of ``topic``, sorted by name."""
        if not self.client.exists(self.stream_key(topic)):
            return []
        return sorted(str(info["name"]) for info in self.client.xinfo_groups(self.stream_key(topic)))

    def read(self, topic: str, group: str, consumer: str, *, count: int = 10) -> list[Message]:
        """Up to ``count`` events new to ``group``, pending on ``consumer`` until it acks them."""
        if not (_whole(count) and count >= 1):
            raise ValueError(f"count must be a whole number >= 1, got {count!r}")
        key = self.stream_key(topic)
        try:
            reply = self.client.xreadgroup(group, consumer, {key: ">"}, count=count)
        except redis.ResponseError as exc:
            if "NOGROUP" in str(exc) or "requires the key to exist" in str(exc):
                raise ValueError(f"{group!r} has not subscribed to {topic!r}: call subscribe first") from None
            raise
        entries = [entry for _, batch in reply or [] for entry in batch]
        return self._readable(topic, group, [(entry, 1) for entry in entries])

    def _readable(self, topic: str, group: str, entries: list[tuple[Any, int]]) -> list[Message]:
        """Messages for ``entries`` (with their delivery counts); an entry that no ``publish``
        wrote (no ``event`` field, or not a JSON object) goes straight to the dead letters, since
        no handler could ever read it."""
        messages = []
        for (message_id, fields), deliveries in entries:
            try:
                event = json.loads(fields["event"])
            except (KeyError, TypeError, ValueError):
                event = None
            if isinstance(event, dict):
                messages.append(Message(str(message_id), topic, event, deliveries))
                continue
            foreign = Message(str(message_id), topic, {str(k): str(v) for k, v in (fields or {}).items()})
            reason = "not an event written by EventBus.publish (needs a field 'event' holding a JSON object)"
            self._dead_letter(topic, group, foreign, deliveries, error=reason)
        return messages

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
        the longest time a healthy consumer needs for one message: a claim takes a message from
        a consumer that is still working on it, and counts as a delivery. ``min_idle=0`` suits a
        demonstration with one consumer; with several claiming at once it hands one event to
        two of them and uses up its deliveries. A message that another consumer claimed between
        this claim and its delivery count is left to that consumer.
        """
        if not (min_idle >= 0 and math.isfinite(min_idle)):
            raise ValueError(f"min_idle must be a finite number of seconds >= 0, got {min_idle}")
        if not (_whole(count) and count >= 1):
            raise ValueError(f"count must be a whole number >= 1, got {count!r}")
        key, cursor, claimed = self.stream_key(topic), "0-0", []
        while True:
            reply = self.client.xautoclaim(
                key, group, consumer, int(min_idle * 1000), start_id=cursor, count=count
            )
            cursor, entries = reply[0], reply[1]
            claimed.extend(entry for entry in entries if entry and entry[1])
            if cursor in ("0-0", b"0-0"):
                break
        counts = self._deliveries(topic, group, consumer, [str(entry[0]) for entry in claimed])
        kept, fresh = [], []
        for entry in claimed:
            deliveries = counts.get(str(entry[0]))
            if deliveries is None:
                continue  # another consumer claimed it in the meantime: it is theirs now
            if deliveries > self.max_deliveries:
                message = Message(str(entry[0]), topic, {})
                self._dead_letter(topic, group, message, deliveries - 1, fields=entry[1])
            else:
                fresh.append((entry, deliveries))
        kept.extend(self._readable(topic, group, fresh))
        return kept

    def _deliveries(self, topic: str, group: str, consumer: str, ids: list[str]) -> dict[str, int]:
        """How many times each of ``ids`` (pending on ``consumer``) has been delivered."""
        if not ids:
            return {}
        ordered = sorted(ids, key=lambda i: tuple(int(part) for part in i.split("-")))
        rows = self.client.xpending_range(
            self.stream_key(topic),
            group,
            min=ordered[0],
            max=ordered[-1],
            count=len(ids) + 10_000,
            consumername=consumer,
        )
        return {str(row["message_id"]): int(row["times_delivered"]) for row in rows}

    def _dead_letter(
        self,
        topic: str,
        group: str,
        message: Message,
        deliveries: int,
        *,
        error: str | None = None,
        fields: dict[str, str] | None = None,
    ) -> None:
        """Copy ``message`` to the dead letters with its last error (or ``error``), then ack it
        for ``group``. ``fields`` are the stream entry's own, kept as they are."""
        field = json.dumps([group, message.id])
        if error is None:
            error = self.client.hget(self._errors_key(topic), field) or ""
        body = fields.get("event") if fields is not None else None
        record = {
            "id": message.id,
            "group": group,
            "event": body
            if isinstance(body, str)
            else json.dumps(message.event or fields or {}, sort_keys=True),
            "deliveries": str(deliveries),
            "error": str(error),
        }
        self.client.xadd(self.dead_key(topic), record)
        self.client.xack(self.stream_key(topic), group, message.id)
        self.client.hdel(self._errors_key(topic), field)

    def dead_letters(self, topic: str, group: str | None = None) -> list[DeadLetter]:
        """The events given up on for ``topic`` (only ``group``'s if given), oldest first, each once."""
        seen, letters = set(), []
        for _, fields in self.client.xrange(self.dead_key(topic)):
            if (group is not None and fields["group"] != group) or (fields["group"], fields["id"]) in seen:
                continue
            seen.add((fields["group"], fields["id"]))
            letters.append(
                DeadLetter(
                    str(fields["id"]),
                    topic,
                    str(fields["group"]),
                    _as_event(fields["event"]),
                    int(fields["deliveries"]),
                    str(fields["error"]),
                )
            )
        return letters

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
        or for another consumer to claim, and its error is kept for the dead letters. That
        holds for ``SystemExit`` and ``asyncio.CancelledError`` too; only ``KeyboardInterrupt``
        stops the batch (what was handled before it is still acknowledged).
        """
        batch = self.read(topic, group, consumer, count=count) if messages is None else messages
        handled, failed, retried = [], {}, []
        try:
            for message in batch:
                try:
                    handler(message)
                except KeyboardInterrupt:
                    raise
                except BaseException as exc:
                    failed[json.dumps([group, message.id])] = safe_text(describe_error(exc))
                    continue
                handled.append(message.id)
                if message.deliveries > 1:
                    retried.append(json.dumps([group, message.id]))
        finally:
            if failed:
                self.client.hset(self._errors_key(topic), mapping=failed)
            self.ack(topic, group, *handled)
            if retried:
                self.client.hdel(self._errors_key(topic), *retried)
        return len(handled)

    def __repr__(self) -> str:
        return f"EventBus(prefix={self.prefix!r})"


def _as_event(body: str) -> dict[str, Any]:
    """A dead letter's event; a body that is not a JSON object comes back as ``{"raw": body}``."""
    try:
        event = json.loads(body)
    except ValueError:
        return {"raw": body}
    return event if isinstance(event, dict) else {"raw": body}


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
