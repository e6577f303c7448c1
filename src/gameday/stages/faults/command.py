"""The command fault: one of the project's named commands, run in its service (a cache
flush, a config change). Its revert runs the command the project names as its ``revert``;
a command without one needs nothing undone (a flushed cache refills itself).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from gameday.errors import FaultError
from gameday.infra.operations import run_command
from gameday.infra.replica import Replica
from gameday.inputs.project import Command
from gameday.inputs.scenario import CommandFault

__all__ = ["CommandRun", "named_command"]


def named_command(replica: Replica, name: str) -> Command:
    """The project's command called ``name``."""
    try:
        return replica.project.spec.commands[name]
    except KeyError:
        raise FaultError(f"the project has no command {name!r}") from None


@dataclass(frozen=True)
class CommandRun:
    """A named command as a fault."""

    spec: CommandFault
    spec_type: ClassVar[type[CommandFault]] = CommandFault

    def describe(self) -> str:
        return f"run {self.spec.command}"

    def inject(self, replica: Replica) -> None:
        run_command(replica, named_command(replica, self.spec.command), self.describe())

    def revert(self, replica: Replica) -> None:
        undo = named_command(replica, self.spec.command).revert
        if undo is not None:
            run_command(replica, named_command(replica, undo), f"revert {self.spec.command}")
