"""The API's HTTP server: aiohttp's request handler, on a listener of the proxy's own, with
its connections bounded (guard.py).

aiohttp answers a request that its HTTP parser refuses (not HTTP at all, a header line too
long, a bad chunk) by itself, in plain text, and logs it with a traceback as if it were a
bug; a client that sends garbage in a loop fills the log. ``ApiHandler`` answers it with
Toxiproxy's JSON error like every other error, and logs one line (at most one per
interval: throttle.py).

The listener is made here rather than by an aiohttp site so that the server chooses the
protocol of each connection. Only APIs that aiohttp 3.8 (Debian bookworm's) has too are
used: ``web.RequestHandler`` with its constructor's documented options and its
``handle_error`` hook (the same signature from 3.8 to 3.14), ``AppRunner.server`` and
``web.Server.shutdown``.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .api import Handler, build_app
from .errors import http_error, internal_error, shorten
from .guard import ConnectionGuard
from .limits import Limits
from .proxy import ProxyCollection
from .responses import error_response
from .throttle import Throttle

if TYPE_CHECKING:
    # Only for annotations: aiohttp 3.8 has no typedefs.Middleware.
    from aiohttp.typedefs import Middleware

__all__ = ["ApiHandler", "ApiServer", "start_api"]

log = logging.getLogger(__name__)
_refusals = Throttle(log)

# After an error answer, how long aiohttp may read what is left of the request's body
# before it closes: long enough for the client to see the answer, short enough to free it.
LINGER_S = 2.0
SHUTDOWN_S = 1.0


class ApiHandler(web.RequestHandler):
    """aiohttp's handler of one API connection, with errors of its parser in JSON, that
    tells the guard when it opens and closes."""

    def __init__(self, manager: web.Server, guard: ConnectionGuard, **options: Any) -> None:
        super().__init__(manager, **options)
        self._guard = guard

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._guard.opened(self, transport)

    def connection_lost(self, exc: BaseException | None) -> None:
        self._guard.closed(self)
        super().connection_lost(exc)

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if isinstance(exc, ConnectionError):
            # The client left mid-request (the middleware lets this through): nobody to
            # answer and nothing wrong here.
            log.debug("API: the client left before its request was answered: %s", exc)
            error = internal_error()
        elif status >= 500:
            # Not bad input: aiohttp calls this for an exception outside every handler.
            log.error("API: error handling a request", exc_info=exc)
            error = internal_error()
        else:
            detail = message or (str(exc) if exc is not None else HTTPStatus(status).phrase)
            _refusals.log(
                logging.INFO,
                "not-http",
                "API: refused a request that is not valid HTTP: %s",
                shorten(detail, 200),
            )
            error = http_error(status, f"bad HTTP request: {detail}")
        if request.writer.output_size > 0:
            # As aiohttp: an answer has begun, the connection is beyond saving.
            raise ConnectionError("a response was already sent, cannot send an error")
        response = error_response(error)
        response.force_close()
        return response


@dataclass
class ApiServer:
    """The API's listener and the aiohttp runner that serves its connections."""

    runner: web.AppRunner
    listener: asyncio.Server
    guard: ConnectionGuard

    async def stop(self) -> None:
        self.listener.close()
        self.guard.close()
        server = self.runner.server
        if server is not None:
            # aiohttp closes the connections of its own sites only; these are ours.
            await server.shutdown(SHUTDOWN_S)
            await asyncio.sleep(0)  # one turn for the handlers it cancelled to finish
        await self.runner.cleanup()
        # After the connections are closed: from 3.12, wait_closed also waits for them.
        await self.listener.wait_closed()


def _tracking(guard: ConnectionGuard) -> Middleware:
    """The middleware that tells the guard when each request starts and ends."""

    @web.middleware
    async def track(request: web.Request, handler: Handler) -> web.StreamResponse:
        guard.request_started(request.protocol)
        try:
            return await handler(request)
        finally:
            guard.request_ended(request.protocol)

    return track


async def start_api(collection: ProxyCollection, sock: socket.socket, limits: Limits) -> ApiServer:
    """Serve the API of ``collection`` on the listening socket ``sock``."""
    guard = ConnectionGuard(limits.max_api_connections, limits.header_timeout_s)
    runner = web.AppRunner(build_app(collection, limits, first=[_tracking(guard)]))
    await runner.setup()
    server = runner.server
    assert server is not None  # set up just above
    loop = asyncio.get_running_loop()
    # access_log=None turns the access log off, as AppRunner(access_log=None) does; the
    # annotation of RequestHandler says Logger, hence Any.
    options: dict[str, Any] = {"loop": loop, "access_log": None, "lingering_time": LINGER_S}

    def new_connection() -> ApiHandler:
        return ApiHandler(server, guard, **options)

    listener = await loop.create_server(new_connection, sock=sock)
    return ApiServer(runner, listener, guard)
