"""The fault registry covers the schema, and each fault says what it does in a few words."""

from __future__ import annotations

from typing import get_args

import pytest
from pydantic import TypeAdapter

from gameday.inputs.scenario import FaultSpec
from gameday.stages.faults import FAULT_TYPES, build_fault

SPEC = TypeAdapter(FaultSpec)


def test_every_fault_type_of_the_schema_has_a_fault() -> None:
    union = get_args(FaultSpec)[0]
    assert set(FAULT_TYPES) == set(get_args(union))


def test_each_fault_declares_the_spec_type_it_is_registered_under() -> None:
    for spec_type, fault in FAULT_TYPES.items():
        assert getattr(fault, "spec_type", None) is spec_type


@pytest.mark.parametrize(
    ("spec", "description"),
    [
        ({"type": "stop_service", "service": "postgres"}, "stop postgres"),
        ({"type": "kill_service", "service": "redis"}, "kill redis"),
        ({"type": "pause_service", "service": "backend-1"}, "pause backend-1"),
        ({"type": "restart_service", "service": "gateway"}, "restart gateway"),
        (
            {"type": "partition", "services": ["backend-1", "backend-2"], "network": "data"},
            "partition backend-1, backend-2 from the data network",
        ),
        (
            {
                "type": "link_toxic",
                "links": ["backend-1-postgres"],
                "toxic": "latency",
                "attributes": {"latency": 300},
            },
            "latency 300ms on backend-1-postgres (downstream)",
        ),
        (
            {
                "type": "link_toxic",
                "links": ["backend-1-redis", "backend-2-redis"],
                "toxic": "latency",
                "stream": "upstream",
                "toxicity": 0.5,
                "attributes": {"latency": 100, "jitter": 20},
            },
            "latency 100ms jitter 20ms at 50% toxicity on backend-1-redis, backend-2-redis "
            "(upstream)",
        ),
        (
            {
                "type": "link_toxic",
                "links": ["backend-2-postgres"],
                "toxic": "bandwidth",
                "attributes": {"rate": 10},
            },
            "bandwidth 10KB/s on backend-2-postgres (downstream)",
        ),
        (
            {
                "type": "link_toxic",
                "links": ["backend-2-postgres"],
                "toxic": "slicer",
                "attributes": {"average_size": 64, "delay": 10},
            },
            "slicer average_size 64 bytes delay 10us on backend-2-postgres (downstream)",
        ),
        ({"type": "link_down", "links": ["backend-1-redis"]}, "take down backend-1-redis"),
        ({"type": "command", "command": "flush-cache"}, "run flush-cache"),
        (
            {
                "type": "connection_exhaustion",
                "service": "postgres",
                "database": "labelmint",
                "connections": 35,
            },
            "hold 35 idle sessions in postgres",
        ),
        (
            {
                "type": "bad_deploy",
                "service": "backend-2",
                "environment": {"APP_VERSION": "2-bad", "DB_PASSWORD": "stale"},
            },
            "deploy a broken release of backend-2 (APP_VERSION, DB_PASSWORD changed)",
        ),
    ],
)
def test_describe(spec: dict[str, object], description: str) -> None:
    fault = build_fault(SPEC.validate_python(spec))
    assert fault.describe() == description
    assert fault.spec == SPEC.validate_python(spec)
