"""scalekit.clock: simulated time moves only forward, and only when told."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scalekit.clock import RealClock, SimClock


def test_sleep_advances_without_waiting():
    clock = SimClock(start=10)
    clock.sleep(3600)
    assert clock.now() == clock.time() == clock.monotonic() == 3610


@given(st.lists(st.floats(min_value=0, max_value=1e6), max_size=50))
def test_now_is_the_sum_of_advances(steps):
    clock = SimClock()
    for step in steps:
        clock.advance(step)
    assert clock.now() == pytest.approx(sum(steps))


def test_time_never_goes_back():
    clock = SimClock(5)
    with pytest.raises(ValueError, match="forward"):
        clock.advance(-1)
    with pytest.raises(ValueError, match="forward"):
        clock.advance_to(4)
    with pytest.raises(ValueError, match="forward"):
        clock.advance(float("nan"))
    with pytest.raises(ValueError, match="forward"):
        clock.advance_to(float("nan"))
    assert clock.now() == 5
    assert clock.advance_to(7) == 7


def test_real_clock_is_monotonic():
    clock = RealClock()
    first = clock.now()
    clock.sleep(0)
    assert clock.now() >= first


def test_wall_clock_is_epoch_time():
    import time

    from scalekit.clock import WallClock

    before = time.time()
    assert before <= WallClock().now() <= time.time()
