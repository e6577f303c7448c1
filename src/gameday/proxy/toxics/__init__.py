"""The toxics the proxy knows, by their Toxiproxy type name.

The registry is written out here rather than filled by import side effects, so the list of
toxics is one place to read; a test keeps it in sync with the modules of this package.
"""

from __future__ import annotations

from typing import Any

from . import bandwidth, latency, limit_data, reset_peer, slicer, slow_close, timeout
from .base import ToxicKind

__all__ = ["REGISTRY"]

REGISTRY: dict[str, ToxicKind[Any, Any]] = {
    kind.type_name: kind
    for kind in (
        bandwidth.KIND,
        latency.KIND,
        limit_data.KIND,
        reset_peer.KIND,
        slicer.KIND,
        slow_close.KIND,
        timeout.KIND,
    )
}
