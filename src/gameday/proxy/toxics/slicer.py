"""slicer: every chunk is cut into pieces of ``average_size`` +/- ``size_variation``
bytes, written one by one with ``delay`` microseconds between them.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from ..errors import bad_request
from .base import Stub, ToxicKind, attribute

__all__ = ["KIND", "SlicerSettings"]


@dataclass(frozen=True)
class SlicerSettings:
    average_size: int = attribute("average_size")
    size_variation: int = attribute("size_variation")
    delay_us: int = attribute("delay")

    def validate(self) -> None:
        # Toxiproxy panics or loops on these; refuse them up front instead.
        if self.average_size < 1:
            raise bad_request("attribute 'average_size' must be >= 1")
        if self.size_variation >= self.average_size:
            raise bad_request("attribute 'size_variation' must be less than 'average_size'")


async def run(stub: Stub, settings: SlicerSettings, state: None) -> None:
    while True:
        chunk = await stub.take()
        if not chunk.is_data:
            stub.forward()
            return
        while stub.held is not None:
            variation = settings.size_variation
            size = settings.average_size + stub.rng.randint(-variation, variation)
            stub.forward(size)
            if stub.held is not None and settings.delay_us > 0:
                await asyncio.sleep(settings.delay_us / 1_000_000)


KIND: ToxicKind[SlicerSettings, None] = ToxicKind("slicer", SlicerSettings, run)
