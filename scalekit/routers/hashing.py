"""A stable hash for routing keys to shards.

Python's built-in ``hash`` of a string is salted per process (PYTHONHASHSEED), so
``hash("alice") % 4`` can send Alice to a different shard after every restart. Routing
needs a hash that every process, on every machine, agrees on: here the first 8 bytes
of BLAKE2b, read as an unsigned 64-bit integer.
"""

from __future__ import annotations

import numbers
from hashlib import blake2b

HASH_BITS = 64


def stable_hash(key: str | bytes | int) -> int:
    """An integer in ``[0, 2**64)`` from BLAKE2b: the same for ``key`` in every process.

    Strings are hashed as UTF-8, integers as their decimal text (so ``42`` and ``"42"``
    agree); anything else is a ``TypeError``, because a key with no stable byte form
    cannot be routed reliably.
    """
    return int.from_bytes(blake2b(key_bytes(key), digest_size=8).digest(), "big")


def key_bytes(key: str | bytes | int) -> bytes:
    """The bytes a routing key is hashed as: UTF-8 for text, decimal text for integers."""
    if isinstance(key, str):
        try:
            return key.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(
                f"key {key!r} is not valid text (it holds a lone surrogate), so it has no UTF-8 bytes"
            ) from None
    if isinstance(key, bytes):
        return key
    if isinstance(key, numbers.Integral) and not isinstance(key, bool):
        return str(int(key)).encode("ascii")
    raise TypeError(f"routing keys must be str, bytes or int, got {type(key).__name__} {key!r}")
