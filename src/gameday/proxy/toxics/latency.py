"""latency: every chunk arrives ``latency`` ms (+/- ``jitter`` ms) after it was read.

The delay counts from the chunk's arrival, so back-to-back chunks are not delayed one
after another; chunks keep their order even when jitter would swap them.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from .base import Stub, ToxicKind, attribute

__all__ = ["KIND", "LatencySettings"]


@dataclass(frozen=True)
class LatencySettings:
    latency_ms: int = attribute("latency")
    jitter_ms: int = attribute("jitter")


async def run(stub: Stub, settings: LatencySettings, state: None) -> None:
    loop = asyncio.get_running_loop()
    while True:
        chunk = await stub.take()
        delay_ms: float = settings.latency_ms
        if settings.jitter_ms > 0:
            delay_ms += stub.rng.uniform(-settings.jitter_ms, settings.jitter_ms)
        wait_s = chunk.arrived + max(delay_ms, 0) / 1000 - loop.time()
        if wait_s > 0:
            await asyncio.sleep(wait_s)
        stub.forward()
        if not chunk.is_data:
            return


KIND: ToxicKind[LatencySettings, None] = ToxicKind("latency", LatencySettings, run)
