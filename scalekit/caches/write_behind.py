"""Write-behind (write-back): acknowledge a write once Redis has it, save it to the store later.

A write appends the change to a Redis Stream (the durable backlog, not process memory)
and records the newest value per key, in one Lua script. The caller is answered as
soon as that script returns. A *flusher* later reads the oldest changes in batches,
keeps only the last change per key (a delete stays a delete), applies them to the
store in one transaction, and only then removes them from the stream. A change the
store refuses outright goes to a dead-letter stream rather than blocking the rest.

Crash safety comes from versions: each change carries its stream id, and the store
keeps the id of the last change it applied per key. A flusher killed after applying a
batch but before removing it leaves the batch in the stream; the next flusher applies
it again, and the store skips what it already has.

What this needs from Redis: an acknowledged write lives only in Redis until it is
flushed, so Redis must keep it across a restart. Run Redis with ``appendonly yes``
(and ``appendfsync always`` to lose nothing; the default ``everysec`` can lose about
the last second of acknowledged writes). Without AOF or RDB persistence a Redis
restart loses the whole backlog. A failover to an asynchronously replicated replica
can lose the newest writes too; ``WAIT`` after a write asks replicas to confirm it.

Run a flusher as its own process with ``python -m scalekit.caches.write_behind --help``.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis

from scalekit.caches._ttl import FILL_IF_UNCHANGED, check_prefix, check_wait, ttl_ms
from scalekit.caches.store import Change, ProductStore, StoreUnavailable, check_key, encode_product
from scalekit.clock import Clock, RealClock

_RECORD = """
if redis.call('XLEN', KEYS[1]) >= tonumber(ARGV[3]) then return false end
local id = redis.call('XADD', KEYS[1], '*', 'k', ARGV[1], 'p', ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], id .. ' ' .. ARGV[2])
redis.call('INCR', KEYS[4])
if ARGV[2] == '' then
  redis.call('DEL', KEYS[3])
elseif tonumber(ARGV[4]) > 0 then
  redis.call('SET', KEYS[3], ARGV[2], 'PX', ARGV[4])
else
  redis.call('SET', KEYS[3], ARGV[2])
