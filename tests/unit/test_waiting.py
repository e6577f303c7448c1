"""The one polling helper, on a fake clock: no test here sleeps."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import pytest

from gameday.waiting import poll


class FakeClock:
    """A monotonic clock that moves only when something sleeps (or a probe takes time)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.sleeps.append(seconds)
        self.now += seconds


def answers(
    clock: FakeClock, values: Iterable[object], *, takes_s: float = 0.0
) -> Callable[[], object]:
    """A probe that returns ``values`` one by one (raising those that are exceptions), each
    look taking ``takes_s`` on the clock."""
    pending = iter(values)

    def probe() -> object:
        clock.now += takes_s
        value = next(pending)
        if isinstance(value, Exception):
            raise value
        return value

    return probe


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_returns_at_the_first_good_observation(clock: FakeClock) -> None:
    waited = poll(
        answers(clock, [None, None, 3, 4]),
        lambda v: v is not None,
        timeout_s=10,
        interval_s=0.5,
        clock=clock,
        sleep=clock.sleep,
    )
    assert (waited.ok, waited.last, waited.attempts) == (True, 3, 3)
    assert clock.sleeps == [0.5, 0.5]
    assert waited.elapsed_s == 1.0


def test_good_enough_is_truthy_by_default(clock: FakeClock) -> None:
    waited = poll(
        answers(clock, ["", [], "up"]), timeout_s=10, interval_s=1, clock=clock, sleep=clock.sleep
    )
    assert waited.ok and waited.last == "up" and waited.attempts == 3


def test_a_good_first_look_does_not_sleep(clock: FakeClock) -> None:
    waited = poll(
        answers(clock, [0]),
        lambda v: v == 0,
        timeout_s=5,
        interval_s=1,
        clock=clock,
        sleep=clock.sleep,
    )
    assert waited.ok and waited.last == 0 and clock.sleeps == []


def test_times_out_with_the_last_observation(clock: FakeClock) -> None:
    waited = poll(
        answers(clock, [f"gap {i}" for i in range(100)]),
        lambda v: v == "",
        timeout_s=1.0,
        interval_s=0.25,
        clock=clock,
        sleep=clock.sleep,
    )
    # Looks at 0, 0.25, 0.5, 0.75 and 1.0 s: the last one at the deadline.
    assert (waited.ok, waited.last, waited.attempts) == (False, "gap 4", 5)
    assert clock.sleeps == [0.25] * 4
    assert waited.elapsed_s == 1.0


def test_the_last_sleep_ends_at_the_deadline(clock: FakeClock) -> None:
    waited = poll(
        answers(clock, range(100)),
        lambda v: False,
        timeout_s=1.0,
        interval_s=0.375,
        clock=clock,
        sleep=clock.sleep,
    )
    assert clock.sleeps == [0.375, 0.375, 0.25]
    assert not waited.ok and waited.attempts == 4 and waited.last == 3


def test_a_slow_probe_uses_up_the_time(clock: FakeClock) -> None:
    waited = poll(
        answers(clock, range(100), takes_s=0.375),
        lambda v: False,
        timeout_s=1.0,
        interval_s=0.25,
        clock=clock,
        sleep=clock.sleep,
    )
    # Looks end at 0.375, 1.0 (0.375 + 0.25 + 0.375) and then the time is up.
    assert clock.sleeps == [0.25]
    assert not waited.ok and waited.attempts == 2


@pytest.mark.parametrize("timeout_s", [0.0, -3.0])
def test_looks_once_even_without_time(clock: FakeClock, timeout_s: float) -> None:
    waited = poll(
        answers(clock, [None, "late"]),
        timeout_s=timeout_s,
        interval_s=1,
        clock=clock,
        sleep=clock.sleep,
    )
    assert not waited.ok and waited.attempts == 1 and waited.last is None
    assert clock.sleeps == []


def test_transient_errors_are_looked_past(clock: FakeClock) -> None:
    waited = poll(
        answers(clock, [ConnectionError("refused"), TimeoutError("slow"), "up"]),
        timeout_s=10,
        interval_s=0.5,
        transient=(ConnectionError, TimeoutError),
        clock=clock,
        sleep=clock.sleep,
    )
    assert waited.ok and waited.last == "up" and waited.attempts == 3
    assert clock.sleeps == [0.5, 0.5]


def test_a_transient_error_on_the_last_look_is_raised(clock: FakeClock) -> None:
    probe = answers(clock, ["", ConnectionError("still refused"), ConnectionError("refused again")])
    with pytest.raises(ConnectionError, match="refused again"):
        poll(
            probe,
            timeout_s=1.0,
            interval_s=0.5,
            transient=(ConnectionError,),
            clock=clock,
            sleep=clock.sleep,
        )
    assert clock.sleeps == [0.5, 0.5]


def test_other_errors_propagate_at_once(clock: FakeClock) -> None:
    probe = answers(clock, [ValueError("bad answer"), "up"])
    with pytest.raises(ValueError, match="bad answer"):
        poll(
            probe,
            timeout_s=10,
            interval_s=0.5,
            transient=(ConnectionError,),
            clock=clock,
            sleep=clock.sleep,
        )
    assert clock.sleeps == []


def test_without_transient_types_every_error_propagates(clock: FakeClock) -> None:
    with pytest.raises(ConnectionError):
        poll(
            answers(clock, [ConnectionError()]),
            timeout_s=10,
            interval_s=0.5,
            clock=clock,
            sleep=clock.sleep,
        )


@pytest.mark.parametrize("interval_s", [0.0, -1.0])
def test_an_interval_must_be_positive(clock: FakeClock, interval_s: float) -> None:
    with pytest.raises(ValueError, match="positive interval"):
        poll(
            answers(clock, ["up"]),
            timeout_s=1,
            interval_s=interval_s,
            clock=clock,
            sleep=clock.sleep,
        )


def test_the_real_clock_is_the_default() -> None:
    waited = poll(answers(FakeClock(), [None, "up"]), timeout_s=1, interval_s=0.01)
    assert waited.ok and 0 < waited.elapsed_s < 1
