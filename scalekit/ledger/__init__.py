"""The claims ledger: every quantitative claim of the outline, recomputed with scalekit.

Each claim is a small function that computes a value with the same scalekit code as the
notebook that teaches it and says whether the claim holds with the course's own
assumptions, and if not, whether it holds under one named extra assumption. The verdict
follows from those two booleans, never from a typed answer, so a change to scalekit that
moves a number across the line flips the verdict (and ``tests/test_ledger.py`` fails).
"""

from scalekit.ledger import foundations, practice  # noqa: F401  (importing registers the claims, in order)
from scalekit.ledger.core import (
    ACCEPTED_ASYNC_WAIT_S,
    ASSUMED,
    CLAIMS,
    HOLDS,
    SMOOTH_WAIT_S,
    WRONG,
    Claim,
    Finding,
    ledger,
    ledger_frame,
)

__all__ = [
    "ACCEPTED_ASYNC_WAIT_S",
    "ASSUMED",
    "CLAIMS",
    "HOLDS",
    "SMOOTH_WAIT_S",
    "WRONG",
    "Claim",
    "Finding",
    "ledger",
    "ledger_frame",
]