end
return id
"""
_ACKNOWLEDGE = """
local n = tonumber(ARGV[1])
for i = 2, n + 1 do redis.call('XDEL', KEYS[1], ARGV[i]) end
for i = n + 2, #ARGV, 2 do
  local current = redis.call('HGET', KEYS[2], ARGV[i])
  local id = ARGV[i + 1]
  if current and string.sub(current, 1, #id + 1) == id .. ' ' then redis.call('HDEL', KEYS[2], ARGV[i]) end
end
return n
"""
_BURY = """
local current = redis.call('HGET', KEYS[2], ARGV[1])
if current and string.sub(current, 1, #ARGV[3] + 1) == ARGV[3] .. ' ' then redis.call('DEL', KEYS[3]) end
return redis.call('XADD', KEYS[1], '*', 'k', ARGV[1], 'p', ARGV[2], 'version', ARGV[3], 'error', ARGV[4])
"""


# The store will never take such a change, so retrying cannot help; StoreUnavailable and
# sqlite3.OperationalError ("database is locked") are different: a later flush may succeed.
_REFUSALS = (ValueError, TypeError, OverflowError, sqlite3.IntegrityError)
TRANSIENT = (StoreUnavailable, sqlite3.OperationalError)


class BacklogFull(RuntimeError):
    """The write was refused (not recorded) because too many writes wait for the store."""


class WriteBehind:
    """Products cached in Redis and saved to a :class:`ProductStore` later, in batches.

    Keys live under ``<prefix>:``: ``log`` (the stream), ``pending`` (newest unsaved
    change per product), ``item:<id>`` (the cached value), ``gen:<id>`` (how many
    writes product ``id`` has had: a read that missed fills ``item:<id>`` from the
    store only if no write was recorded while it read) and ``dead`` (changes the
    store refused, see :meth:`flush_once`). On Redis Cluster the prefix needs a
    hash tag (e.g. ``"{orders}"``) so the Lua scripts' keys share a slot: an untagged
    prefix is a ValueError here, before anything is written.
    ``max_pending`` bounds the backlog; ``clock`` times the flusher's retry backoff and the writers' waits.
    Acknowledged writes are only as durable as Redis: see the module docstring (``appendonly yes``).
    """

    def __init__(
        self,
        cache: redis.Redis,
        store: ProductStore,
        *,
        prefix: str = "behind",
        batch_size: int = 100,
        max_pending: int = 10_000,
        ttl: float | None = None,
        clock: Clock | None = None,
    ) -> None:
        _check_count(batch_size, "batch_size")
        _check_count(max_pending, "max_pending")
        if not cache.get_connection_kwargs().get("decode_responses"):
            raise ValueError(
                "WriteBehind needs a Redis client created with decode_responses=True "
                "(values as str), e.g. redis.Redis.from_url(url, decode_responses=True)"
            )
        self.cache, self.store = cache, store
        self.prefix = prefix = check_prefix(cache, prefix, "write-behind")
        self.batch_size, self.max_pending = int(batch_size), int(max_pending)
        self._ttl_ms = 0 if ttl is None else ttl_ms(ttl)
        self.clock: Clock = clock if clock is not None else RealClock()
        self.log_key = f"{prefix}:log"
        self.pending_key = f"{prefix}:pending"
        self.dead_key = f"{prefix}:dead"
        self._record = cache.register_script(_RECORD)
        self._acknowledge = cache.register_script(_ACKNOWLEDGE)
        self._fill = cache.register_script(FILL_IF_UNCHANGED)
        self._bury = cache.register_script(_BURY)
        self.closed = False
        self.batches = self.flushed = self.coalesced = self.skipped = self.retries = self.refused = 0
        self.dead_lettered = 0

    def item_key(self, key: int) -> str:
        """The Redis key that caches product ``key``."""
        return f"{self.prefix}:item:{key}"

    def generation_key(self, key: int) -> str:
        """The Redis key counting the writes recorded for product ``key``."""
        return f"{self.prefix}:gen:{key}"

    def put(self, key: int, value: dict[str, Any], *, timeout: float = 0.0) -> str:
        """Record a write durably in Redis and return its version (stream id).

        When the backlog is full, wait up to ``timeout`` seconds (a finite number >= 0,
        on the clock) for the flusher to make room, then raise :class:`BacklogFull`: a
        write is never dropped silently. ``value`` may be any mapping with the product fields.
        A Redis error (a dropped connection) leaves it unknown whether the write was recorded;
        retrying the same put records the same value again (harmless, unless another writer
        changed the product in between: then the retry puts the older value back on top).
        """
        if value is None:
            raise ValueError("a product value cannot be None; use delete(key) to remove a product")
        return self._write(key, encode_product(value), timeout)

    def delete(self, key: int, *, timeout: float = 0.0) -> str:
        """Record the deletion of product ``key``, like :meth:`put`."""
        return self._write(key, "", timeout)

    def get(self, key: int) -> dict[str, Any] | None:
        """Product ``key``: the newest write, even one the store has not seen yet."""
        key = check_key(key)
        with self.cache.pipeline() as snapshot:
            snapshot.get(self.generation_key(key))
            snapshot.hget(self.pending_key, str(key))
            snapshot.get(self.item_key(key))
            generation, pending, raw = snapshot.execute()
        if pending is not None:
            payload = pending.partition(" ")[2]
            return json.loads(payload) if payload else None
        if raw is not None:
            cached = _cached_product(raw)
            if cached is not None:
                return cached
            self.cache.delete(self.item_key(key))  # not a product this class wrote: read through
        value = self.store.get(key)
        if value is not None:
            self._fill(
                keys=[self.item_key(key), self.generation_key(key)],
                args=[generation or "", encode_product(value), self._ttl_ms],
            )
        return value

    def pending(self) -> int:
        """How many acknowledged writes the store has not received yet."""
        return int(self.cache.xlen(self.log_key))

    def flush_once(self, on_applied: Callable[[int], None] | None = None) -> int:
        """Apply the oldest batch to the store; return how many writes it held (0: backlog empty).

        Raises :class:`~scalekit.caches.store.StoreUnavailable` if the store is down, or
        ``sqlite3.OperationalError`` if it is locked (the batch stays in the stream;
        :meth:`flush` retries both). The batch is applied coalesced (the last change per
        product) in one transaction. If the store *refuses* a change (bad data or a
        constraint), retrying would fail forever and block the backlog, and the
        coalesced batch may have hidden an earlier, valid write to the same product
        behind the refused one. So the batch is then applied again one write at a time,
        in the order they were acknowledged: every write the store takes is saved, and
        only the refused ones move to the dead-letter stream ``<prefix>:dead`` (see
        :meth:`dead_letters`). ``on_applied(n)`` runs after the store has the batch and
        before it leaves the stream: tests use it to crash right there.
        """
        entries = self.cache.xrange(self.log_key, count=self.batch_size)
        if not entries:
            return 0
        writes: list[tuple[Change, str]] = []
        malformed: list[tuple[str, dict[str, str], Exception]] = []
        for entry_id, fields in entries:
            try:
                writes.append((_parse(entry_id, fields), fields["p"]))
            except (KeyError, ValueError, TypeError) as error:
                malformed.append((entry_id, fields, error))
        latest = {change.key: (change, payload) for change, payload in writes}
        changes = [latest[key][0] for key in sorted(latest)]
        try:
            applied, refused = self.store.apply(changes), []
            tried = len(changes)
        except _REFUSALS:
            applied, refused = self._apply_one_by_one(writes)
            tried = len(writes)
        if on_applied is not None:
            on_applied(len(entries))
        for entry_id, fields, error in malformed:
            self.cache.xadd(
                self.dead_key,
                {
                    "k": str(fields.get("k", "")),
                    "p": "",
                    "raw": json.dumps(fields, sort_keys=True),
                    "version": entry_id,
                    "error": f"malformed entry ({type(error).__name__}: {error})",
                },
            )
        self.dead_lettered += len(malformed)
        for change, payload, error in refused:
            args = [str(change.key), payload, change.version, f"{type(error).__name__}: {error}"]
            self._bury(keys=[self.dead_key, self.pending_key, self.item_key(change.key)], args=args)
        self.dead_lettered += len(refused)
        acks = [entry_id for entry_id, _ in entries]
        pairs = [part for change, _ in writes for part in (str(change.key), change.version)]
        self._acknowledge(keys=[self.log_key, self.pending_key], args=[len(acks), *acks, *pairs])
        self.batches += 1
        self.flushed += len(entries)
        self.coalesced += len(writes) - tried
        self.skipped += tried - applied - len(refused)
        return len(entries)

    def dead_letters(self) -> list[dict[str, Any]]:
        """The changes the store refused, oldest first, as dicts.

        Each has ``key``, ``value`` (None for a delete), ``version`` and ``error``. An
        entry that was malformed in the stream (not written by :meth:`put` or :meth:`delete`)
        keeps its key as found (a str if it is not a number), ``value`` None, and its raw fields
        under ``raw``.
        """
        return [
            {
                "key": int(fields["k"]) if fields["k"].lstrip("-").isdigit() else fields["k"],
                "value": json.loads(fields["p"]) if fields["p"] else None,
                "version": fields["version"],
                "error": fields["error"],
                **({"raw": json.loads(fields["raw"])} if "raw" in fields else {}),
            }
            for _, fields in self.cache.xrange(self.dead_key)
        ]

    def _apply_one_by_one(
        self, writes: list[tuple[Change, str]]
    ) -> tuple[int, list[tuple[Change, str, Exception]]]:
        """Apply each write on its own, oldest first; return how many took effect and the refused ones."""
        applied, refused = 0, []
        for change, payload in writes:
            try:
                applied += self.store.apply([change])
            except _REFUSALS as error:
                refused.append((change, payload, error))
        return applied, refused

    def flush(self, *, max_attempts: int = 6, base_delay: float = 0.1, max_delay: float = 5.0) -> int:
        """Flush batches until the backlog is empty; return how many writes are still pending.

        While the store is down or locked ("database is locked"), retry with
        exponential backoff (``base_delay``, doubling up to ``max_delay``, slept on the
        clock); give up after ``max_attempts`` failures in a row and report the pending
        count rather than raise.
        """
        _check_count(max_attempts, "max_attempts")
        check_wait(base_delay, "base_delay")
        check_wait(max_delay, "max_delay")
        if base_delay > max_delay:
            raise ValueError(f"base_delay must be <= max_delay, got {base_delay} and {max_delay}")
        failures, delay = 0, base_delay
        while True:
            try:
                if self.flush_once() == 0:
                    return self.pending()
                failures, delay = 0, base_delay
            except TRANSIENT:
                failures += 1
                if failures >= max_attempts:
                    return self.pending()
                self.retries += 1
                self.clock.sleep(delay)
                delay = min(2 * delay, max_delay)

    def close(self, **flush_options: Any) -> int:
        """Stop accepting writes and flush; return how many writes are still pending (0: all saved)."""
        self.closed = True
        return self.flush(**flush_options)

    def _write(self, key: int, payload: str, timeout: float) -> str:
        if self.closed:
            raise RuntimeError("this WriteBehind is closed; create a new one to write again")
        key = check_key(key)
        deadline = self.clock.now() + check_wait(timeout)
        while True:
            version = self._record(
                keys=[self.log_key, self.pending_key, self.item_key(key), self.generation_key(key)],
                args=[str(key), payload, self.max_pending, self._ttl_ms],
            )
            if version is not None:
                return version
            remaining = deadline - self.clock.now()
            if remaining <= 0:
                self.refused += 1
                raise BacklogFull(
                    f"write-behind backlog is full ({self.max_pending} writes wait for the store); "
                    f"the write to product {key} was NOT recorded: retry later or flush first"
                )
            self.clock.sleep(min(0.05, remaining))


def _cached_product(raw: str) -> dict[str, Any] | None:
    try:
        value = json.loads(raw)
        encode_product(value)
    except ValueError:
        return None
    return value


def _parse(entry_id: str, fields: dict[str, str]) -> Change:
    """The change a stream entry records; ValueError or KeyError if no ``put``/``delete`` wrote it."""
    key = check_key(int(fields["k"]))
    payload = fields["p"]
    value = json.loads(payload) if payload else None
    if value is not None:
        encode_product(value)
    return Change(key, value, entry_id)


def _check_count(value: object, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")


def run_flusher(
    url: str,
    db_path: str | Path,
    prefix: str,
    *,
    batch_size: int = 100,
    poll: float = 0.05,
    max_poll: float = 2.0,
    stop_when_empty: bool = True,
    pause_after_apply: str | Path | None = None,
    log: Callable[[str], None] | None = None,
) -> int:
    """A flusher loop for its own OS process; returns how many writes it flushed.

    A store that is down or locked and a Redis that does not answer (restarting, say)
    do not end it: it says so through ``log`` (default: standard error), backs off
    from ``poll`` doubling up to ``max_poll`` seconds, and carries on; the backlog
    waits in Redis meanwhile. ``pause_after_apply`` is a test hook: after the first
    batch is in the store and before it leaves the stream, create that file and wait
    to be killed.
    """
    check_wait(poll, "poll")
    check_wait(max_poll, "max_poll")
    say = log if log is not None else (lambda line: print(line, file=sys.stderr, flush=True))
    cache = redis.Redis.from_url(url, decode_responses=True)
    writer = WriteBehind(cache, ProductStore(db_path), prefix=prefix, batch_size=batch_size)

    def pause(_: int) -> None:
        if pause_after_apply is not None:
            Path(pause_after_apply).write_text("applied, not acknowledged\n")
            while True:
                time.sleep(1)

    delay, failing = poll, False
    while True:
        try:
            count = writer.flush_once(on_applied=pause)
        except (*TRANSIENT, redis.ConnectionError, redis.TimeoutError) as error:
            if not failing:
                say(f"flusher: {type(error).__name__}: {error}; retrying with backoff")
            failing, count = True, -1
        else:
            if failing:
                say("flusher: recovered, flushing again")
            failing = False
        if count == 0 and stop_when_empty:
            return writer.flushed
        if count < 0:
            time.sleep(delay)
            delay = min(2 * delay, max_poll)
            continue
        delay = poll
        if count == 0:
            time.sleep(poll)


def main(argv: list[str] | None = None) -> int:
    """Command line: run one flusher against a Redis URL and a SQLite file."""
    parser = argparse.ArgumentParser(description="Flush a write-behind backlog from Redis to SQLite.")
    parser.add_argument("--url", default=os.environ.get("REDIS_URL"), help="Redis URL (default: $REDIS_URL)")
    parser.add_argument("--db", required=True, help="SQLite file of the product store")
    parser.add_argument("--prefix", default="behind")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--forever", action="store_true", help="keep polling when the backlog is empty")
    parser.add_argument(
        "--pause-after-apply", default=None, help="test hook: flag file, then wait to be killed"
    )
    options = parser.parse_args(argv)
    if not options.url:
        parser.error("a flusher process needs a real Redis: pass --url or set REDIS_URL")
    flushed = run_flusher(
        options.url,
        options.db,
        options.prefix,
        batch_size=options.batch_size,
        stop_when_empty=not options.forever,
        pause_after_apply=options.pause_after_apply,
    )
    print(f"flushed {flushed} writes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
