"""The slow, durable tier behind the caches: products in SQLite.

Every cache strategy in this package talks to a :class:`ProductStore`. It counts its
reads and writes (so a notebook can show how much load a cache takes off the
database) and can be switched ``down`` to rehearse outages. For write-behind it also
keeps, per product, the version of the last change it applied, so replaying a batch
of changes that was already applied does nothing.
"""

from __future__ import annotations

import json
import numbers
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scalekit import db

FIELDS = ("name", "price_cents", "stock")
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_VERSIONS_TABLE = """
    CREATE TABLE IF NOT EXISTS product_versions (
        id INTEGER PRIMARY KEY,
        version TEXT NOT NULL
    )"""


class StoreUnavailable(ConnectionError):
    """The database did not answer (the store is switched ``down``)."""


@dataclass(frozen=True)
class Change:
    """One change for :meth:`ProductStore.apply`: ``value=None`` deletes the product."""

    key: int
    value: dict[str, Any] | None
    version: str


def version_order(version: str) -> tuple[int, ...]:
    """Sort key for versions such as Redis stream ids (``"1700000000000-3"``)."""
    try:
        return tuple(int(part) for part in version.split("-"))
    except ValueError:
        raise ValueError(
            f"a version is numbers joined by '-', like '1700000000000-3', got {version!r}"
        ) from None


class ProductStore:
    """Products (``name``, ``price_cents``, ``stock``) keyed by integer id, in SQLite.

    ``path`` is a file (shared by processes) or ``":memory:"``. Values are plain
    dicts with exactly :data:`FIELDS`. One store may be shared by threads (say, a
    write-behind flusher and request handlers): its one SQLite connection is used by
    one thread at a time, so a transaction is never interleaved with another thread's
    statements (which would commit or roll back half of it).
    """

    def __init__(self, path: str | Path = ":memory:") -> None:
        self._lock = threading.RLock()
        self.connection = db.connect(path)
        self.connection.execute("PRAGMA busy_timeout = 5000")
        db.create_tables(self.connection, ["products"])
        self.connection.execute(_VERSIONS_TABLE)
        self.down = False
        self.reads = 0
        self.writes = 0

    def get(self, key: int) -> dict[str, Any] | None:
        """The product with id ``key``, or None when there is none."""
        product_id = _id(key)
        self._check_up()
        with self._lock:
            self.reads += 1
            rows = db.query(
                self.connection, "SELECT name, price_cents, stock FROM products WHERE id = ?", (product_id,)
            )
        return rows[0] if rows else None

    def put(self, key: int, value: Mapping[str, Any]) -> None:
        """Insert or replace product ``key``."""
        row = _row(key, value)
        self._check_up()
        with self._lock:
            self._upsert(row)
            self.writes += 1

    def delete(self, key: int) -> None:
        """Remove product ``key`` (no error if it is absent)."""
        product_id = _id(key)
        self._check_up()
        with self._lock:
            self.connection.execute("DELETE FROM products WHERE id = ?", (product_id,))
            self.writes += 1

    def apply(self, changes: Iterable[Change]) -> int:
        """Apply ``changes`` in one transaction, skipping any not newer than the applied version.

        Returns how many changes took effect. Because each product remembers the
        version of its last applied change (deletes included), replaying changes
        that were already applied leaves the store as it is.
        """
        checked = [
            (change, _row(change.key, change.value) if change.value is not None else None)
            for change in changes
        ]
        for change, _ in checked:
            _id(change.key)
            version_order(change.version)
        self._check_up()
        applied = 0
        with self._lock:
            with db.transaction(self.connection, immediate=True):
                for change, row in checked:
                    applied += self._apply_one(change, row)
            self.writes += applied
        return applied

    def _apply_one(self, change: Change, row: tuple[int, str, int, int] | None) -> int:
        current = db.query(
            self.connection, "SELECT version FROM product_versions WHERE id = ?", (change.key,)
        )
        if current and version_order(current[0]["version"]) >= version_order(change.version):
            return 0
        if row is None:
            self.connection.execute("DELETE FROM products WHERE id = ?", (change.key,))
        else:
            self._upsert(row)
        self.connection.execute(
            "INSERT OR REPLACE INTO product_versions (id, version) VALUES (?, ?)",
            (change.key, change.version),
        )
        return 1

    def applied_version(self, key: int) -> str | None:
        """The version of the last change :meth:`apply` made to ``key``, if any."""
        product_id = _id(key)
        with self._lock:
            rows = db.query(
                self.connection, "SELECT version FROM product_versions WHERE id = ?", (product_id,)
            )
        return rows[0]["version"] if rows else None

    def snapshot(self) -> dict[int, dict[str, Any]]:
        """Every product, by id (for tests and tables; not counted as a read)."""
        with self._lock:
            rows = db.query(self.connection, "SELECT id, name, price_cents, stock FROM products ORDER BY id")
        return {row.pop("id"): row for row in rows}

    def close(self) -> None:
        """Close the SQLite connection."""
        with self._lock:
            self.connection.close()

    def _upsert(self, row: tuple[int, str, int, int]) -> None:
        self.connection.execute(
            "INSERT OR REPLACE INTO products (id, name, price_cents, stock) VALUES (?, ?, ?, ?)", row
        )

    def _check_up(self) -> None:
        if self.down:
            raise StoreUnavailable("the product database is down (store.down is True)")


