"""limit_data: let ``bytes`` bytes through, then close the connection.

The count is per-link state, so it survives rebuilds of the chain.
"""

from __future__ import annotations

from dataclasses import dataclass

from .base import Marker, Stub, ToxicKind, attribute

__all__ = ["KIND", "LimitDataSettings", "LimitDataState"]


@dataclass(frozen=True)
class LimitDataSettings:
    bytes: int = attribute("bytes")


@dataclass
class LimitDataState:
    sent: int = 0


async def run(stub: Stub, settings: LimitDataSettings, state: LimitDataState) -> None:
    while True:
        chunk = await stub.take()
        if not chunk.is_data:
            stub.forward()
            return
        allowed = settings.bytes - state.sent
        if allowed > 0:
            passed = min(allowed, len(chunk.data))
            stub.forward(passed)
            state.sent += passed
        if state.sent >= settings.bytes:
            stub.end(Marker.CLOSE)
            return


KIND: ToxicKind[LimitDataSettings, LimitDataState] = ToxicKind(
    "limit_data", LimitDataSettings, run, LimitDataState
)
