"""Notebook 10's checks: right answers pass, typical wrong ones get a sentence that says why."""

from __future__ import annotations

import math

import pytest

from scalekit.exercises import overload as checks


class RightBucket:
    def __init__(self, rate, burst):
        self.rate, self.burst, self.tokens, self.last = rate, burst, float(burst), None

    def allow(self, now):
        if self.last is not None:
            self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class NeverRefills(RightBucket):
    def allow(self, now):
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class NoCap(RightBucket):
    def allow(self, now):
        if self.last is not None:
            self.tokens += (now - self.last) * self.rate
        self.last = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class WholeTokensOnly(RightBucket):
    def allow(self, now):
        if self.last is not None:
            self.tokens = min(self.burst, self.tokens + math.floor((now - self.last) * self.rate))
        self.last = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class AllowsAnyFraction(RightBucket):
    def allow(self, now):
        if self.last is not None:
            self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens > 0:
            self.tokens = max(0.0, self.tokens - 1)
            return True
        return False


class FixedWindowInDisguise(RightBucket):
    def allow(self, now):
        window = math.floor(now * self.rate / self.burst)
        if window != self.last:
            self.last, self.tokens = window, self.burst
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class CapOneTooHigh(RightBucket):
    def __init__(self, rate, burst):
        super().__init__(rate, burst)
        self.burst = burst + 1


class StartsEmpty(RightBucket):
    def __init__(self, rate, burst):
        super().__init__(rate, burst)
        self.tokens = 0.0


class RefillsOncePerSecond(RightBucket):
    def allow(self, now):
        if self.last is not None:
            whole_seconds = math.floor(now) - math.floor(self.last)
            self.tokens = min(self.burst, self.tokens + whole_seconds * self.rate)
        self.last = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class FullAgainEverySecond(RightBucket):
    def allow(self, now):
        if self.last is None or math.floor(now) > math.floor(self.last):
            self.tokens = self.burst
        self.last = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class AllowsEverything(RightBucket):
    def allow(self, now):
        return True


class CreditSinceTheStart:
    """Caps what it reports, not what it saves: an idle spell buys an unlimited burst."""

    def __init__(self, rate, burst):
        self.rate, self.burst, self.start, self.used = rate, burst, None, 0

    def allow(self, now):
        self.start = now if self.start is None else self.start
        if min(self.burst, self.burst + (now - self.start) * self.rate - self.used) >= 1:
            self.used += 1
            return True
        return False


class SlidingLogOverBurstOverRate:
    def __init__(self, rate, burst):
        self.span, self.burst, self.log = burst / rate, burst, []

    def allow(self, now):
        self.log = [t for t in self.log if t > now - self.span]
        if len(self.log) < self.burst:
            self.log.append(now)
            return True
        return False


class SlightlySlowRefill(RightBucket):
    def __init__(self, rate, burst):
        super().__init__(0.9 * rate, burst)
        self.burst = burst


class SharedBetweenInstances:
    tokens, last = None, None

    def __init__(self, rate, burst):
        self.rate, self.burst = rate, burst
        if SharedBetweenInstances.tokens is None:
            SharedBetweenInstances.tokens = float(burst)

    def allow(self, now):
        cls = SharedBetweenInstances
        if cls.last is not None:
            cls.tokens = min(self.burst, cls.tokens + max(0.0, now - cls.last) * self.rate)
        cls.last = now
        if cls.tokens >= 1:
            cls.tokens -= 1
            return True
        return False


class GCRAStyle:
    """A different but right rule: the theoretical arrival time (GCRA)."""

    def __init__(self, rate, burst):
        self.interval, self.tolerance, self.tat = 1 / rate, (burst - 1) / rate, None

    def allow(self, now):
        tat = now if self.tat is None else max(self.tat, now)
        if tat - now <= self.tolerance + 1e-9:
            self.tat = tat + self.interval
            return True
        return False


class ForgetsAReturn(RightBucket):
    def allow(self, now):
        if self.last is not None:
            self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True


