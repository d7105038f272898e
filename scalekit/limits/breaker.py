"""Circuit breaker: stop calling a dependency that keeps failing, and try it again later.

**Closed**: calls go through; ``failure_threshold`` failures in a row open the
circuit. **Open**: calls fail at once, without waiting on the dependency, for
``reset_timeout`` seconds. **Half-open**: up to ``probes`` trial calls go through; if
they all succeed the circuit closes, if one fails it opens again for another
``reset_timeout``. A probe that has not reported within ``reset_timeout`` counts as
failed (Resilience4j's ``maxWaitDurationInHalfOpenState``), so a probe whose caller
crashed cannot hold the circuit half-open for ever. In half-open only answers that
could be a probe's count: a late answer to a call made while the circuit was closed is
ignored until a probe goes out. After that the breaker cannot tell the two apart (calls
carry no ticket), so such a late answer is taken for the probe's.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from scalekit.clock import Clock

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half-open"


@dataclass(frozen=True)
class Transition:
    """The breaker moved from ``before`` to ``after`` at time ``at``."""

    at: float
    before: str
    after: str


class CircuitBreaker:
    """A breaker for one dependency; ask :meth:`allow` before a call and :meth:`record` its outcome.

    Safe to share between threads: a lock makes each question and each report one step,
    so two threads asking at once in half-open cannot both take the last probe.
    """

    def __init__(
        self, clock: Clock, *, failure_threshold: int = 5, reset_timeout: float = 5.0, probes: int = 1
    ) -> None:
        for name, value in (("failure_threshold", failure_threshold), ("probes", probes)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")
        if not reset_timeout > 0:
            raise ValueError(f"reset_timeout must be > 0 seconds, got {reset_timeout!r}")
        self.clock = clock
        self.failure_threshold = failure_threshold
        self.reset_timeout = float(reset_timeout)
        self.probes = probes
        self.transitions: list[Transition] = []
        self._state = CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._half_opened_at = 0.0
        self._probes_out = 0
        self._probes_ok = 0
        self._lock = threading.RLock()

    @property
    def state(self) -> str:
        """``"closed"``, ``"open"`` or ``"half-open"`` at the clock's current time."""
        with self._lock:
            return self._current()

    def _current(self) -> str:
        now = self.clock.now()
        if self._state == OPEN and now >= self._opened_at + self.reset_timeout:
            self._move(HALF_OPEN)
            self._half_opened_at = now
            self._probes_out = self._probes_ok = 0
        elif (
            self._state == HALF_OPEN
            and self._probes_out > self._probes_ok
            and now >= self._half_opened_at + self.reset_timeout
        ):
            self._open()
        return self._state

    def allow(self) -> bool:
        """May a call go to the dependency now? In half-open, only ``probes`` calls may."""
        with self._lock:
            state = self._current()
            if state == CLOSED:
                return True
            if state == HALF_OPEN and self._probes_out < self.probes:
                self._probes_out += 1
                return True
            return False

    def record(self, success: bool) -> None:
        """Report how an allowed call ended (a timeout is a failure)."""
        with self._lock:
            state = self._current()
            if state == CLOSED:
                self._failures = 0 if success else self._failures + 1
                if self._failures >= self.failure_threshold:
                    self._open()
            elif state == HALF_OPEN and self._probes_out > self._probes_ok:
                if not success:
                    self._open()
                else:
                    self._probes_ok += 1
                    if self._probes_ok >= self.probes:
                        self._failures = 0
                        self._move(CLOSED)

    def _open(self) -> None:
        self._opened_at = self.clock.now()
        self._failures = 0
        self._move(OPEN)

    def _move(self, after: str) -> None:
        if after != self._state:
            self.transitions.append(Transition(self.clock.now(), self._state, after))
            self._state = after
