"""Redis Cluster hash slots: which of the 16384 slots a key lives in.

Redis Cluster computes ``CRC16(key) mod 16384`` (the XMODEM variant of CRC16) and
gives each master a range of slots. A *hash tag* lets related keys share a slot:
if the key contains ``{`` followed later by ``}`` with at least one character between
them, only the text between the first ``{`` and the first ``}`` after it is hashed.
So ``user:{42}:profile`` and ``user:{42}:posts`` land on one node and can be used
together in one transaction or Lua script.
"""

from __future__ import annotations

import numbers

SLOT_COUNT = 16384
_POLY = 0x1021


def _crc16_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ _POLY) if crc & 0x8000 else crc << 1
        table.append(crc & 0xFFFF)
    return tuple(table)


_TABLE = _crc16_table()


def crc16_xmodem(data: bytes) -> int:
    """CRC16/XMODEM (polynomial 0x1021, initial value 0) of ``data``, as Redis Cluster uses."""
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ _TABLE[((crc >> 8) ^ byte) & 0xFF]
    return crc


def hash_tag(key: str | bytes) -> bytes:
    """The bytes of ``key`` that Redis Cluster hashes: the ``{tag}`` if there is a non-empty one."""
    data = _as_bytes(key)
    start = data.find(b"{")
    if start != -1:
        end = data.find(b"}", start + 1)
        if end > start + 1:
            return data[start + 1 : end]
    return data


def has_hash_tag(prefix: str | bytes) -> bool:
    """True if ``prefix`` holds a non-empty ``{tag}``, so every key that starts with it shares one slot."""
    data = _as_bytes(prefix)
    return hash_tag(data) != data


def cluster_slot(key: str | bytes) -> int:
    """The Redis Cluster hash slot (0-16383) of ``key``; the same as ``CLUSTER KEYSLOT key``."""
    return crc16_xmodem(hash_tag(key)) % SLOT_COUNT


def slot_ranges(masters: int) -> list[tuple[int, int]]:
    """The inclusive slot range each master gets from ``redis-cli --cluster create``.

    redis-cli splits the 16384 slots evenly, rounding each range's end; with 3 masters
    that is 0-5460, 5461-10922 and 10923-16383.
    """
    if isinstance(masters, bool) or not isinstance(masters, numbers.Integral):
        raise TypeError(f"masters must be an int, got {type(masters).__name__} {masters!r}")
    masters = int(masters)
    if not 1 <= masters <= SLOT_COUNT:
        raise ValueError(f"masters must be between 1 and {SLOT_COUNT}, got {masters}")
    per_master = SLOT_COUNT / masters
    ranges, first, cursor = [], 0, 0.0
    for index in range(masters):
        last = round(cursor + per_master - 1)
        if last > SLOT_COUNT - 1 or index == masters - 1:
            last = SLOT_COUNT - 1
        last = max(last, first)
        ranges.append((first, last))
        first, cursor = last + 1, cursor + per_master
    return ranges


def master_for_slot(slot: int, masters: int) -> int:
    """Index of the master (0-based, in creation order) owning ``slot`` under :func:`slot_ranges`."""
    if isinstance(slot, bool) or not isinstance(slot, numbers.Integral) or not 0 <= slot < SLOT_COUNT:
        raise ValueError(f"slot must be an int from 0 to {SLOT_COUNT - 1}, got {slot!r}")
    slot = int(slot)
    for index, (first, last) in enumerate(slot_ranges(masters)):
        if first <= slot <= last:
            return index
    raise AssertionError("slot_ranges covers every slot")


def _as_bytes(key: str | bytes) -> bytes:
    if isinstance(key, str):
        try:
            return key.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(
                f"key {key!r} is not valid text (it holds a lone surrogate), so it has no UTF-8 bytes"
            ) from None
    if isinstance(key, (bytes, bytearray, memoryview)):
        return bytes(key)
    raise TypeError(f"a Redis key must be str or bytes, got {type(key).__name__} {key!r}")
