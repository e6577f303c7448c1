"""The console's HTTP side: a Starlette app, served by uvicorn in a thread of the run.

Every route needs the run's token (in the URL's ``token``, the ``X-Gameday-Token`` header,
or the cookie the page sets), else 403. Live updates are server-sent events of the whole
state, sent when it changes; the stream ends after the scoreboard is sent. All routes are
in :func:`console_app`; the page's assets are package data in ``static/``.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import socket
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from gameday.adapters.web.console import Console, ConsoleRefusal
from gameday.errors import EnvironmentProblem

__all__ = ["ConsoleServer", "console_app"]

STATIC = Path(__file__).parent / "static"
COOKIE = "gameday_token"
PUSH_EVERY_S = 0.5
# The page loads nothing from anywhere else, and runs only its own script.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def console_app(console: Console) -> Starlette:
    """The console's routes, all behind the run's token."""

    def token_of(request: Request) -> str:
        return (
            request.query_params.get("token")
            or request.headers.get("x-gameday-token")
            or request.cookies.get(COOKIE)
            or ""
        )

    class TokenGate(BaseHTTPMiddleware):
        async def dispatch(
            self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
        ) -> Response:
            if not secrets.compare_digest(token_of(request), console.token):
                return JSONResponse(
                    {"message": "this console needs the token in the URL gameday printed"},
                    status_code=403,
                )
            response = await call_next(request)
            response.headers.setdefault("Content-Security-Policy", CSP)
            response.headers["X-Content-Type-Options"] = "nosniff"
            response.headers["Cache-Control"] = "no-store"
            return response

    async def page(request: Request) -> Response:
        response = FileResponse(STATIC / "console.html", media_type="text/html")
        # The report's own links (its files, relative) carry no token: the cookie does.
        response.set_cookie(COOKIE, console.token, httponly=True, samesite="strict")
        return response

    async def asset(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in ("console.js", "console.css"):
            return JSONResponse({"message": f"no asset {name!r}"}, status_code=404)
        return FileResponse(STATIC / name)

    async def state(request: Request) -> Response:
        return JSONResponse(console.state())

    async def events(request: Request) -> Response:
        return StreamingResponse(_stream(console, request), media_type="text/event-stream")

    async def join(request: Request) -> Response:
        body = await _json_body(request)
        try:
            person = console.join(str(body.get("name", "")), str(body.get("role", "")))
        except ConsoleRefusal as refusal:
            return JSONResponse({"message": refusal.message}, status_code=refusal.status)
        return JSONResponse({"id": person.id, "name": person.name, "role": person.role})

    def act(body: dict[str, Any]) -> Response:
        try:
            reply = console.act(
                str(body.get("participant", "")),
                str(body.get("action", "")),
                str(body.get("text", "")),
            )
        except ConsoleRefusal as refusal:
            return JSONResponse({"message": refusal.message}, status_code=refusal.status)
        return JSONResponse({"message": reply.message, "done": reply.done})

    async def action(request: Request) -> Response:
        body = await _json_body(request)
        # The responder's lock may wait on the terminal: not on the event loop.
        return await asyncio.to_thread(act, body)

    async def report(request: Request) -> Response:
        run_dir = console.run_dir
        if run_dir is None:
            return JSONResponse({"message": "the report is written when the run ends"}, 404)
        root = run_dir.resolve()
        path = (root / request.path_params["path"]).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            return JSONResponse({"message": "no such file in this run's report"}, 404)
        media = "text/plain; charset=utf-8" if path.suffix == ".md" else None
        response = FileResponse(path, media_type=media)
        response.headers["Content-Security-Policy"] = "default-src 'self' 'unsafe-inline'"
        return response

    routes = [
        Route("/", page),
        Route("/static/{name}", asset),
        Route("/api/state", state),
        Route("/api/events", events),
        Route("/api/join", join, methods=["POST"]),
        Route("/api/action", action, methods=["POST"]),
        Route("/report/{path:path}", report),
    ]
    return Starlette(routes=routes, middleware=[Middleware(TokenGate)])


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


async def _stream(console: Console, request: Request) -> AsyncIterator[str]:
    """The state as server-sent events: now, then whenever it changes; ends after the
    scoreboard."""
    last = ""
    while True:
        state = console.state()
        text = json.dumps(state, sort_keys=True)
        if text != last:
            last = text
            yield f"event: state\ndata: {text}\n\n"
        if state["phase"] == "ended" or await request.is_disconnected():
            return
        await asyncio.sleep(PUSH_EVERY_S)


class ConsoleServer:
    """uvicorn serving a console in a daemon thread, on a socket bound before it starts
    (so the URL printed is right, port 0 included)."""

    def __init__(self, console: Console, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.console = console
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._socket = socket.socket(family, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._socket.bind((host, port))
            self._socket.listen(64)  # now: a second console on this port fails here, not later
        except OSError as exc:
            self._socket.close()
            raise EnvironmentProblem(
                f"the console cannot listen on {host}:{port}: {exc.strerror or exc}"
            ) from exc
        self.host, self.port = host, self._socket.getsockname()[1]
        config = uvicorn.Config(
            console_app(console), log_level="warning", access_log=False, lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            name="gameday-console",
            daemon=True,
        )

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/?token={self.console.token}"

    def start(self) -> ConsoleServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._socket.close()
