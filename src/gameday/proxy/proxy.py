"""Proxies: a listener that opens an upstream connection for every client it accepts,
the toxics that apply to its connections, and the collection of all proxies by name.

Everything here runs on the one event loop of the server, so a change made by an API
request reaches every live connection before the response is sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket

from .addresses import Policy, join_host_port, split_host_port
from .errors import (
    ApiError,
    PopulateError,
    bad_request,
    listen_failed,
    proxy_exists,
    proxy_not_found,
    shorten,
    too_many_proxies,
    toxic_not_found,
)
from .limits import Limits
from .link import Connection, Side
from .specs import DEFAULT_LISTEN, ProxySpec, parse_proxy_specs
from .throttle import Throttle
from .toxics.wrapper import Direction, Toxic, parse_toxic, parse_toxic_update

__all__ = ["Proxy", "ProxyCollection"]

log = logging.getLogger(__name__)
# A dial fails for every client of a proxy whose upstream is down or while the process is
# out of file descriptors: one line per proxy per interval says it.
_dial_log = Throttle(log)


class Proxy:
    """One named proxy: where it listens, where it forwards, and its toxics."""

    def __init__(self, spec: ProxySpec, rng: random.Random) -> None:
        self.name = spec.name
        self.listen = spec.listen or DEFAULT_LISTEN
        self.upstream = spec.upstream
        self.enabled = False
        self.toxics: list[Toxic] = []
        self._rng = rng
        self._server: asyncio.Server | None = None
        self._connections: set[Connection] = set()
        self._dials: set[asyncio.Task[None]] = set()

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "listen": self.listen,
            "upstream": self.upstream,
            "enabled": self.enabled,
            "toxics": [toxic.to_json() for toxic in self.toxics],
        }

    async def start(self) -> None:
        if self.enabled:
            return
        host, port = split_host_port(self.listen)
        loop = asyncio.get_running_loop()
        try:
            self._server = await loop.create_server(
                lambda: Side(self._accepted), host or None, port, backlog=1024
            )
        except OSError as exc:
            raise listen_failed(self.listen, _reason(exc)) from exc
        bound_host, bound_port = self._server.sockets[0].getsockname()[:2]
        self.listen = join_host_port(bound_host, bound_port)
        self.enabled = True
        log.info("proxy %s listening on %s for %s", self.name, self.listen, self.upstream)

    async def stop(self) -> None:
        """Stop listening and close every connection, as Toxiproxy does when disabling."""
        if not self.enabled:
            return
        self.enabled = False
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for task in list(self._dials):
            task.cancel()
        for connection in list(self._connections):
            connection.close()
        if server is not None:
            # After closing the connections: from 3.12 wait_closed also waits for them.
            await server.wait_closed()

    async def update(self, spec: ProxySpec) -> None:
        """Move the proxy to ``spec``'s listen and upstream, and enable or disable it.

        ``spec`` is checked already (specs.py), so what can still fail is binding the new
        address; then the proxy goes back to where it was, and listens there again if it
        did, so that a refused update changes nothing.
        """
        before = (self.listen, self.upstream, self.enabled)
        moved = spec.listen != self.listen or spec.upstream != self.upstream
        if moved:
            # Toxiproxy closes the connections of a proxy that moves, even to the same port.
            await self.stop()
            self.listen, self.upstream = spec.listen, spec.upstream
        try:
            if spec.enabled:
                await self.start()
            else:
                await self.stop()
        except ApiError:
            if moved:
                self.listen, self.upstream = before[0], before[1]
                if before[2]:
                    # Best effort: the old port was ours a moment ago; if it was taken in
                    # between, the proxy stays disabled (and a reset tries again).
                    with contextlib.suppress(ApiError):
                        await self.start()
            raise

    def add_toxic(self, body: object) -> Toxic:
        toxic = parse_toxic(body, lambda name: self._find(name) is not None)
        self.toxics.append(toxic)
        self._apply(toxic.stream)
        return toxic

    def get_toxic(self, name: str) -> Toxic:
        toxic = self._find(name)
        if toxic is None:
            raise toxic_not_found()
        return toxic

    def update_toxic(self, name: str, body: object) -> Toxic:
        old = self.get_toxic(name)
        new = parse_toxic_update(old, body)
        self.toxics[self.toxics.index(old)] = new
        self._forget(old, keep_state=True)
        self._apply(new.stream)
        return new

    def remove_toxic(self, name: str) -> None:
        toxic = self.get_toxic(name)
        self.toxics.remove(toxic)
        self._forget(toxic, keep_state=False)
        self._apply(toxic.stream)

    def remove_all_toxics(self) -> None:
        removed, self.toxics = self.toxics, []
        for toxic in removed:
            self._forget(toxic, keep_state=False)
        for direction in Direction:
            self._apply(direction)

    def _find(self, name: str) -> Toxic | None:
        return next((toxic for toxic in self.toxics if toxic.name == name), None)

    def _chain(self, direction: Direction) -> list[Toxic]:
        return [toxic for toxic in self.toxics if toxic.stream is direction]

    def _apply(self, direction: Direction) -> None:
        chain = self._chain(direction)
        for connection in list(self._connections):
            if connection.links:
                connection.links[direction].apply(chain, self._rng)

    def _forget(self, toxic: Toxic, *, keep_state: bool) -> None:
        for connection in list(self._connections):
            if connection.links:
                connection.links[toxic.stream].forget(toxic.serial, keep_state=keep_state)

    def _accepted(self, client: Side) -> None:
        connection = Connection(client, self._connections.discard)
        self._connections.add(connection)
        task = asyncio.get_running_loop().create_task(self._dial(connection))
        self._dials.add(task)
        task.add_done_callback(self._dials.discard)

    async def _dial(self, connection: Connection) -> None:
        loop = asyncio.get_running_loop()
        try:
            host, port = split_host_port(self.upstream)
            _, upstream = await loop.create_connection(Side, host, port)
        except (OSError, ApiError) as exc:
            _dial_log.log(
                logging.WARNING,
                self.name,
                "proxy %s: cannot reach upstream %s: %s",
                self.name,
                self.upstream,
                exc,
            )
            connection.close()
            return
        if connection.closed:
            upstream.close()
            return
        chains = {direction: self._chain(direction) for direction in Direction}
        connection.connected(upstream, chains, self._rng)


def _reason(exc: OSError) -> str:
    # asyncio's create_server wraps the errno's text in "error while attempting to bind
    # on address (...)"; Toxiproxy says only "address already in use".
    if isinstance(exc, socket.gaierror) or not exc.errno:
        return str(exc.strerror or exc)
    return os.strerror(exc.errno)


class ProxyCollection:
    """All proxies by name; what the API reads and changes."""

    def __init__(
        self,
        rng: random.Random,
        policy: Policy | None = None,
        max_proxies: int = Limits.max_proxies,
    ) -> None:
        self._rng = rng
        self.policy = policy or Policy()
        self.max_proxies = max_proxies
        self._proxies: dict[str, Proxy] = {}

    def all(self) -> list[Proxy]:
        return list(self._proxies.values())

    def get(self, name: str) -> Proxy:
        proxy = self._proxies.get(name)
        if proxy is None:
            raise proxy_not_found()
        return proxy

    async def add(self, spec: ProxySpec) -> Proxy:
        if spec.name in self._proxies:
            raise proxy_exists()
        if len(self._proxies) >= self.max_proxies:
            raise too_many_proxies(self.max_proxies)
        proxy = Proxy(spec, self._rng)
        if spec.enabled:
            await proxy.start()
        self._proxies[spec.name] = proxy
        return proxy

    async def update(self, name: str, body: object) -> Proxy:
        proxy = self.get(name)
        if not isinstance(body, dict):
            raise bad_request("expected a JSON object")
        merged = {
            "name": name,
            "listen": proxy.listen,
            "upstream": proxy.upstream,
            "enabled": proxy.enabled,
            **{k: v for k, v in body.items() if k != "name"},
        }
        await proxy.update(parse_proxy_specs(merged, single=True, policy=self.policy)[0])
        return proxy

    async def remove(self, name: str) -> None:
        proxy = self.get(name)
        del self._proxies[name]
        await proxy.stop()

    async def populate(self, specs: list[ProxySpec]) -> list[Proxy]:
        """Create or replace proxies, as Toxiproxy's populate: a proxy of the same name,
        listen and upstream is kept as it is; any other is replaced.

        The specs are checked already; a proxy that cannot listen stops the populate there,
        and the proxies done before it stay (``PopulateError.created``), as in Toxiproxy.
        """
        seen: set[str] = set()
        for spec in specs:
            if spec.name in seen:
                raise bad_request(f"duplicate proxy name {shorten(spec.name)}")
            seen.add(spec.name)
        added = sum(1 for name in seen if name not in self._proxies)
        if len(self._proxies) + added > self.max_proxies:
            raise too_many_proxies(self.max_proxies)  # before any change
        result: list[Proxy] = []
        for spec in specs:
            try:
                result.append(await self._add_or_replace(spec))
            except ApiError as error:
                raise PopulateError(error, [proxy.to_json() for proxy in result]) from error
        return result

    async def _add_or_replace(self, spec: ProxySpec) -> Proxy:
        existing = self._proxies.get(spec.name)
        if existing is not None:
            if existing.listen == spec.listen and existing.upstream == spec.upstream:
                return existing
            await self.remove(spec.name)
        return await self.add(spec)

    async def reset(self) -> None:
        """Remove every toxic and enable every proxy, as Toxiproxy's reset.

        A drill's clean-up relies on this to take its faults away, so one proxy that cannot
        listen again (its port taken meanwhile) must not keep the toxics of the others:
        every toxic goes first, every proxy is tried, and then the failures are reported.
        """
        failures: list[tuple[Proxy, ApiError]] = []
        for proxy in self._proxies.values():
            proxy.remove_all_toxics()
        for proxy in self._proxies.values():
            try:
                await proxy.start()
            except ApiError as error:
                failures.append((proxy, error))
        if failures:
            shown = "; ".join(f"proxy {p.name}: {e.message}" for p, e in failures[:3])
            more = f" (and {len(failures) - 3} more)" if len(failures) > 3 else ""
            raise ApiError(
                f"every toxic was removed, but not every proxy could be enabled: {shown}{more}",
                failures[0][1].status,
            )

    async def close(self) -> None:
        for proxy in self._proxies.values():
            await proxy.stop()
