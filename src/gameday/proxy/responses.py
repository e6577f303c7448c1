"""The two kinds of answer of the API: a JSON result, and an error as Toxiproxy writes one,
``{"error": "...", "status": N}``. Every error the server sends has this body, whoever
found the error: a handler, aiohttp's router, or aiohttp's HTTP parser (httpd.py).
"""

from __future__ import annotations

import json

from aiohttp import web

from .errors import ApiError

__all__ = ["error_response", "json_response"]

# Errors after which the rest of the request's body may still be on the way: the
# connection cannot carry another request, so the answer closes it.
_CLOSING = frozenset({408, 413})


def json_response(data: object, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(data), status=status, content_type="application/json")


def error_response(error: ApiError, **extra: object) -> web.Response:
    """The body of ``error`` with ``extra`` fields (populate adds ``proxies``)."""
    # Go's http.Error ends the body with a newline; clients that compare bodies see the same.
    body = json.dumps({"error": error.message, "status": error.status, **extra}) + "\n"
    response = web.Response(text=body, status=error.status, content_type="application/json")
    if error.status in _CLOSING:
        response.force_close()
    return response
