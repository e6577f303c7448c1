"""slow_close: data flows untouched, but the end of the stream waits ``delay`` ms."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from .base import Stub, ToxicKind, attribute

__all__ = ["KIND", "SlowCloseSettings"]


@dataclass(frozen=True)
class SlowCloseSettings:
    delay_ms: int = attribute("delay")


async def run(stub: Stub, settings: SlowCloseSettings, state: None) -> None:
    while True:
        chunk = await stub.take()
        if not chunk.is_data:
            await asyncio.sleep(settings.delay_ms / 1000)
            stub.forward()
            return
        stub.forward()


KIND: ToxicKind[SlowCloseSettings, None] = ToxicKind("slow_close", SlowCloseSettings, run)
