"""The HTTP API, route for route Toxiproxy 2.x's (its ``api.go``), all listed in ``routes``.

Status codes follow Toxiproxy: 201 for a created proxy and for populate, 200 for a
created toxic, 204 for deletes and reset, and errors as ``{"error": "...", "status": N}``.
Only aiohttp APIs that exist in aiohttp 3.8 are used (Debian bookworm's python3-aiohttp).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from aiohttp import web

from .errors import (
    ApiError,
    PopulateError,
    bad_request,
    body_timeout,
    body_too_large,
    http_error,
    internal_error,
)
from .limits import Limits
from .proxy import ProxyCollection
from .responses import error_response, json_response
from .specs import parse_proxy_specs

if TYPE_CHECKING:
    # Only for annotations: aiohttp 3.8 has no typedefs.Middleware.
    from aiohttp.typedefs import Middleware

__all__ = ["TOXIPROXY_VERSION", "Api", "Handler", "build_app"]

# The Toxiproxy release whose API this server follows; clients may compare versions.
TOXIPROXY_VERSION = "2.12.0"

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error as Toxiproxy's JSON body: ours, aiohttp's (no route, wrong method), and
    a bug's, which is the only one logged with its traceback."""
    # Toxiproxy refuses browsers so that a web page cannot drive the API (CSRF).
    if request.headers.get("User-Agent", "").startswith("Mozilla/"):
        return error_response(ApiError("User agent not allowed", 403))
    try:
        return await handler(request)
    except ApiError as error:
        return error_response(error)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        response = error_response(http_error(exc.status, (exc.reason or "error").lower()))
        if "Allow" in exc.headers:  # 405 says which methods the path takes
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    except ConnectionError:
        raise  # the client left mid-request: aiohttp drops the connection, quietly
    except Exception:
        log.exception("API: %s %s failed", request.method, request.path)
        return error_response(internal_error())


async def _json_errors(request: web.Request, response: web.StreamResponse) -> None:
    """The last word on every answer: one that aiohttp makes itself, outside every
    middleware (417 for an unknown Expect header, before the handler runs), is still an
    error in Toxiproxy's JSON. Called as each answer is prepared, before its head is sent."""
    if response.status < 400 or not isinstance(response, web.Response):
        return
    if response.content_type == "application/json":
        return
    message = (response.text or "").strip() or (response.reason or "error").lower()
    body = (json.dumps({"error": message, "status": response.status}) + "\n").encode()
    response.body = body
    response.content_type = "application/json"
    # Said outright: aiohttp may have set the old body's length, or may count none.
    response.headers["Content-Length"] = str(len(body))


