"""Notebook 09's checks: right answers pass, typical wrong ones get a sentence that says why."""

from __future__ import annotations

import math

import pytest

from scalekit.audit import replicas_needed
from scalekit.exercises.summary import FIRST_STEPS, check_first_step, check_replicas_needed, replica_cases


def reference(read_load, write_rate, node_capacity):
    if write_rate > node_capacity:
        return None
    if read_load + write_rate <= node_capacity:
        return 0
    room = node_capacity - write_rate
    return None if room <= 0 else math.ceil(read_load / room)


def ignores_replay(read_load, write_rate, node_capacity):
    if write_rate > node_capacity:
        return None
    if read_load + write_rate <= node_capacity:
        return 0
    return math.ceil(read_load / node_capacity)


def floor_division(read_load, write_rate, node_capacity):
    answer = reference(read_load, write_rate, node_capacity)
    if answer in (None, 0):
        return answer
    return int(read_load // (node_capacity - write_rate))


def never_none(read_load, write_rate, node_capacity):
    answer = reference(read_load, write_rate, node_capacity)
    return 0 if answer is None else answer


def one_too_many(read_load, write_rate, node_capacity):
    answer = reference(read_load, write_rate, node_capacity)
    return answer if answer is None else answer + 1


def always_replicas(read_load, write_rate, node_capacity):
    answer = reference(read_load, write_rate, node_capacity)
    return 1 if answer == 0 else answer


def stub(read_load, write_rate, node_capacity): ...


def test_the_reference_solution_passes():
    assert check_replicas_needed(reference)
    assert "Correct" in repr(check_replicas_needed(reference))


def test_handing_in_scalekit_itself_is_refused():
    def wrapper(read_load, write_rate, node_capacity):
        return replicas_needed(read_load, write_rate, node_capacity)

    for handed_in in (replicas_needed, wrapper):
        feedback = check_replicas_needed(handed_in)
        assert not feedback and "reference" in feedback.message


def test_an_endless_loop_is_stopped_and_reported(monkeypatch):
    import scalekit.exercises.scalability as shared

    monkeypatch.setattr(shared, "TIME_LIMIT", 0.2)

    def spins(read_load, write_rate, node_capacity):
        n = 0
        while n >= 0:
            n += 1

    feedback = check_replicas_needed(spins)
    assert not feedback and "did not finish" in feedback.message


def test_correct_message_does_not_give_the_answer_away():
    message = check_replicas_needed(reference).message
    assert "None" not in message and "ceil" not in message


def test_broken_implementations_never_read_correct():
    for broken in (ignores_replay, floor_division, never_none, one_too_many, always_replicas):
        feedback = check_replicas_needed(broken)
        assert not feedback, broken.__name__
        assert repr(feedback).startswith("Not yet: replicas_needed("), broken.__name__


def test_feedback_names_the_mistake():
    assert "replays all" in check_replicas_needed(ignores_replay).message
    assert "return None" in check_replicas_needed(never_none).message
    assert "more than needed" in check_replicas_needed(one_too_many).message
    assert "no replica is needed" in check_replicas_needed(always_replicas).message


def test_stub_and_placeholders_say_not_yet():
    assert "replace the `...`" in check_replicas_needed(stub).message
    assert "replace the `...`" in check_replicas_needed(...).message
    assert "function itself" in check_replicas_needed(3).message
    crash = check_replicas_needed(lambda r, w, c: 1 / 0)
    assert not crash and "raised ZeroDivisionError" in crash.message


def test_cases_are_seeded_and_cover_the_edges():
    cases = replica_cases()
    assert cases == replica_cases()
    answers = [replicas_needed(*case) for case in cases]
    assert None in answers and 0 in answers and any(a and a > 1 for a in answers)


def test_first_step_right_answer():
    feedback = check_first_step("sharding")
    assert feedback and "shard" not in feedback.message.lower()


def test_first_step_each_wrong_choice_is_explained():
    expected = {
        "caching": "writes/s still reach the primary",
        "replicas": "replays all 3,600 writes/s",
        "autoscaling": "same writes to the same primary",
        "queue": "grows the queue by 600 jobs a second",
    }
    for choice in FIRST_STEPS:
        if choice == "sharding":
            continue
        feedback = check_first_step(choice)
        assert not feedback and expected[choice] in feedback.message, choice
    assert check_first_step(" Caching ").message == check_first_step("caching").message


def test_first_step_placeholders_and_unknown_answers():
    assert "replace the `...`" in check_first_step(...).message
    assert "answer with one of" in check_first_step("buy a bigger box").message


def none_when_writes_fill_a_node(read_load, write_rate, node_capacity):
    if write_rate >= node_capacity:
        return None
    return reference(read_load, write_rate, node_capacity)


def zero_only_below_capacity(read_load, write_rate, node_capacity):
    if read_load + write_rate < node_capacity:
        return 0
    room = node_capacity - write_rate
    return None if room <= 0 else math.ceil(read_load / room)


def returns_text(read_load, write_rate, node_capacity):
    return str(reference(read_load, write_rate, node_capacity))


@pytest.mark.parametrize("broken", [none_when_writes_fill_a_node, zero_only_below_capacity, returns_text])
def test_edge_case_mistakes_never_read_correct(broken):
    feedback = check_replicas_needed(broken)
    assert not feedback, broken.__name__
    assert not repr(feedback).startswith("Correct")


def test_text_answers_are_told_to_return_a_number():
    assert "whole number" in check_replicas_needed(returns_text).message


def forgets_to_round_up(read_load, write_rate, node_capacity):
    if read_load + write_rate <= node_capacity:
        return 0
    room = node_capacity - write_rate
    return None if room <= 0 else read_load / room


def test_a_fraction_of_a_replica_is_told_to_round_up():
    feedback = check_replicas_needed(forgets_to_round_up)
    assert not feedback
    assert "round up" in feedback.message and "too few" not in feedback.message


def test_none_for_a_load_the_primary_carries_alone_is_told_zero():
    feedback = check_replicas_needed(none_when_writes_fill_a_node)
    assert "return 0" in feedback.message
    assert "room for reads" not in feedback.message


def test_the_queue_answer_does_not_claim_no_payment_is_confirmed():
    message = check_first_step("queue").message
    assert "ever confirmed" not in message and "waits longer" in message
