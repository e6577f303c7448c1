"""Logging of what can happen thousands of times a second: at most one line per interval
for each kind of event, with how many were left out.

Under a flood the same event repeats for every connection: accept() failing with EMFILE
once the process is out of file descriptors, an upstream that cannot be dialled, garbage on
the API port. Logged each time (asyncio logs an accept error with its traceback, once a
second for every listener), it grew the log by 57 MB a minute and kept the loop busy
writing instead of serving. One line per interval says the same.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import time
from collections.abc import Callable
from typing import Any

__all__ = ["Throttle", "quiet_accept_errors"]

# The errors asyncio's accept loop reports and then retries after a second.
_RESOURCE_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


class Throttle:
    """Logs each kind of event (``key``) at most once per ``interval_s``; the next line of
    a kind says how many of it were left out since the last one."""

    def __init__(
        self,
        logger: logging.Logger,
        interval_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 4096,
    ) -> None:
        self._logger = logger
        self._interval_s = interval_s
        self._clock = clock
        self._max_keys = max_keys
        self._seen: dict[str, tuple[float, int]] = {}  # key -> (last logged at, left out)

    def log(self, level: int, key: str, message: str, *args: object) -> None:
        now = self._clock()
        seen = self._seen.get(key)
        if seen is not None and now - seen[0] < self._interval_s:
            self._seen[key] = (seen[0], seen[1] + 1)
            return
        if seen is None and len(self._seen) >= self._max_keys:
            self._forget(now)
        self._seen[key] = (now, 0)
        if seen is not None and seen[1]:
            message += " (and %d more like it in the last %.0f s)"
            args = (*args, seen[1], now - seen[0])
        self._logger.log(level, message, *args)

    def _forget(self, now: float) -> None:
        # Keys are per proxy or per kind, so this is rare; losing counts here is harmless.
        self._seen = {k: v for k, v in self._seen.items() if now - v[0] < self._interval_s}
        if len(self._seen) >= self._max_keys:
            self._seen.clear()


def quiet_accept_errors(
    throttle: Throttle,
) -> Callable[[asyncio.AbstractEventLoop, dict[str, Any]], None]:
    """An event loop exception handler: accept() out of resources (EMFILE and the like) is
    one throttled line without a traceback; anything else goes to the default handler."""

    def handle(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if isinstance(exc, OSError) and exc.errno in _RESOURCE_ERRNOS:
            throttle.log(
                logging.ERROR,
                f"accept-{exc.errno}",
                "cannot accept connections: %s (retrying every second)",
                exc.strerror or exc,
            )
            return
        loop.default_exception_handler(context)

    return handle
