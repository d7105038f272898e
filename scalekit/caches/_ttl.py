"""One place that turns a TTL in seconds into the milliseconds Redis takes (``SET ... PX``)."""

from __future__ import annotations

import math


def ttl_ms(seconds: float, name: str = "ttl") -> int:
    """``seconds`` as whole milliseconds for Redis ``PX`` (at least 1).

    Raises a ValueError unless ``seconds`` is a finite number > 0: ``inf`` passes a
    plain ``> 0`` check and would only fail later, at the first write to Redis.
    """
    if not (seconds > 0 and math.isfinite(seconds)):
        raise ValueError(f"{name} must be a finite number of seconds > 0, got {seconds}")
    return max(1, round(seconds * 1000))
