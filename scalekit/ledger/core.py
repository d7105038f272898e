"""The ledger's machinery: a claim, what its computation found, and the verdict that follows."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scalekit import datasets
from scalekit import patterns_table as pt

HOLDS, ASSUMED, WRONG = "holds", "holds under an assumption", "wrong"
SMOOTH_WAIT_S = 2.0  # "smoothly": no request waits longer than the outline's own 2 s page-load goal
ACCEPTED_ASYNC_WAIT_S = 15 * 60.0  # assumed: a queued job (an order confirmation) may wait 15 minutes


@dataclass(frozen=True)
class Finding:
    """What a claim's computation found: the value shown, and whether the claim holds."""

    value: str
    holds: bool
    holds_if: bool = False
    assumption: str = ""

    @property
    def verdict(self) -> str:
        if self.holds:
            return HOLDS
        return ASSUMED if self.holds_if else WRONG


@dataclass(frozen=True)
class Claim:
    """One claim of the outline: a key, the claim in the course's words, where, and its check."""

    key: str
    claim: str
    where: str
    notebook: str
    compute: Callable[[], Finding]


CLAIMS: list[Claim] = []


def _claim(key: str, where: str, notebook: str, claim: str):
    def register(compute: Callable[[], Finding]) -> Callable[[], Finding]:
        CLAIMS.append(Claim(key, claim, where, notebook, compute))
        return compute

    return register


def _close(value: float, claimed: float, rel: float = 0.05) -> bool:
    return math.isclose(value, claimed, rel_tol=rel)


def _traffic() -> np.ndarray:
    return datasets.load("traffic_3day.csv")["requests_per_second"].to_numpy()


def ledger() -> list[dict[str, str]]:
    """Every claim, computed now: the claim, where, the value, the verdict, the assumption, the notebook."""
    rows = []
    for claim in CLAIMS:
        found = claim.compute()
        rows.append(
            {
                "key": claim.key,
                "claim": claim.claim,
                "where in the outline": claim.where,
                "computed": found.value,
                "verdict": found.verdict,
                "assumption": found.assumption if found.verdict == ASSUMED else "",
                "notebook": pt.NOTEBOOKS[claim.notebook],
            }
        )
    return rows


def ledger_frame() -> pd.DataFrame:
    """:func:`ledger` as a DataFrame indexed by claim key."""
    return pd.DataFrame(ledger()).set_index("key")
