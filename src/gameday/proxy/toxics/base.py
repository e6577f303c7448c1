"""What every toxic is built from: the chunk that flows, the stub a toxic runs on, the
``ToxicKind`` record each toxic module exports, and the typed parsing of attributes.

A toxic is one coroutine, ``run(stub, settings, state)``, that takes chunks from its stub
and forwards, delays, drops or ends them. The chunk a toxic has taken but not yet
forwarded stays on ``stub.held``, so that when the chain of toxics is rebuilt (a toxic added
or removed while data flows) nothing is lost or reordered: the link collects what every
stub holds and feeds it to the new chain. Toxics therefore change ``held`` only through the
stub's methods and never emit anything from ``finally`` or ``except`` blocks.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import random
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from ..errors import bad_request

__all__ = [
    "Chunk",
    "Marker",
    "Outlet",
    "Stub",
    "ToxicKind",
    "attribute",
    "dump_attributes",
    "parse_attributes",
]


class Marker(enum.Enum):
    """What a chunk is: data, or one of the ways a stream ends."""

    DATA = "data"
    EOF = "eof"  # the source half-closed: half-close the destination
    CLOSE = "close"  # a toxic ends the connection: flush, then close both sides
    RESET = "reset"  # a toxic resets the connection: RST on both sides


@dataclass(frozen=True, slots=True)
class Chunk:
    """Bytes read in one go from a socket, stamped with the loop time they arrived."""

    data: bytes
    arrived: float
    marker: Marker = Marker.DATA

    @property
    def is_data(self) -> bool:
        return self.marker is Marker.DATA


class Outlet(Protocol):
    """Where a stub puts what it forwards: the next stub's queue, or the link's sink."""

    def put_nowait(self, item: Chunk, /) -> None: ...


class Stub:
    """One toxic's place in one link: its inlet, its outlet and the chunk it holds."""

    def __init__(self, inlet: asyncio.Queue[Chunk], outlet: Outlet, rng: random.Random) -> None:
        self.inlet = inlet
        self.outlet = outlet
        self.rng = rng
        self.held: Chunk | None = None

    async def take(self) -> Chunk:
        """Wait for the next chunk; it is held until forwarded or dropped."""
        chunk = await self.inlet.get()
        self.held = chunk
        return chunk

    def forward(self, nbytes: int | None = None) -> None:
        """Pass the held chunk on, or only its first ``nbytes`` (the rest stays held)."""
        held = self.held
        if held is None:
            return
        if nbytes is None or nbytes >= len(held.data) or not held.is_data:
            self.held = None
            self.outlet.put_nowait(held)
            return
        self.outlet.put_nowait(Chunk(held.data[:nbytes], held.arrived))
        self.held = Chunk(held.data[nbytes:], held.arrived)

    def drop(self) -> None:
        """Forget the held chunk: this toxic swallows it."""
        self.held = None

    def end(self, marker: Marker) -> None:
        """End the stream here (close or reset), dropping what is held."""
        self.held = None
        self.outlet.put_nowait(Chunk(b"", asyncio.get_running_loop().time(), marker))


INT64_MAX = 2**63 - 1

SettingsT = TypeVar("SettingsT")
StateT = TypeVar("StateT")


def _no_state() -> None:
    return None


@dataclass(frozen=True)
class ToxicKind(Generic[SettingsT, StateT]):
    """One toxic type: its API name, its settings record, its coroutine and its state.

    ``new_state`` makes the per-link state (e.g. bytes already let through) that outlives
    rebuilds of the chain; most toxics have none.
    """

    type_name: str
    settings: type[SettingsT]
    run: Callable[[Stub, SettingsT, StateT], Coroutine[Any, Any, None]]
    new_state: Callable[[], StateT] = _no_state  # type: ignore[assignment]

    def parse(self, attributes: Mapping[str, object], base: SettingsT | None = None) -> SettingsT:
        return parse_attributes(self.settings, attributes, base)

    def dump(self, settings: SettingsT) -> dict[str, int]:
        return dump_attributes(settings)


def attribute(json_name: str, *, minimum: int = 0) -> Any:
    """Declare a settings field by its Toxiproxy attribute name (an integer >= minimum)."""
    return dataclasses.field(default=0, metadata={"json": json_name, "minimum": minimum})


def parse_attributes(
    cls: type[SettingsT], attributes: Mapping[str, object], base: SettingsT | None = None
) -> SettingsT:
    """Build a settings record from JSON attributes, over ``base`` when updating.

    Like Toxiproxy, unknown attributes are ignored and missing ones keep their value
    (0 for a new toxic). Unlike Toxiproxy, negative values are refused: a negative
    duration or size has no meaning and Go silently treats most of them as 0.
    """
    values: dict[str, int] = {}
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        json_name = field.metadata["json"]
        if json_name in attributes:
            raw = attributes[json_name]
            # bool is an int in Python but not in JSON; Go refuses 1.5 and "5" for int64.
            if isinstance(raw, bool) or not isinstance(raw, int):
                raise bad_request(
                    f"attribute {json_name!r} must be an integer, got {_json_type(raw)}"
                )
            if raw > INT64_MAX:
                # Go's int64, as Toxiproxy decodes it; beyond, a toxic's ms / 1000 overflows.
                raise bad_request(f"attribute {json_name!r} must be <= {INT64_MAX}")
            if raw < field.metadata["minimum"]:
                raise bad_request(
                    f"attribute {json_name!r} must be >= {field.metadata['minimum']}, got {raw}"
                )
            values[field.name] = raw
        elif base is not None:
            values[field.name] = getattr(base, field.name)
    settings = cls(**values)
    check = getattr(settings, "validate", None)
    if check is not None:
        check()
    return settings


def dump_attributes(settings: object) -> dict[str, int]:
    return {
        field.metadata["json"]: getattr(settings, field.name)
        for field in dataclasses.fields(settings)  # type: ignore[arg-type]
    }


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return f"number {value!r}"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"
