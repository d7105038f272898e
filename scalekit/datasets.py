"""The course's small data files: how each is made, and how to load it.

``make data`` (``python -m scalekit.datasets``) regenerates every file in ``data/``
from :mod:`scalekit.workload` with fixed seeds, so the files are reproducible and a
test checks they are up to date.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from scalekit import workload

# The repository's data/ folder (scalekit is installed editable by `make` and Binder);
# SCALEKIT_DATA points elsewhere, e.g. for a non-editable install.
DATA_DIR = Path(os.environ.get("SCALEKIT_DATA") or Path(__file__).resolve().parent.parent / "data")
TRAFFIC_SEED = 20261128
FOLLOWERS_SEED = 20261129


def make_traffic() -> pd.DataFrame:
    """Three days of per-minute traffic (1,000 req/s on an ordinary day) with a 10x sale spike on day 3."""
    rps = workload.diurnal_traffic(
        3, base_rps=1000.0, spike_multiplier=10.0, spike_start_hour=9.0, spike_hours=4.0, seed=TRAFFIC_SEED
    )
    minutes = np.arange(rps.size)
    return pd.DataFrame({"minute": minutes, "requests_per_second": np.round(rps, 3)})


def make_followers() -> pd.DataFrame:
    """Follower counts of 100,000 users with a power-law tail (exponent 2.1)."""
    counts = workload.follower_counts(100_000, exponent=2.1, maximum=99_999, seed=FOLLOWERS_SEED)
    return pd.DataFrame({"user_id": np.arange(counts.size), "followers": counts})


FILES: dict[str, Callable[[], pd.DataFrame]] = {
    "traffic_3day.csv": make_traffic,
    "followers_100k.csv": make_followers,
}


def load(name: str, directory: Path = DATA_DIR) -> pd.DataFrame:
    """Read one of the course's data files (see ``data/README.md``)."""
    if name not in FILES:
        raise ValueError(f"unknown data file {name!r}; the course ships {sorted(FILES)}")
    path = directory / name
    if not path.exists():
        raise FileNotFoundError(
            f"{name} is not in {directory}: run `make data` in the course repository, "
            "or set SCALEKIT_DATA to the folder that holds the course's data files"
        )
    return pd.read_csv(path)


def write_all(directory: Path = DATA_DIR) -> list[Path]:
    """Regenerate every data file into ``directory``; return their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, make in FILES.items():
        path = directory / name
        make().to_csv(path, index=False, lineterminator="\n")
        paths.append(path)
    return paths


if __name__ == "__main__":
    for written in write_all():
        print(f"wrote {written.name}: {written.stat().st_size / 1e6:.2f} MB")
    sys.exit(0)
