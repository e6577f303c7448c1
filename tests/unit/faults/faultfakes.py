"""Fakes for fault tests without Docker: a replica that is only a run id, and a fault that
writes what happens to it into a shared journal (and can be told to fail)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import cast

from gameday.infra.replica import Replica
from gameday.inputs.project import Project, load_project
from gameday.inputs.scenario import CommandFault, FaultSpec, LinkDownFault

BUNDLED_PROJECT_FILE = Path(__file__).resolve().parents[3] / "gameday.yml"


@cache
def bundled_project() -> Project:
    """The bundled example's project (the repository's gameday.yml), read once."""
    return load_project(BUNDLED_PROJECT_FILE)


@dataclass
class FakeReplica:
    """All that the ledger reads of a replica (its run id, and the project its faults
    name things of); faults of these tests read nothing else."""

    run_id: str = "20260101-000000-fake"
    project: Project = field(default_factory=bundled_project)


def fake_replica() -> Replica:
    return cast(Replica, FakeReplica())


@dataclass
class FakeFault:
    name: str
    journal: list[str]
    spec: FaultSpec = field(
        default_factory=lambda: CommandFault(type="command", command="flush-cache")
    )
    fail_inject: BaseException | None = None
    fail_revert: BaseException | None = None

    def describe(self) -> str:
        return self.name

    def inject(self, replica: object) -> None:
        self.journal.append(f"inject {self.name}")
        if self.fail_inject is not None:
            raise self.fail_inject

    def revert(self, replica: object) -> None:
        self.journal.append(f"revert {self.name}")
        if self.fail_revert is not None:
            raise self.fail_revert


def link_down(*links: str) -> LinkDownFault:
    return LinkDownFault(type="link_down", links=list(links))
