"""Fakes for fault tests without Docker: a replica that is only a run id, and a fault that
writes what happens to it into a shared journal (and can be told to fail)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

from gameday.replica import Replica
from gameday.scenario import CacheFlushFault, FaultSpec, LinkDownFault


@dataclass
class FakeReplica:
    """All that the ledger reads of a replica; faults of these tests read nothing."""

    run_id: str = "20260101-000000-fake"


def fake_replica() -> Replica:
    return cast(Replica, FakeReplica())


@dataclass
class FakeFault:
    name: str
    journal: list[str]
    spec: FaultSpec = field(default_factory=lambda: CacheFlushFault(type="cache_flush"))
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
