"""How much the server takes on, in one place: bounds that keep one client (or a flood of
them) from using up the process's memory or file descriptors.

The defaults are far beyond what a drill needs (the replica has four proxies, a drill's
client opens a handful of API connections at a time); tests shrink them to reach them.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Limits"]


@dataclass(frozen=True)
class Limits:
    # Each proxy holds a listening socket; a thousand leave room for their connections.
    max_proxies: int = 1000
    # A populate of max_proxies proxies with long names fits in well under this.
    max_body_bytes: int = 1 << 20
    # Open API connections; beyond, the one idle the longest is closed (guard.py).
    max_api_connections: int = 128
    # How long a connection may wait before its request's headers are in (guard.py)...
    header_timeout_s: float = 10.0
    # ...and how long a request's body may take once its headers are.
    body_timeout_s: float = 10.0
