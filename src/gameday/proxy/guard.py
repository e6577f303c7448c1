"""Bounds on the API's connections: how many may be open at once, and how long each may
wait between requests (for the headers of its first one, or of its next one).

aiohttp (3.8 as much as 3.14) waits for a new connection's first request for ever: a
client that opens connections and sends nothing, or half a request line, holds a file
descriptor for each as long as it likes. Five thousand of them stayed open for good; ten
thousand, with ten thousand proxies listening, left the process no descriptor to accept
with, and the API stopped answering. So every connection here has a deadline while it is
between requests, from when it opened or from the end of its last request; one that is
still waiting when the deadline passes is aborted. At the limit of open connections, the
one that has waited the longest makes room for the new one, so that a flood of idle
connections cannot lock out a real client; if every connection is busy in a request, the
new one is refused. A request's body has a deadline of its own (api.py).

The guard knows nothing of HTTP: httpd.py tells it when a connection opens and closes,
and when a request starts and ends.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from dataclasses import dataclass

from .throttle import Throttle

__all__ = ["ConnectionGuard"]

log = logging.getLogger(__name__)


@dataclass
class _Connection:
    transport: asyncio.BaseTransport
    deadline: asyncio.TimerHandle | None = None

    def disarm(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None


class ConnectionGuard:
    """The open connections of the API, by key (the protocol of each)."""

    def __init__(self, limit: int, idle_timeout_s: float) -> None:
        self.limit = limit
        self.idle_timeout_s = idle_timeout_s
        self._throttle = Throttle(log)
        self._idle: OrderedDict[object, _Connection] = OrderedDict()  # longest waiting first
        self._busy: dict[object, _Connection] = {}

    @property
    def open_count(self) -> int:
        return len(self._idle) + len(self._busy)

    def opened(self, key: object, transport: asyncio.BaseTransport) -> None:
        """A connection was accepted; it may have to wait or be refused at the limit."""
        if self.open_count >= self.limit:
            if not self._idle:
                self._throttle.log(
                    logging.WARNING,
                    "api-refused",
                    "API: %d connections are busy in requests (the limit); refused a new one",
                    self.limit,
                )
                _abort(transport)
                return
            _, oldest = self._idle.popitem(last=False)
            oldest.disarm()
            _abort(oldest.transport)
            self._throttle.log(
                logging.WARNING,
                "api-evicted",
                "API: %d connections are open (the limit); closed the one idle the longest",
                self.limit,
            )
        connection = _Connection(transport)
        self._idle[key] = connection
        self._arm(key, connection)

    def closed(self, key: object) -> None:
        connection = self._idle.pop(key, None) or self._busy.pop(key, None)
        if connection is not None:
            connection.disarm()

    def request_started(self, key: object) -> None:
        connection = self._idle.pop(key, None)
        if connection is not None:
            connection.disarm()
            self._busy[key] = connection

    def request_ended(self, key: object) -> None:
        connection = self._busy.pop(key, None)
        if connection is not None:
            self._idle[key] = connection  # the most recent: evicted last
            self._arm(key, connection)

    def close(self) -> None:
        for connection in [*self._idle.values(), *self._busy.values()]:
            connection.disarm()
        self._idle.clear()
        self._busy.clear()

    def _arm(self, key: object, connection: _Connection) -> None:
        loop = asyncio.get_running_loop()
        connection.deadline = loop.call_later(self.idle_timeout_s, self._expired, key)

    def _expired(self, key: object) -> None:
        connection = self._idle.pop(key, None)
        if connection is None:
            return
        connection.deadline = None
        _abort(connection.transport)
        self._throttle.log(
            logging.INFO,
            "api-idle",
            "API: closed a connection that sent no request within %g s",
            self.idle_timeout_s,
        )


def _abort(transport: asyncio.BaseTransport) -> None:
    # abort, not close: close would wait to flush to a client that may never read.
    if isinstance(transport, asyncio.WriteTransport):
        transport.abort()
    else:
        transport.close()
