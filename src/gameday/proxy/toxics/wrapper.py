"""The settings every toxic shares (name, type, stream, toxicity) in one record, and the
parsing of Toxiproxy's toxic JSON bodies into it.

The checks run in Toxiproxy's order (body, stream, type, duplicate name, attributes) so
that a request with several faults gets the same answer from both servers.
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from ..errors import bad_request, invalid_stream, invalid_toxic_type, toxic_exists
from ..names import check_name
from . import REGISTRY
from .base import ToxicKind

__all__ = ["Direction", "Toxic", "parse_toxic", "parse_toxic_update"]


class Direction(enum.Enum):
    """Which way the data flows: upstream is client -> server, downstream the reverse."""

    UPSTREAM = "upstream"
    DOWNSTREAM = "downstream"


_serials = itertools.count(1)


@dataclass(frozen=True)
class Toxic:
    """One toxic on one proxy. ``serial`` tells a re-created toxic of the same name apart,
    so links start its state afresh."""

    name: str
    kind: ToxicKind[Any, Any]
    stream: Direction
    toxicity: float
    settings: Any
    serial: int

    def to_json(self) -> dict[str, object]:
        return {
            "attributes": self.kind.dump(self.settings),
            "name": self.name,
            "type": self.kind.type_name,
            "stream": self.stream.value,
            "toxicity": self.toxicity,
        }


def parse_toxic(body: object, name_taken: Callable[[str], bool]) -> Toxic:
    """A new toxic from a ``POST /proxies/{proxy}/toxics`` body."""
    if not isinstance(body, dict):
        raise bad_request("expected a JSON object")
    stream_name = _string(body, "stream", "downstream")
    try:
        stream = Direction(stream_name.lower())
    except ValueError:
        raise invalid_stream() from None
    type_name = _string(body, "type", "")
    name = _string(body, "name", "") or f"{type_name}_{stream.value}"
    kind = REGISTRY.get(type_name)
    if kind is None:
        raise invalid_toxic_type()
    check_name("toxic", name)
    if name_taken(name):
        raise toxic_exists()
    toxicity = _toxicity(body, 1.0)
    settings = kind.parse(_attributes(body))
    return Toxic(name, kind, stream, toxicity, settings, next(_serials))


def parse_toxic_update(toxic: Toxic, body: object) -> Toxic:
    """The toxic changed by a ``POST/PATCH /proxies/{proxy}/toxics/{toxic}`` body: only
    attributes and toxicity change, as in Toxiproxy."""
    if not isinstance(body, dict):
        raise bad_request("expected a JSON object")
    toxicity = _toxicity(body, toxic.toxicity)
    settings = toxic.kind.parse(_attributes(body), base=toxic.settings)
    return replace(toxic, toxicity=toxicity, settings=settings)


def _string(body: Mapping[str, object], key: str, default: str) -> str:
    value = body.get(key, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise bad_request(f"field {key!r} must be a string")
    return value


def _toxicity(body: Mapping[str, object], default: float) -> float:
    value = body.get("toxicity", default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise bad_request("field 'toxicity' must be a number")
    if not 0.0 <= value <= 1.0:
        raise bad_request(f"field 'toxicity' must be between 0 and 1, got {value}")
    return float(value)


def _attributes(body: Mapping[str, object]) -> Mapping[str, object]:
    value = body.get("attributes", {})
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise bad_request("field 'attributes' must be an object")
    return value
