"""Checks of notebook 08's exercises: right answers pass, typical wrong ones never do."""

import math

import pytest

from scalekit import models
from scalekit.exercises import interview as ex


def k_of_n_right(k, n, p):
    return sum(math.comb(n, j) * p**j * (1 - p) ** (n - j) for j in range(k, n + 1))


def k_of_n_off_by_one(k, n, p):
    return sum(math.comb(n, j) * p**j * (1 - p) ** (n - j) for j in range(k + 1, n + 1))


def any_one_of_n(k, n, p):
    return 1 - (1 - p) ** n


def these_k_all_up(k, n, p):
    return p**k


def small_tiers_only(k, n, p):
    return k_of_n_right(k, n, p) if n < 20 else any_one_of_n(k, n, p)


def k_of_n_stub(k, n, p): ...


def k_of_n_as_text(k, n, p):
    return str(k_of_n_right(k, n, p))


def k_of_n_calls_the_reference(k, n, p):
    return models.k_of_n_availability(k, n, p)


def k_of_n_in_logs(k, n, p):
    """Right for 0 < p < 1, but math.log(0) raises when every server is always up."""
    terms = (math.log(math.comb(n, j)) + j * math.log(p) + (n - j) * math.log(1 - p) for j in range(k, n + 1))
    return sum(math.exp(term) for term in terms)


def exactly_k(k, n, p):
    return math.comb(n, k) * p**k * (1 - p) ** (n - k)


def normal_approximation(k, n, p):
    mean, sd = n * p, math.sqrt(n * p * (1 - p)) or 1e-12
    return 0.5 * math.erfc((k - 0.5 - mean) / (sd * math.sqrt(2)))


def test_right_k_of_n_passes():
    feedback = ex.check_k_of_n(k_of_n_right)
    assert feedback.ok and repr(feedback).startswith("Correct")


@pytest.mark.parametrize(
    "function, says",
    [
        (k_of_n_off_by_one, "includes k"),
        (any_one_of_n, "any one of n"),
        (these_k_all_up, "any k of the n"),
        (small_tiers_only, "any one of n"),
        (k_of_n_stub, "returned None"),
        (lambda k, n, p: "0.9", "return a probability"),
        (k_of_n_as_text, "return a probability"),
        (lambda k, n, p: True, "return a probability"),
        (k_of_n_calls_the_reference, "calls models.k_of_n_availability"),
        (models.k_of_n_availability, "calls models.k_of_n_availability"),
        (k_of_n_in_logs, "ValueError"),
        (exactly_k, "k_of_n("),
        (normal_approximation, "k_of_n("),
        (..., "replace"),
    ],
)
def test_wrong_k_of_n_fails(function, says):
    feedback = ex.check_k_of_n(function)
    assert not feedback.ok and says in feedback.message


def test_k_of_n_cases_include_big_tiers_that_need_most_parts():
    cases = ex.k_of_n_cases()
    assert cases == ex.k_of_n_cases()
    assert any(n >= 300 and k >= 0.8 * n for k, n, _ in cases)


def test_first_step():
    feedback = ex.check_first_step("c")
    assert feedback.ok
    for choice, says in (
        ("b", "same full scan"),
        ("a", "most expensive"),
        ("d", "returns"),
        ("x", "one letter"),
    ):
        feedback = ex.check_first_step(choice)
        assert not feedback.ok and says in feedback.message


def test_scaling_checklist_still_rejects_unknown_items():
    with pytest.raises(ValueError, match="unknown"):
        ex.scaling_checklist({"cachng": True})
    assert len(ex.scaling_checklist({})) == len(ex.CHECKLIST)


def test_q2_gain_depends_on_the_replay_cost():
    assert ex.q2_capacity_gain() == pytest.approx(1 / (0.9 * 0.05 / 4 + 0.1))
    assert ex.q2_capacity_gain(apply_cost=0.25) == pytest.approx(10)
