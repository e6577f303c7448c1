"""Errors of the proxy: those of its HTTP API, each a named value with the HTTP status
Toxiproxy uses, and those that keep the server from starting, each with its exit code.

The API layer turns an ``ApiError`` into Toxiproxy's error body
``{"error": "...", "status": N}``. Bad input is always a 4xx; only a listen address the
machine cannot bind is a 500, as in Toxiproxy (the request was fine, the machine was not),
and a bug. This module is not gameday's error hierarchy: the proxy package stands alone
(it is copied into an image without the rest of gameday), so ``StartupError`` carries its
exit code the way ``gameday.errors`` does: 2 for bad input, 3 for the environment.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "ApiError",
    "ConfigError",
    "ListenError",
    "PopulateError",
    "StartupError",
    "bad_request",
    "body_timeout",
    "body_too_large",
    "http_error",
    "internal_error",
    "invalid_address",
    "invalid_name",
    "invalid_stream",
    "invalid_toxic_type",
    "listen_failed",
    "missing_field",
    "not_allowed",
    "proxy_exists",
    "proxy_not_found",
    "shorten",
    "too_many_proxies",
    "toxic_exists",
    "toxic_not_found",
]


class ApiError(Exception):
    """A request the API refuses, with the HTTP status to answer with."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class PopulateError(ApiError):
    """A populate that failed part-way. The proxies it created before the failure stay, as
    in Toxiproxy, and the answer lists them (``created``, as the API shows proxies)."""

    def __init__(self, cause: ApiError, created: Sequence[dict[str, object]]) -> None:
        super().__init__(cause.message, cause.status)
        self.created = list(created)


class StartupError(Exception):
    """The server cannot start; ``exit_code`` says whose fault it is."""

    exit_code = 3


class ConfigError(StartupError):
    """An option or the proxies config file given at start-up cannot be used: bad input."""

    exit_code = 2


class ListenError(StartupError):
    """An address of the server (its API, or a proxy of its config) cannot be bound: the
    machine's doing (address in use, not local), not the input's."""

    exit_code = 3


def shorten(value: str, limit: int = 80) -> str:
    """``repr(value)``, cut to about ``limit`` characters: error messages quote the input,
    and the input may be 100,000 characters long."""
    if len(value) <= limit:
        return repr(value)
    return repr(value[:limit]) + f"... ({len(value)} characters)"


def bad_request(detail: str) -> ApiError:
    return ApiError(f"bad request body: {detail}", 400)


def missing_field(field: str) -> ApiError:
    return ApiError(f"missing required field: {field}", 400)


def invalid_address(what: str, address: str, reason: str) -> ApiError:
    return ApiError(f"{what} {shorten(address)}: {reason}", 400)


def not_allowed(what: str, address: str, reason: str, option: str) -> ApiError:
    # Says which option of the server would allow it: the choice is the operator's.
    return ApiError(
        f"{what} {shorten(address)} {reason}; "
        f"the server allows that only when started with {option}",
        400,
    )


def invalid_name(what: str, name: str, reason: str) -> ApiError:
    return ApiError(f"{what} name {shorten(name)} {reason}", 400)


def too_many_proxies(limit: int) -> ApiError:
    return ApiError(f"too many proxies: the server holds at most {limit}", 400)


def body_too_large(limit: int) -> ApiError:
    return ApiError(f"request body too large: at most {limit} bytes", 413)


def body_timeout(seconds: float) -> ApiError:
    return ApiError(f"request body not received within {seconds:g} s", 408)


def http_error(status: int, reason: str) -> ApiError:
    """An error aiohttp found before a handler ran: no route, wrong method, bad HTTP."""
    return ApiError(reason, status)


def internal_error() -> ApiError:
    return ApiError("internal server error", 500)


def proxy_not_found() -> ApiError:
    return ApiError("proxy not found", 404)


def proxy_exists() -> ApiError:
    return ApiError("proxy already exists", 409)


def invalid_stream() -> ApiError:
    return ApiError("stream was invalid, can be either upstream or downstream", 400)


def invalid_toxic_type() -> ApiError:
    return ApiError("invalid toxic type", 400)


def toxic_exists() -> ApiError:
    return ApiError("toxic already exists", 409)


def toxic_not_found() -> ApiError:
    return ApiError("toxic not found", 404)


def listen_failed(listen: str, reason: str) -> ApiError:
    # Toxiproxy passes Go's net.Listen error through as a 500; keep its wording.
    return ApiError(f"listen tcp {listen}: bind: {reason.lower()}", 500)
