"""gameday's network-fault proxy: a TCP proxy that speaks Toxiproxy 2.x's HTTP API.

There is no netem and no Toxiproxy server where gameday runs, so it ships this one; any
Toxiproxy client (and gameday's own adapter) can drive either. The package imports only
the standard library and aiohttp, with relative imports, so it can be copied into an image
on its own.

    api.py       HTTP routes (Toxiproxy's api.go)
    proxy.py     listeners, and the collection of proxies
    link.py      one proxied connection: the fast path and the toxic pipeline
    toxics/      one module per toxic; wrapper.py holds name/type/stream/toxicity
    server.py    run_server (tests, embedding) and serve (blocking)
"""

from __future__ import annotations

from .api import TOXIPROXY_VERSION
from .errors import ApiError, ConfigError, ListenError, StartupError
from .server import LOG_LEVELS, RunningServer, configure_logging, run_server, serve

__all__ = [
    "LOG_LEVELS",
    "TOXIPROXY_VERSION",
    "ApiError",
    "ConfigError",
    "ListenError",
    "RunningServer",
    "StartupError",
    "configure_logging",
    "run_server",
    "serve",
]
