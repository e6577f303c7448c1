"""Start and stop the whole proxy server: the HTTP API and the proxies it manages, on one
event loop. ``run_server`` is for tests and embedding (port 0 is fine, the bound port is
returned); ``serve`` is the blocking entry point of ``python -m gameday.proxy``.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import random
import signal
import socket
from dataclasses import dataclass
from pathlib import Path

from .addresses import Address, Policy, check_listen, join_host_port
from .config import load_config
from .errors import ApiError, ConfigError, ListenError
from .httpd import ApiServer, start_api
from .limits import Limits
from .proxy import ProxyCollection
from .specs import ProxySpec
from .throttle import Throttle, quiet_accept_errors

__all__ = ["LOG_LEVELS", "RunningServer", "configure_logging", "run_server", "serve"]

log = logging.getLogger(__name__)

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def configure_logging(level: str) -> None:
    """The log of ``serve``, on stderr, for both of its commands."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@dataclass
class RunningServer:
    """A started server: where its API listens, and its proxies."""

    api_host: str
    api_port: int
    proxies: ProxyCollection
    _api: ApiServer

    @property
    def api_url(self) -> str:
        return f"http://{self.api_host}:{self.api_port}"

    async def stop(self) -> None:
        await self._api.stop()
        await self.proxies.close()


async def run_server(
    host: str = "127.0.0.1",
    port: int = 0,
    config: Path | None = None,
    *,
    seed: int | None = None,
    allow_remote: bool = False,
    allow_public_upstreams: bool = False,
    limits: Limits | None = None,
) -> RunningServer:
    """Start the API on ``host:port`` and the proxies of ``config``; return at once.

    ``seed`` fixes the random choices (toxicity, jitter, slice sizes) for reproducible tests.
    ``allow_remote`` lets the API and the proxies listen beyond loopback, and
    ``allow_public_upstreams`` lets proxies forward to public addresses (see addresses.py).
    ``limits`` bounds what the server takes on (limits.py); tests make them small.
    Raises ``ConfigError`` for a bad option or config file (bad input), ``ListenError`` if
    the API or a proxy of the config cannot listen (the machine).
    """
    limits = limits or Limits()
    policy = Policy(allow_remote=allow_remote, allow_public_upstreams=allow_public_upstreams)
    api_address = _check_api_address(host, port, policy)
    specs = load_config(config, policy) if config is not None else []
    if allow_remote:
        # An explicit choice, and one to see in the log: whoever reaches a remote listener
        # gets through the proxy, and whoever reaches the API can inject faults.
        log.warning(
            "--allow-remote: the API (%s) and proxies may listen beyond loopback",
            join_host_port(host, port),
        )
    if not api_address.loopback:
        log.warning("the API listens on %s: anyone who reaches it can change the proxies", host)
    proxies = ProxyCollection(random.Random(seed), policy, limits.max_proxies)
    try:
        await _populate(proxies, specs, config)
        sock = _listen(host, port)
        api = await start_api(proxies, sock, limits)
    except BaseException:
        await proxies.close()
        raise
    bound_host, bound_port = sock.getsockname()[:2]
    return RunningServer(bound_host, bound_port, proxies, api)


def _check_api_address(host: str, port: int, policy: Policy) -> Address:
    if not 0 <= port <= 65535:
        raise ConfigError(f"API port {port} is out of range: it must be 0..65535")
    try:
        return check_listen(join_host_port(host, port), policy, "API address")
    except ApiError as exc:
        raise ConfigError(exc.message) from None


async def _populate(proxies: ProxyCollection, specs: list[ProxySpec], config: Path | None) -> None:
    try:
        await proxies.populate(specs)
    except ApiError as exc:
        # The specs were checked already: what is left is an address the machine refuses.
        raise ListenError(f"proxies config {config}: {exc.message}") from None


def _listen(host: str, port: int) -> socket.socket:
    try:
        return socket.create_server((host, port), backlog=128)
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        if isinstance(exc, socket.gaierror):
            reason = f"cannot resolve the host: {exc.strerror or exc}"
        raise ListenError(f"cannot listen on {join_host_port(host, port)}: {reason}") from None


def _install_uvloop() -> None:
    # uvloop makes the data path faster where it is installed; it is never required.
    try:
        uvloop = importlib.import_module("uvloop")
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def _raise_file_limit() -> None:
    """Let the process open as many files as the hard limit allows, as Go does for every
    program (Toxiproxy among them): each proxy holds a listening socket and each connection
    two more, and the usual soft limit of 1024 ends well before a thousand proxies."""
    try:
        import resource  # POSIX only
    except ImportError:
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else 1 << 20
    if soft != resource.RLIM_INFINITY and soft < target:
        with contextlib.suppress(ValueError, OSError):  # e.g. beyond the kernel's nr_open
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


async def _serve_until_signalled(host: str, port: int, config: Path | None, policy: Policy) -> None:
    loop = asyncio.get_running_loop()
    # Out of descriptors, asyncio logs accept()'s EMFILE with a traceback, every second for
    # every listener: one line per interval instead (throttle.py).
    loop.set_exception_handler(quiet_accept_errors(Throttle(log)))
    server = await run_server(
        host,
        port,
        config,
        allow_remote=policy.allow_remote,
        allow_public_upstreams=policy.allow_public_upstreams,
    )
    log.info("API listening on %s", server.api_url)
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await server.stop()


def serve(
    host: str,
    port: int,
    config: Path | None,
    *,
    allow_remote: bool = False,
    allow_public_upstreams: bool = False,
) -> None:
    """Run the server until SIGINT or SIGTERM. Raises ``StartupError`` (errors.py) if it
    cannot start: ``ConfigError`` for bad input, ``ListenError`` for the machine."""
    _install_uvloop()
    _raise_file_limit()
    policy = Policy(allow_remote=allow_remote, allow_public_upstreams=allow_public_upstreams)
    asyncio.run(_serve_until_signalled(host, port, config, policy))
