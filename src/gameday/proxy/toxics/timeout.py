"""timeout: no data passes; the connection is closed ``timeout`` ms after the toxic first
applied to it. ``timeout`` 0 holds the connection open forever (until the toxic goes).

The start time is per-link state, so rebuilding the chain does not restart the clock.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from .base import Marker, Stub, ToxicKind, attribute

__all__ = ["KIND", "TimeoutSettings", "TimeoutState"]


@dataclass(frozen=True)
class TimeoutSettings:
    timeout_ms: int = attribute("timeout")


@dataclass
class TimeoutState:
    started_at: float | None = None


async def _swallow(stub: Stub) -> None:
    while True:
        chunk = await stub.take()
        if not chunk.is_data:
            stub.forward()
            return
        stub.drop()


async def run(stub: Stub, settings: TimeoutSettings, state: TimeoutState) -> None:
    loop = asyncio.get_running_loop()
    if state.started_at is None:
        state.started_at = loop.time()
    if settings.timeout_ms == 0:
        await _swallow(stub)
        return
    try:
        async with asyncio.timeout_at(state.started_at + settings.timeout_ms / 1000):
            await _swallow(stub)
    except TimeoutError:
        stub.end(Marker.CLOSE)


KIND: ToxicKind[TimeoutSettings, TimeoutState] = ToxicKind(
    "timeout", TimeoutSettings, run, TimeoutState
)
