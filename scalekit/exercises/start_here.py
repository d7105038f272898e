"""Checks for the exercises of notebook 00 (start here)."""

from __future__ import annotations

import functools
import math

import numpy as np

from scalekit import workload
from scalekit.exercises.feedback import Feedback, correct, not_answered, wrong

POOL_SIZE = 64
HOLD_SECONDS = 0.080
# The trace of notebook 00: the check recomputes it, so a learner cannot grade against another one.
TRACE_ARGS = {"n_keys": 10_000, "n_requests": 100_000, "exponent": 1.0, "seed": 2026}


def _as_number(answer: object, what: str) -> float | Feedback:
    missing = not_answered(answer)
    if missing is not None:
        return missing
    if isinstance(answer, bool):
        return wrong(f"{what} should be a number, not {answer}.")
    if isinstance(answer, (np.ndarray, list, tuple)):
        if np.size(answer) != 1:
            return wrong(
                f"{what} should be one number, got {np.size(answer):,} values: reduce them to one "
                "(a mean, or a sum divided by the right total)."
            )
        answer = np.asarray(answer).item()
    try:
        value = float(answer)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return wrong(f"{what} should be a number, got {type(answer).__name__} {answer!r}.")
    if not math.isfinite(value):
        return wrong(f"{what} should be a finite number, got {value}.")
    return value


def check_top_keys_share(answer: object, trace: np.ndarray) -> Feedback:
    """Share of the requests in notebook 00's ``trace`` that ask for the 10 most popular keys (ids 0..9).

    The check recomputes the notebook's trace from its seed and grades against that one, so
    passing another array as ``trace`` cannot make a wrong share right.
    """
    value = _as_number(answer, "the share")
    if isinstance(value, Feedback):
        return value
    if not np.array_equal(np.asarray(trace), _course_trace()):
        return wrong(
            "`trace` is no longer the notebook's trace of 100,000 requests: run the notebook's "
            "cells from the top again (Run ▸ Run All Cells) and answer for that trace."
        )
    trace, top, n_keys = _course_trace(), 10, TRACE_ARGS["n_keys"]
    expected = float(np.mean(trace < top))
    if math.isclose(value, expected, rel_tol=1e-9):
        return correct(
            f"that is the share of all {trace.size:,} requests that ask for the {top} hottest keys; "
            "compare it with the share of the top 1% above."
        )
    if math.isclose(value, expected * trace.size, rel_tol=1e-9):
        return wrong("that is a count of requests; the question asks for a fraction of all of them.")
    if math.isclose(value, expected * 100, rel_tol=1e-9):
        return wrong("that looks like a percentage; answer with a fraction between 0 and 1.")
    if math.isclose(value, expected * trace.size / n_keys, rel_tol=1e-9):
        return wrong(
            f"that divides the count by the {n_keys:,} keys; a share of requests divides it by the "
            f"{trace.size:,} requests."
        )
    if math.isclose(value, top / n_keys, rel_tol=1e-9):
        return wrong(
            f"that is the share of the keys ({top} of {n_keys:,}); the question asks about requests."
        )
    if math.isclose(value, float(np.mean(trace <= top)), rel_tol=1e-9):
        return wrong(f"off by one: ids 0 to {top - 1} are `trace < {top}`; `<= {top}` counts {top + 1} keys.")
    if not 0 <= value <= 1:
        return wrong("a share of requests lies between 0 and 1.")
    return wrong(
        f"the share is {'higher' if value < expected else 'lower'} than that. Keys are numbered by "
        f"popularity, so the top {top} are ids 0 to {top - 1}: count them in `trace`."
    )


def check_pool_throughput(answer: object) -> Feedback:
    """Little's law solved for throughput: 64 connections, each held 80 ms by a request."""
    value = _as_number(answer, "the throughput")
    if isinstance(value, Feedback):
        return value
    expected = POOL_SIZE / HOLD_SECONDS
    if math.isclose(value, expected, rel_tol=0.005):
        return correct(
            "a full pool caps throughput at its size divided by how long each request holds a "
            "connection: more connections or shorter requests are the only ways up."
        )
    if math.isclose(value, POOL_SIZE / (HOLD_SECONDS * 1000), rel_tol=0.01):
        return wrong("that is requests per millisecond: 80 ms is 0.08 s, and the answer is per second.")
    if math.isclose(value, POOL_SIZE * HOLD_SECONDS, rel_tol=0.01) or math.isclose(
        value, POOL_SIZE * HOLD_SECONDS * 1000, rel_tol=0.01
    ):
        return wrong(
            "multiplying gives connections × time, which is not a rate. Little's law is L = λ × W: "
            "here L and W are known, so solve for λ."
        )
    if math.isclose(value, 1 / HOLD_SECONDS, rel_tol=0.01):
        return wrong("that is what one connection carries; the pool has 64 of them working at once.")
    if math.isclose(value, HOLD_SECONDS / POOL_SIZE, rel_tol=0.01):
        return wrong("that is W / L, upside down: the rate is connections per second of holding time.")
    return wrong(
        f"{value:.4g} requests/s is too {'high' if value > expected else 'low'}. "
        "Little's law L = λ × W with L the connections in use and W in seconds."
    )


@functools.cache
def _course_trace() -> np.ndarray:
    trace = workload.zipf_trace(**TRACE_ARGS)
    trace.flags.writeable = False
    return trace


FAIR_COMPARISON_CHOICES = {
    "a": "draw one trace with a fixed seed and replay that same trace against both caches",
    "b": "let each cache draw its own trace, with seeds 1 and 2, so neither gets lucky",
    "c": "seed the generator from the clock, so every run tests fresh traffic",
    "d": "run each cache for a minute of wall time on live random traffic and compare hit counts",
}

_WHY_NOT = {
    "b": (
        "two different traces differ by chance as well as by cache: part of the gap you measure "
        "would be the traffic, not the policy."
    ),
    "c": (
        "a clock seed makes every run different, so nobody (including the tests) can repeat "
        "the measurement or check it."
    ),
    "d": (
        "wall time depends on the machine's load, so the two caches see different numbers of "
        "requests, and the result changes from run to run."
    ),
}


def check_fair_comparison(choice: object) -> Feedback:
    """Judgement: how to compare two cache policies fairly and repeatably."""
    missing = not_answered(choice)
    if missing is not None:
        return missing
    key = str(choice).strip().lower().strip("()")
    if key not in FAIR_COMPARISON_CHOICES:
        options = ", ".join(f'"{k}"' for k in FAIR_COMPARISON_CHOICES)
        return wrong(f"answer with one of {options}; got {choice!r}.")
    if key == "a":
        return correct(
            "the caches then differ in nothing but their policy, and anyone with the seed can "
            "repeat the run and get the same numbers."
        )
    return wrong(_WHY_NOT[key])