class Stub:
    def __init__(self, rate, burst): ...

    def allow(self, now): ...


def test_a_right_bucket_is_correct_and_the_message_gives_no_code_away():
    feedback = checks.check_token_bucket(RightBucket)
    assert feedback, feedback
    assert repr(feedback).startswith("Correct: ")


@pytest.mark.parametrize(
    ("broken", "says"),
    [
        (NeverRefills, "refused it"),
        (NoCap, "let it through"),
        (WholeTokensOnly, "refused it"),
        (AllowsAnyFraction, "let it through"),
        (FixedWindowInDisguise, "refused it"),
        (CapOneTooHigh, "let it through"),
        (StartsEmpty, "refused it"),
        (RefillsOncePerSecond, "refused it"),
        (FullAgainEverySecond, "let it through"),
        (AllowsEverything, "let it through"),
        (CreditSinceTheStart, "let it through"),
        (SlidingLogOverBurstOverRate, "refused it"),
        (SlightlySlowRefill, "refused it"),
        (SharedBetweenInstances, "refused it"),
    ],
)
def test_broken_buckets_get_a_concrete_failing_request(broken, says):
    feedback = checks.check_token_bucket(broken)
    assert not feedback
    text = repr(feedback)
    assert text.startswith("Not yet: ") and says in text
    assert "request" in text and "t = " in text and "tokens" in text


def test_a_different_but_right_rule_is_correct():
    assert checks.check_token_bucket(GCRAStyle)


def test_a_path_without_a_return_is_named_not_called_a_stub():
    text = repr(checks.check_token_bucket(ForgetsAReturn))
    assert text.startswith("Not yet: ") and "every path" in text and "request" in text


def test_an_unfinished_stub_or_a_placeholder_is_not_yet_not_an_exception():
    assert "returned None" in repr(checks.check_token_bucket(Stub))
    assert "replace the `...`" in repr(checks.check_token_bucket(...))
    assert "pass the class" in repr(checks.check_token_bucket(3))


def test_a_bucket_that_raises_or_returns_numbers_gets_told():
    class Raises(RightBucket):
        def allow(self, now):
            raise KeyError("x")

    class ReturnsCount(RightBucket):
        def allow(self, now):
            return 1

    assert "raised KeyError" in repr(checks.check_token_bucket(Raises))
    assert "True or False" in repr(checks.check_token_bucket(ReturnsCount))


def test_timeout_choice_explains_each_wrong_one():
    outcomes = checks.timeout_outcomes()
    right = checks.check_timeout(0.5)
    assert right and outcomes[0.5][0] > 0.95 and outcomes[0.5][1] < 0.01
    assert "0.5" not in repr(right)
    for too_long in (30, 2.0):
        feedback = checks.check_timeout(too_long)
        assert not feedback and "Little's law" in repr(feedback) and "more than the pool" in repr(feedback)
        assert outcomes[float(too_long)][0] < 0.5
    too_short = checks.check_timeout(0.05)
    assert not too_short and "while the service is healthy" in repr(too_short)
    assert outcomes[0.05][1] > 0.3
    assert "choose one of" in repr(checks.check_timeout(1))
    assert "choose one of" in repr(checks.check_timeout("fast"))
    assert "replace" in repr(checks.check_timeout(...))


def test_shard_quantile():
    right = checks.check_shard_quantile(0.99 ** (1 / 40))
    assert right and "0.99" not in repr(right)
    assert checks.check_shard_quantile(1 - 0.01 / 40)
    assert "page's own target" in repr(checks.check_shard_quantile(0.99))
    assert "invert it" in repr(checks.check_shard_quantile(0.99**40))
    assert "percentage" in repr(checks.check_shard_quantile(99.97))
    assert "too loose" in repr(checks.check_shard_quantile(0.999))
    assert "too strict" in repr(checks.check_shard_quantile(0.99999))
    assert "replace" in repr(checks.check_shard_quantile(None))
