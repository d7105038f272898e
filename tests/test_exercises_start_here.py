"""The checks of notebook 00: right answers pass, typical wrong ones get a reason."""

from __future__ import annotations

import numpy as np
import pytest

from scalekit import models, workload
from scalekit.exercises import start_here as ex

TRACE = workload.zipf_trace(n_keys=10_000, n_requests=100_000, exponent=1.0, seed=2026)


def _says(feedback, ok: bool, *words: str) -> None:
    text = repr(feedback)
    assert bool(feedback) is ok, text
    assert text.startswith("Correct: " if ok else "Not yet: ")
    for word in words:
        assert word in text, text


def test_top_keys_share_right_answer_does_not_restate_it():
    answer = (TRACE < 10).mean()
    feedback = ex.check_top_keys_share(answer, TRACE)
    _says(feedback, True)
    assert f"{answer:.4g}" not in repr(feedback) and f"{answer:.1%}" not in repr(feedback)
    _says(ex.check_top_keys_share(np.float64(answer), TRACE), True)


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        ((TRACE < 10).sum(), ["count"]),
        ((TRACE < 10).mean() * 100, ["percentage"]),
        ((TRACE <= 10).mean(), ["off by one"]),
        ((TRACE < 100).mean(), ["lower"]),
        ((TRACE < 9).mean(), ["higher"]),
        (1.5, ["between 0 and 1"]),
        ("a lot", ["number"]),
        (..., ["replace"]),
        ((TRACE < 10).sum() / 10_000, ["keys", "requests"]),
        (10 / 10_000, ["share of the keys"]),
        (TRACE < 10, ["one number", "100,000 values"]),
        (True, ["number"]),
        ([(TRACE < 100).mean()], ["lower"]),
    ],
)
def test_top_keys_share_wrong_answers(answer, words):
    _says(ex.check_top_keys_share(answer, TRACE), False, *words)


def test_top_keys_share_cannot_be_fooled_with_another_trace():
    """A learner who swaps in an array that makes a guess right is told to re-run the notebook."""
    only_hot = TRACE[TRACE < 10]
    _says(ex.check_top_keys_share(1.0, only_hot), False, "no longer the notebook's trace")
    shuffled = TRACE.copy()
    shuffled[:1000] = 0
    _says(ex.check_top_keys_share((shuffled < 10).mean(), shuffled), False, "Run All")
    _says(ex.check_top_keys_share(0.5, np.zeros(100_000, dtype=int) + (np.arange(100_000) % 2) * 50), False)
    _says(ex.check_top_keys_share([(TRACE < 10).mean()], list(TRACE)), True)


def test_pool_throughput_right_answer():
    expected = models.littles_law(arrival_rate=1, time_in_system=1) * 64 / 0.080
    feedback = ex.check_pool_throughput(expected)
    _says(feedback, True)
    assert "800" not in repr(feedback)
    _says(ex.check_pool_throughput(64 / 0.08 * 1.005), True)


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (64 / 80, ["per millisecond"]),
        (64 * 0.080, ["solve for λ"]),
        (64 * 80, ["solve for λ"]),
        (0.080 / 64, ["upside down"]),
        (1 / 0.080, ["one connection"]),
        (64 / 0.8, ["too low"]),
        (True, ["number"]),
        ("eight hundred", ["number"]),
        ([800, 800], ["one number"]),
        (790, ["too low"]),
        (640, ["too low"]),
        (float("inf"), ["finite"]),
        (None, ["replace"]),
    ],
)
def test_pool_throughput_wrong_answers(answer, words):
    _says(ex.check_pool_throughput(answer), False, *words)


def test_fair_comparison_right_choice():
    _says(ex.check_fair_comparison("a"), True)
    _says(ex.check_fair_comparison(" (A) "), True)


@pytest.mark.parametrize(
    ("choice", "words"),
    [("b", ["by chance"]), ("c", ["repeat"]), ("d", ["wall time"]), ("e", ["one of"]), (..., ["replace"])],
)
def test_fair_comparison_wrong_choices_say_why(choice, words):
    _says(ex.check_fair_comparison(choice), False, *words)
