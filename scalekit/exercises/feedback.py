"""The answer a check function gives: a verdict and a sentence."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Feedback:
    """A check's verdict. ``bool(feedback)`` is the verdict; its repr is the explanation."""

    ok: bool
    message: str

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        return ("Correct: " if self.ok else "Not yet: ") + self.message


def correct(message: str) -> Feedback:
    """A right answer, with what makes it right."""
    return Feedback(True, message)


def wrong(message: str) -> Feedback:
    """A wrong answer, with what is wrong and a nudge."""
    return Feedback(False, message)


def not_answered(answer: object) -> Feedback | None:
    """Feedback for an untouched placeholder (``None`` or ``...``), else None."""
    if answer is None or answer is Ellipsis:
        return wrong("replace the `...` with your answer and run the cell again.")
    return None


def check_number(
    answer: object,
    expected: float,
    *,
    what: str,
    rel: float = 0.01,
    hint: str = "",
) -> Feedback:
    """Compare a numeric answer with ``expected`` within a relative tolerance ``rel``.

    The "Correct" message does not repeat the number, so a solution's output gives nothing away."""
    missing = not_answered(answer)
    if missing is not None:
        return missing
    try:
        value = float(answer)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return wrong(f"{what} should be a number, got {type(answer).__name__} {answer!r}.")
    if math.isclose(value, expected, rel_tol=rel, abs_tol=1e-12):
        return correct(f"that is {what}, within {rel:.0%}.")
    direction = "high" if value > expected else "low"
    extra = f" {hint}" if hint else ""
    return wrong(f"{what} = {value:.4g} is too {direction}.{extra}")
