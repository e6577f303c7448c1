"""The API's HTTP server: aiohttp's request handler, on a listener of the proxy's own.

aiohttp answers a request that its HTTP parser refuses (not HTTP at all, a header line too
long, a bad chunk) by itself, in plain text, and logs it with a traceback as if it were a
bug; a client that sends garbage in a loop fills the log. ``ApiHandler`` answers it with
Toxiproxy's JSON error like every other error, and logs one line.

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
from typing import Any

from aiohttp import web

from .errors import http_error, internal_error, shorten
from .responses import error_response

__all__ = ["ApiHandler", "ApiServer", "start_api"]

log = logging.getLogger(__name__)

# After an error answer, how long aiohttp may read what is left of the request's body
# before it closes: long enough for the client to see the answer, short enough to free it.
LINGER_S = 2.0
SHUTDOWN_S = 1.0


class ApiHandler(web.RequestHandler):
    """aiohttp's handler of one API connection, with errors of its parser in JSON."""

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if status >= 500:
            # Not bad input: aiohttp calls this for an exception outside every handler.
            log.error("API: error handling a request", exc_info=exc)
            error = internal_error()
        else:
            detail = message or (str(exc) if exc is not None else HTTPStatus(status).phrase)
            log.info("API: refused a request that is not valid HTTP: %s", shorten(detail, 200))
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

    async def stop(self) -> None:
        self.listener.close()
        server = self.runner.server
        if server is not None:
            # aiohttp closes the connections of its own sites only; these are ours.
            await server.shutdown(SHUTDOWN_S)
        await self.runner.cleanup()
        # After the connections are closed: from 3.12, wait_closed also waits for them.
        await self.listener.wait_closed()


async def start_api(app: web.Application, sock: socket.socket) -> ApiServer:
    """Serve ``app`` on the listening socket ``sock``."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    server = runner.server
    assert server is not None  # set up just above
    loop = asyncio.get_running_loop()
    # access_log=None turns the access log off, as AppRunner(access_log=None) does; the
    # annotation of RequestHandler says Logger, hence Any.
    options: dict[str, Any] = {"access_log": None, "lingering_time": LINGER_S}

    def new_connection() -> ApiHandler:
        return ApiHandler(server, loop=loop, **options)

    listener = await loop.create_server(new_connection, sock=sock)
    return ApiServer(runner, listener)
