"""One way to wait: look at something until what it shows is good enough, or time is up.

Every wait in gameday (containers getting healthy, Prometheus seeing the whole replica, a
database letting clients in again, held sessions opening and closing, the steady state
coming back) is the same loop: observe, stop when the observation is good enough, else sleep
a little and look again until a deadline. :func:`poll` is that loop, once. It words no
timeout: it returns a :class:`Waited` with the last observation, and each caller says in its
own words what did not happen (or raises what it always raised).

The rules:

* the probe runs at least once, even when no time is left;
* after an observation that is not good enough, the wait ends if the deadline has passed;
  otherwise it sleeps ``interval_s``, or what is left of the time when that is less, so the
  last look is at the deadline and not an interval after it;
* an exception of one of the ``transient`` types counts as a look that saw nothing good; if
  the last look raised one when the time is up, that exception is raised (nothing newer is
  known); any other exception propagates at once.

``clock`` and ``sleep`` are parameters so that a test can run a wait on a fake clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["Waited", "poll"]

T = TypeVar("T")


@dataclass(frozen=True)
class Waited(Generic[T]):
    """How a wait ended: ``ok`` when ``last`` (the last observation) was good enough, False
    when the time ran out first."""

    ok: bool
    last: T
    attempts: int
    elapsed_s: float


def poll(
    probe: Callable[[], T],
    until: Callable[[T], bool] = bool,
    *,
    timeout_s: float,
    interval_s: float,
    transient: tuple[type[Exception], ...] = (),
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Waited[T]:
    """Call ``probe`` every ``interval_s`` until ``until`` accepts what it returned (by
    default: until it is truthy) or ``timeout_s`` have passed; see the module's rules."""
    if interval_s <= 0:
        raise ValueError(f"a wait needs a positive interval, not {interval_s!r}")
    start = clock()
    deadline = start + timeout_s
    attempts = 0
    while True:
        attempts += 1
        failure: Exception | None = None
        try:
            observation = probe()
        except transient as exc:
            failure = exc
        else:
            if until(observation):
                return Waited(True, observation, attempts, clock() - start)
        now = clock()
        if now >= deadline:
            if failure is not None:
                raise failure
            return Waited(False, observation, attempts, now - start)
        sleep(min(interval_s, deadline - now))
