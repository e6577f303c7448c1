"""bandwidth: data passes at no more than ``rate`` KB/s (1 KB = 1000 bytes, as Toxiproxy).

Each piece of at most 100 ms worth of bytes waits until the link's budget allows it, so a
long transfer holds the rate closely. The pacing clock is per-link state, so rebuilding the
chain (another toxic added) does not hand out a fresh burst. ``rate`` 0 lets nothing through.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from .base import Stub, ToxicKind, attribute

__all__ = ["KIND", "BandwidthSettings", "BandwidthState"]


@dataclass(frozen=True)
class BandwidthSettings:
    rate_kb_s: int = attribute("rate")


@dataclass
class BandwidthState:
    next_send_at: float = 0.0


async def run(stub: Stub, settings: BandwidthSettings, state: BandwidthState) -> None:
    loop = asyncio.get_running_loop()
    rate_b_s = settings.rate_kb_s * 1000
    while True:
        chunk = await stub.take()
        if not chunk.is_data:
            stub.forward()
            return
        if rate_b_s == 0:
            # Zero bandwidth: hold the data until the toxic is removed or the link ends.
            await asyncio.Event().wait()
        piece_max = max(1, rate_b_s // 10)
        while stub.held is not None:
            piece = min(len(stub.held.data), piece_max)
            state.next_send_at = max(state.next_send_at, loop.time()) + piece / rate_b_s
            wait_s = state.next_send_at - loop.time()
            if wait_s > 0:
                await asyncio.sleep(wait_s)
            stub.forward(piece)


KIND: ToxicKind[BandwidthSettings, BandwidthState] = ToxicKind(
    "bandwidth", BandwidthSettings, run, BandwidthState
)