def check_product(value: object) -> None:
    """Raise a ValueError unless ``value`` is a product the store can save.

    That is a dict with exactly :data:`FIELDS`, a UTF-8 encodable name and integers
    that fit SQLite's 64-bit INTEGER: checked before a write is acknowledged, so a
    write-behind flush never meets a value the database refuses.
    """
    _row(0, value)  # type: ignore[arg-type]


def encode_product(value: object) -> str:
    """``value`` checked (:func:`check_product`) and as JSON text with sorted keys.

    Any mapping is accepted (a ``MappingProxyType``, an ``OrderedDict``...) and saved
    as a plain object, so callers can serialise before they write anything.
    """
    _row(0, value)  # type: ignore[arg-type]
    return json.dumps({field: value[field] for field in sorted(FIELDS)})  # type: ignore[index]


def check_key(key: object) -> int:
    """Return ``key`` if it is a valid product id (an int in SQLite's 64-bit range), else raise ValueError."""
    return _id(key)


def _id(key: object) -> int:
    """``key`` as a Python int; numpy integers (from a seeded generator) are ids too."""
    if isinstance(key, bool) or not isinstance(key, numbers.Integral):
        raise ValueError(f"a product key is an integer id, got {type(key).__name__} {key!r}")
    return _int64("product key", int(key))


def _int64(what: str, number: int) -> int:
    if not INT64_MIN <= number <= INT64_MAX:
        raise ValueError(f"{what} must fit a signed 64-bit integer ({INT64_MIN}..{INT64_MAX}), got {number}")
    return number


def _row(key: int, value: Mapping[str, Any] | None) -> tuple[int, str, int, int]:
    if not isinstance(value, Mapping) or set(value) != set(FIELDS):
        got = sorted(value) if isinstance(value, Mapping) else type(value).__name__
        raise ValueError(f"a product is a dict with exactly the fields {list(FIELDS)}, got {got}")
    name, price, stock = value["name"], value["price_cents"], value["stock"]
    if not isinstance(name, str):
        raise ValueError(f"product name must be a str, got {name!r}")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError(f"product name must be valid UTF-8 (no lone surrogates), got {name!r}") from error
    for field, number in (("price_cents", price), ("stock", stock)):
        if isinstance(number, bool) or not isinstance(number, int):
            raise ValueError(f"product {field} must be an int, got {number!r}")
        _int64(f"product {field}", number)
    return (_id(key), name, price, stock)