async def _read_json(request: web.Request, limits: Limits) -> object:
    if request.content_length is not None and request.content_length > limits.max_body_bytes:
        raise body_too_large(limits.max_body_bytes)  # said at once, not after reading it
    try:
        # The headers are in (guard.py timed them); the body has a deadline of its own.
        raw = await asyncio.wait_for(request.read(), limits.body_timeout_s)
    except TimeoutError:
        raise body_timeout(limits.body_timeout_s) from None
    except web.HTTPRequestEntityTooLarge:  # chunked, beyond client_max_size
        raise body_too_large(limits.max_body_bytes) from None
    except web.RequestPayloadError as exc:  # e.g. a broken chunked encoding
        raise bad_request(f"cannot read the body: {exc}") from None
    if not raw.strip():
        raise bad_request("EOF")
    try:
        return json.loads(raw)
    except RecursionError:
        raise bad_request("invalid JSON: nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_request(f"invalid JSON: {exc}") from None


class Api:
    """The handlers, bound to the proxies they read and change."""

    def __init__(self, collection: ProxyCollection, limits: Limits) -> None:
        self.collection = collection
        self.limits = limits

    async def _body(self, request: web.Request) -> object:
        return await _read_json(request, self.limits)

    async def reset(self, request: web.Request) -> web.Response:
        await self.collection.reset()
        return web.Response(status=204)

    async def proxy_index(self, request: web.Request) -> web.Response:
        return json_response({proxy.name: proxy.to_json() for proxy in self.collection.all()})

    async def proxy_create(self, request: web.Request) -> web.Response:
        spec = parse_proxy_specs(
            await self._body(request), single=True, policy=self.collection.policy
        )[0]
        proxy = await self.collection.add(spec)
        return json_response(proxy.to_json(), status=201)

    async def populate(self, request: web.Request) -> web.Response:
        collection = self.collection
        try:
            specs = parse_proxy_specs(
                await self._body(request), single=False, policy=collection.policy
            )
            proxies = await collection.populate(specs)
        except PopulateError as error:
            # Populate answers an error with the proxies it created alongside, as Toxiproxy.
            return error_response(error, proxies=error.created)
        except ApiError as error:
            return error_response(error, proxies=[])
        return json_response({"proxies": [proxy.to_json() for proxy in proxies]}, status=201)

    async def proxy_show(self, request: web.Request) -> web.Response:
        proxy = self.collection.get(request.match_info["proxy"])
        return json_response(proxy.to_json())

    async def proxy_update(self, request: web.Request) -> web.Response:
        collection = self.collection
        name = request.match_info["proxy"]
        collection.get(name)  # 404 before looking at the body, as Toxiproxy
        proxy = await collection.update(name, await self._body(request))
        return json_response(proxy.to_json())

    async def proxy_delete(self, request: web.Request) -> web.Response:
        await self.collection.remove(request.match_info["proxy"])
        return web.Response(status=204)

    async def toxic_index(self, request: web.Request) -> web.Response:
        proxy = self.collection.get(request.match_info["proxy"])
        return json_response([toxic.to_json() for toxic in proxy.toxics])

    async def toxic_create(self, request: web.Request) -> web.Response:
        proxy = self.collection.get(request.match_info["proxy"])
        toxic = proxy.add_toxic(await self._body(request))
        return json_response(toxic.to_json())

    async def toxic_show(self, request: web.Request) -> web.Response:
        proxy = self.collection.get(request.match_info["proxy"])
        return json_response(proxy.get_toxic(request.match_info["toxic"]).to_json())

    async def toxic_update(self, request: web.Request) -> web.Response:
        proxy = self.collection.get(request.match_info["proxy"])
        proxy.get_toxic(request.match_info["toxic"])
        toxic = proxy.update_toxic(request.match_info["toxic"], await self._body(request))
        return json_response(toxic.to_json())

    async def toxic_delete(self, request: web.Request) -> web.Response:
        proxy = self.collection.get(request.match_info["proxy"])
        proxy.remove_toxic(request.match_info["toxic"])
        return web.Response(status=204)

    async def version(self, request: web.Request) -> web.Response:
        return web.Response(
            text=json.dumps({"version": TOXIPROXY_VERSION}) + "\n",
            content_type="application/json",
            charset="utf-8",
        )

    def routes(self) -> list[web.RouteDef]:
        """Every route of the API, in one place."""
        return [
            web.post("/reset", self.reset),
            web.get("/proxies", self.proxy_index),
            web.post("/proxies", self.proxy_create),
            web.post("/populate", self.populate),
            web.get("/proxies/{proxy}", self.proxy_show),
            web.post("/proxies/{proxy}", self.proxy_update),
            web.patch("/proxies/{proxy}", self.proxy_update),
            web.delete("/proxies/{proxy}", self.proxy_delete),
            web.get("/proxies/{proxy}/toxics", self.toxic_index),
            web.post("/proxies/{proxy}/toxics", self.toxic_create),
            web.get("/proxies/{proxy}/toxics/{toxic}", self.toxic_show),
            web.post("/proxies/{proxy}/toxics/{toxic}", self.toxic_update),
            web.patch("/proxies/{proxy}/toxics/{toxic}", self.toxic_update),
            web.delete("/proxies/{proxy}/toxics/{toxic}", self.toxic_delete),
            web.get("/version", self.version),
        ]


def build_app(
    collection: ProxyCollection, limits: Limits, first: Sequence[Middleware] = ()
) -> web.Application:
    """The API's application; ``first`` middlewares run before every other (httpd.py)."""
    middlewares: list[Middleware] = [*first, _errors]
    app = web.Application(middlewares=middlewares, client_max_size=limits.max_body_bytes)
    app.on_response_prepare.append(_json_errors)
    app.add_routes(Api(collection, limits).routes())
    return app
