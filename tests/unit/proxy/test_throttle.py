"""A flood of the same event is one log line per interval, with how many were left out."""

from __future__ import annotations

import asyncio
import errno
import logging

import pytest

from gameday.proxy.throttle import Throttle, quiet_accept_errors

log = logging.getLogger("gameday.proxy.test_throttle")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_one_line_per_interval_and_key(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    throttle = Throttle(log, interval_s=10, clock=clock)
    with caplog.at_level(logging.INFO, logger=log.name):
        for _ in range(1000):
            throttle.log(logging.WARNING, "p1", "proxy %s: cannot reach upstream", "p1")
        throttle.log(logging.WARNING, "p2", "proxy %s: cannot reach upstream", "p2")
        clock.now += 10
        throttle.log(logging.WARNING, "p1", "proxy %s: cannot reach upstream", "p1")
    assert caplog.messages == [
        "proxy p1: cannot reach upstream",
        "proxy p2: cannot reach upstream",
        "proxy p1: cannot reach upstream (and 999 more like it in the last 10 s)",
    ]


def test_keys_do_not_grow_without_bound() -> None:
    clock = Clock()
    throttle = Throttle(log, interval_s=10, clock=clock, max_keys=10)
    for key in range(1000):
        throttle.log(logging.DEBUG, str(key), "event")
    assert len(throttle._seen) <= 10


def _emfile_context() -> dict[str, object]:
    return {
        "message": "socket.accept() out of system resource",
        "exception": OSError(errno.EMFILE, "Too many open files"),
    }


def test_accept_out_of_descriptors_is_one_line_without_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    loop = asyncio.new_event_loop()
    try:
        handle = quiet_accept_errors(Throttle(log, interval_s=10))
        with caplog.at_level(logging.DEBUG):
            for _ in range(10_000):  # 10,000 listeners, each retrying every second
                handle(loop, _emfile_context())
    finally:
        loop.close()
    assert caplog.messages == [
        "cannot accept connections: Too many open files (retrying every second)"
    ]
    assert not [record for record in caplog.records if record.exc_info]


def test_other_loop_errors_go_to_the_default_handler(caplog: pytest.LogCaptureFixture) -> None:
    loop = asyncio.new_event_loop()
    try:
        with caplog.at_level(logging.ERROR, logger="asyncio"):
            quiet_accept_errors(Throttle(log))(loop, {"message": "something else"})
    finally:
        loop.close()
    assert "something else" in caplog.text
