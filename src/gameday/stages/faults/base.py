"""What every fault is: a scenario's fault spec that can inject itself into a replica and
revert itself again.

A fault only ever touches the run's own containers, which it finds through the
:class:`~gameday.infra.replica.Replica` (by gameday's labels). ``revert`` is idempotent and safe
after a half-done ``inject``: a drill that died anywhere can always be put back.
"""

from __future__ import annotations

from typing import Protocol

from gameday.infra.replica import Replica
from gameday.inputs.scenario import FaultSpec

__all__ = ["Fault"]


class Fault(Protocol):
    """One fault of a scenario, ready to inject."""

    @property
    def spec(self) -> FaultSpec:
        """The scenario's spec of this fault (also what the ledger records)."""
        ...

    def describe(self) -> str:
        """The fault in a few words, e.g. "stop postgres"."""
        ...

    def inject(self, replica: Replica) -> None:
        """Break the replica; raises ``FaultError`` when the fault cannot be injected."""
        ...

    def revert(self, replica: Replica) -> None:
        """Undo ``inject``. Does nothing when there is nothing to undo; raises
        ``FaultError`` only when the replica could not be put back."""
        ...
