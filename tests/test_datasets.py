"""The committed data files are exactly what `make data` produces."""

import pytest

from scalekit import datasets


@pytest.mark.parametrize("name", sorted(datasets.FILES))
def test_committed_file_is_up_to_date(tmp_path, name):
    datasets.write_all(tmp_path)
    assert (tmp_path / name).read_bytes() == (datasets.DATA_DIR / name).read_bytes(), "run `make data`"


def test_total_size_is_small():
    assert sum((datasets.DATA_DIR / name).stat().st_size for name in datasets.FILES) < 5_000_000


def test_unknown_file_is_a_clear_error():
    with pytest.raises(ValueError, match="ships"):
        datasets.load("nope.csv")
