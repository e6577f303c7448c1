"""gameday's one way to talk to the network-fault proxy: a thin adapter over
``toxiproxy-python`` that works the same against gameday's proxy and the real Toxiproxy.

The client keeps its host and port as class attributes (process-wide) and sends requests
without a timeout. ``ProxyClient`` holds its own URL and timeout, and sets both for each
call under one process-wide lock; any error becomes a ``ProxyError``. Faults are context
managers that always undo themselves: ``toxic(...)`` removes the toxic on exit and
``disable(...)`` re-enables the proxy on exit, also when the body raised.

The API URL comes from one setting, ``GAMEDAY_PROXY_URL`` (default http://127.0.0.1:8474).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
import toxiproxy.api
from toxiproxy import Toxiproxy
from toxiproxy.api import APIConsumer
from toxiproxy.exceptions import InvalidToxic, NotFound, ProxyExists

from gameday.errors import (
    ProxyConflict,
    ProxyError,
    ProxyNotFound,
    ProxyRejected,
    ProxyUnreachable,
)

__all__ = [
    "DEFAULT_PROXY_URL",
    "PROXY_URL_ENV",
    "ProxyClient",
    "ProxyConflict",
    "ProxyInfo",
    "ProxyNotFound",
    "ProxyRejected",
    "ProxyUnreachable",
    "ToxicInfo",
]

PROXY_URL_ENV = "GAMEDAY_PROXY_URL"
DEFAULT_PROXY_URL = "http://127.0.0.1:8474"

T = TypeVar("T")

# toxiproxy-python's host, port and HTTP functions are process-wide: one call at a time.
_CLIENT_LOCK = threading.Lock()


@dataclass(frozen=True)
class ProxyInfo:
    name: str
    listen: str
    upstream: str
    enabled: bool


@dataclass(frozen=True)
class ToxicInfo:
    name: str
    type: str
    stream: str
    toxicity: float
    attributes: Mapping[str, int] = field(default_factory=dict)


def _error_message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip() or response.reason
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return str(body["error"])
    return response.text.strip()


def _raise_for(response: requests.Response, url: str) -> None:
    if response.status_code < 400:
        return
    message = f"proxy API {response.request.method} {url}: {_error_message(response)}"
    if response.status_code == 404:
        raise ProxyNotFound(message)
    if response.status_code == 409:
        raise ProxyConflict(message)
    raise ProxyRejected(f"{message} (HTTP {response.status_code})")


class _TimedRequests:
    """Stands in for the ``requests`` module inside toxiproxy-python during one call:
    adds our timeout and turns every error status into a ProxyError (the client lets a
    500 through and then fails on its body)."""

    def __init__(self, timeout_s: float) -> None:
        self._timeout_s = timeout_s

    def _send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        kwargs["timeout"] = self._timeout_s
        response = requests.request(method, url, **kwargs)
        _raise_for(response, url)
        return response

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        return self._send("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        return self._send("POST", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> requests.Response:
        return self._send("DELETE", url, **kwargs)


class ProxyClient:
    """A Toxiproxy API at one URL, with a timeout on every call."""

    def __init__(self, url: str = DEFAULT_PROXY_URL, *, timeout_s: float = 5.0) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ProxyError(f"proxy API URL must look like http://host:port, got {url!r}")
        self.url = url
        self.host = parts.hostname
        self.port = parts.port or 8474
        self.timeout_s = timeout_s

    @classmethod
    def from_env(cls, *, timeout_s: float = 5.0) -> ProxyClient:
        """The client for the URL in ``GAMEDAY_PROXY_URL``: the one setting to change to
        point gameday at a real Toxiproxy."""
        return cls(os.environ.get(PROXY_URL_ENV, DEFAULT_PROXY_URL), timeout_s=timeout_s)

    def _call(self, what: str, action: Callable[[Toxiproxy], T]) -> T:
        with _CLIENT_LOCK:
            saved = APIConsumer.host, APIConsumer.port, toxiproxy.api.requests
            APIConsumer.host, APIConsumer.port = self.host, self.port
            toxiproxy.api.requests = _TimedRequests(self.timeout_s)
            try:
                return action(Toxiproxy())
            except ProxyError:
                raise
            except NotFound as exc:
                raise ProxyNotFound(f"{what}: {exc}") from exc
            except ProxyExists as exc:  # the client checks names itself before some calls
                raise ProxyConflict(f"{what}: {exc}") from exc
            except InvalidToxic as exc:
                raise ProxyRejected(f"{what}: {exc}") from exc
            except requests.RequestException as exc:
                raise ProxyUnreachable(f"{what}: no answer from {self.url}: {exc}") from exc
            except (KeyError, ValueError) as exc:
                raise ProxyRejected(f"{what}: unexpected answer from {self.url}: {exc}") from exc
            finally:
                APIConsumer.host, APIConsumer.port, toxiproxy.api.requests = saved

    def _proxy(self, client: Toxiproxy, name: str) -> Any:
        proxy = client.get_proxy(name)
        if proxy is None:
            raise ProxyNotFound(f"no proxy named {name!r} at {self.url}")
        return proxy

    def version(self) -> str:
        """The server's version; also a cheap check that the API answers."""

        def fetch(_: Toxiproxy) -> str:
            raw = str(APIConsumer.get("/version").content.decode())
            try:
                return str(json.loads(raw)["version"])
            except (ValueError, KeyError, TypeError):
                return raw.strip()  # Toxiproxy before 2.6 answered plain text

        return self._call("version", fetch)

    def proxies(self) -> dict[str, ProxyInfo]:
        return self._call(
            "list proxies",
            lambda client: {name: _info(p) for name, p in client.proxies().items()},
        )

    def get(self, name: str) -> ProxyInfo:
        return self._call(f"get proxy {name!r}", lambda client: _info(self._proxy(client, name)))

    def create(
        self, name: str, upstream: str, listen: str = "127.0.0.1:0", *, enabled: bool = True
    ) -> ProxyInfo:
        return self._call(
            f"create proxy {name!r}",
            lambda client: _info(client.create(upstream, name, listen=listen, enabled=enabled)),
        )

    def populate(self, proxies: list[ProxyInfo]) -> list[ProxyInfo]:
        """Create or replace proxies like Toxiproxy's populate; returns the ones created."""
        specs = [
            {"name": p.name, "listen": p.listen, "upstream": p.upstream, "enabled": p.enabled}
            for p in proxies
        ]
        return self._call(
            "populate proxies", lambda client: [_info(p) for p in client.populate(specs)]
        )

    def destroy(self, name: str) -> None:
        self._call(f"delete proxy {name!r}", lambda client: self._proxy(client, name).destroy())

    def toxics(self, proxy_name: str) -> list[ToxicInfo]:
        return self._call(
            f"list toxics of {proxy_name!r}",
            lambda client: [
                _toxic_info(t) for t in self._proxy(client, proxy_name).toxics().values()
            ],
        )

    def add_toxic(
        self,
        proxy_name: str,
        type: str,
        stream: str = "downstream",
        toxicity: float = 1.0,
        attributes: Mapping[str, int] | None = None,
        *,
        name: str | None = None,
    ) -> ToxicInfo:
        toxic_name = name or f"{type}_{stream}"

        def add(client: Toxiproxy) -> ToxicInfo:
            proxy = self._proxy(client, proxy_name)
            proxy.add_toxic(
                type=type,
                stream=stream,
                name=toxic_name,
                toxicity=toxicity,
                attributes=dict(attributes or {}),
            )
            return _toxic_info(proxy.get_toxic(toxic_name))

        return self._call(f"add {type} toxic to {proxy_name!r}", add)

    def remove_toxic(self, proxy_name: str, toxic_name: str) -> None:
        self._call(
            f"remove toxic {toxic_name!r} from {proxy_name!r}",
            lambda client: self._proxy(client, proxy_name).destroy_toxic(toxic_name),
        )

    def set_enabled(self, proxy_name: str, enabled: bool) -> None:
        def switch(client: Toxiproxy) -> None:
            proxy = self._proxy(client, proxy_name)
            if enabled:
                proxy.enable()
            else:
                proxy.disable()

        self._call(f"{'enable' if enabled else 'disable'} proxy {proxy_name!r}", switch)

    def reset(self) -> None:
        """Enable every proxy and remove every toxic."""
        self._call("reset", lambda client: client.reset())

    @contextmanager
    def toxic(
        self,
        proxy_name: str,
        type: str,
        stream: str = "downstream",
        toxicity: float = 1.0,
        attributes: Mapping[str, int] | None = None,
        *,
        name: str | None = None,
    ) -> Iterator[ToxicInfo]:
        """A toxic that lasts as long as the ``with`` block, removed on any exit."""
        added = self.add_toxic(proxy_name, type, stream, toxicity, attributes, name=name)
        try:
            yield added
        finally:
            # ProxyNotFound: already gone (a reset in the block), the fault is undone anyway.
            with suppress(ProxyNotFound):
                self.remove_toxic(proxy_name, added.name)

    @contextmanager
    def disable(self, proxy_name: str) -> Iterator[None]:
        """The proxy is down (refuses connections) inside the block, up again after."""
        self.set_enabled(proxy_name, False)
        try:
            yield
        finally:
            self.set_enabled(proxy_name, True)


def _info(proxy: Any) -> ProxyInfo:
    return ProxyInfo(
        name=str(proxy.name),
        listen=str(proxy.listen),
        upstream=str(proxy.upstream),
        enabled=bool(proxy.enabled),
    )


def _toxic_info(toxic: Any) -> ToxicInfo:
    return ToxicInfo(
        name=str(toxic.name),
        type=str(toxic.type),
        stream=str(toxic.stream),
        toxicity=float(toxic.toxicity),
        attributes=dict(toxic.attributes),
    )
