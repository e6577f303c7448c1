"""reset_peer: at the first chunk (data or end), wait ``timeout`` ms, then reset the
connection with a TCP RST on both sides (SO_LINGER 0), as Toxiproxy does. What arrives
in the meantime is dropped.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from .base import Marker, Stub, ToxicKind, attribute

__all__ = ["KIND", "ResetPeerSettings"]


@dataclass(frozen=True)
class ResetPeerSettings:
    timeout_ms: int = attribute("timeout")


async def run(stub: Stub, settings: ResetPeerSettings, state: None) -> None:
    await stub.take()
    stub.drop()
    if settings.timeout_ms > 0:
        await asyncio.sleep(settings.timeout_ms / 1000)
    stub.end(Marker.RESET)


KIND: ToxicKind[ResetPeerSettings, None] = ToxicKind("reset_peer", ResetPeerSettings, run)
