"""Fault injection: one small module per fault type of the scenario schema, each a
:class:`Fault` that injects itself into a replica and reverts itself again.

``build_fault`` turns a scenario's fault spec into its fault; ``ledger.injected`` injects a
drill's faults and always reverts them, with a crash-safe record of what is in effect.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gameday.errors import FaultError
from gameday.inputs.scenario import FaultSpec
from gameday.stages.faults.base import Fault
from gameday.stages.faults.command import CommandRun
from gameday.stages.faults.connections import ConnectionExhaustion
from gameday.stages.faults.deploy import BadDeploy
from gameday.stages.faults.destroy import ServiceDestruction
from gameday.stages.faults.link import LinkDown, LinkToxic
from gameday.stages.faults.partition import Partition
from gameday.stages.faults.service import ServiceDisruption

__all__ = ["FAULT_TYPES", "Fault", "build_fault"]

# The spec type each fault implements; a unit test checks that it covers FaultSpec.
FAULT_TYPES: dict[type[Any], Callable[[Any], Fault]] = {
    fault.spec_type: fault
    for fault in (
        ServiceDisruption,
        ServiceDestruction,
        Partition,
        LinkToxic,
        LinkDown,
        CommandRun,
        ConnectionExhaustion,
        BadDeploy,
    )
}


def build_fault(spec: FaultSpec) -> Fault:
    """The fault that implements ``spec``."""
    try:
        make = FAULT_TYPES[type(spec)]
    except KeyError:
        raise FaultError(f"no fault implements {type(spec).__name__}") from None
    return make(spec)
