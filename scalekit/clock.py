"""Clocks: simulated time for exact, repeatable simulations, and the real one.

Code that waits or measures time takes a ``clock`` argument. Tests and notebooks pass
a :class:`SimClock`, so lag, TTLs, leases and autoscaling delays happen instantly and
identically on every run; production code passes :class:`RealClock`.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """What the course's time-dependent code needs from a clock."""

    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SimClock:
    """Virtual time in seconds that moves only when told to.

    ``sleep`` advances the clock instead of blocking, so a simulated hour takes no
    wall time.
    """

    def __init__(self, start: float = 0.0) -> None:
        self._now = float(start)

    def now(self) -> float:
        """The current virtual time in seconds."""
        return self._now

    time = now
    monotonic = now

    def advance(self, seconds: float) -> float:
        """Move time forward by ``seconds`` (>= 0) and return the new time."""
        if not seconds >= 0:  # also refuses NaN
            raise ValueError(f"time only moves forward: cannot advance by {seconds} s")
        self._now += float(seconds)
        return self._now

    def advance_to(self, when: float) -> float:
        """Move time forward to ``when`` (not earlier than now) and return it."""
        if not when >= self._now:  # also refuses NaN
            raise ValueError(f"time only moves forward: it is {self._now} s, cannot go back to {when} s")
        self._now = float(when)
        return self._now

    def sleep(self, seconds: float) -> None:
        """Pretend to wait: advance the clock by ``seconds``."""
        self.advance(seconds)

    def __repr__(self) -> str:
        return f"SimClock(now={self._now:g})"


class RealClock:
    """The machine's monotonic clock behind the same interface as :class:`SimClock`."""

    def now(self) -> float:
        return time.monotonic()

    time = now
    monotonic = now

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def advance(self, seconds: float) -> float:
        time.sleep(seconds)
        return self.now()

    def __repr__(self) -> str:
        return "RealClock()"


class WallClock:
    """Seconds since the Unix epoch: one time line for every process and machine.

    Use it where deadlines are shared (session expiry, job leases). Not ``RealClock``:
    monotonic time starts anew on every machine, so they would disagree.
    """

    def now(self) -> float:
        return time.time()

    time = now

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def __repr__(self) -> str:
        return "WallClock()"
