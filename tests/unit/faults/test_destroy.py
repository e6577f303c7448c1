"""The disaster fault, without Docker: what it removes, and what its revert puts back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import pytest
from faultfakes import bundled_project

from gameday.infra.replica import Replica
from gameday.inputs.scenario import DestroyServiceFault
from gameday.stages.faults import build_fault
from gameday.stages.faults import destroy as destroy_module
from gameday.stages.faults.destroy import ServiceDestruction, data_volumes


@dataclass
class FakeContainer:
    journal: list[str]

    def remove(self, force: bool = False) -> None:
        self.journal.append(f"remove container (force={force})")


@dataclass
class FakeVolume:
    name: str
    journal: list[str]

    def remove(self, force: bool = False) -> None:
        self.journal.append(f"remove volume {self.name}")


@dataclass
class FakeReplica:
    """A replica whose postgres container is there or not."""

    journal: list[str] = field(default_factory=list)
    has_postgres: bool = True
    run_id: str = "20260101-000000-fake"
    project: Any = field(default_factory=bundled_project)

    def containers(self) -> dict[str, FakeContainer]:
        return {"postgres": FakeContainer(self.journal)} if self.has_postgres else {}


@pytest.fixture
def replica(monkeypatch: pytest.MonkeyPatch) -> FakeReplica:
    fake = FakeReplica()

    def volumes_of(_: object, names: list[str]) -> list[FakeVolume]:
        return [FakeVolume(f"run_{name}", fake.journal) for name in names]

    monkeypatch.setattr(destroy_module, "volumes_of", volumes_of)
    monkeypatch.setattr(
        destroy_module,
        "compose_recreate",
        lambda _, service: fake.journal.append(f"recreate {service}"),
    )
    monkeypatch.setattr(
        destroy_module,
        "run_command",
        lambda _, command, what: fake.journal.append(f"run {command.run} ({what})"),
    )
    monkeypatch.setattr(
        destroy_module,
        "ensure_running",
        lambda _, service: fake.journal.append(f"ensure {service} runs"),
    )
    return fake


def destruction(restore: str | None = "restore-database") -> ServiceDestruction:
    spec = DestroyServiceFault(type="destroy_service", service="postgres", restore=restore)
    fault = build_fault(spec)
    assert isinstance(fault, ServiceDestruction)
    return fault


def test_the_data_volumes_are_read_from_the_compose_topology(replica: FakeReplica) -> None:
    assert data_volumes(cast(Replica, replica), "postgres") == ("pgdata",)
    # The gateway's access log is a volume of its own, shared with the log exporter.
    assert data_volumes(cast(Replica, replica), "gateway") == ("gateway-log",)
    assert data_volumes(cast(Replica, replica), "redis") == ()


def test_inject_removes_the_container_then_its_data_volumes(replica: FakeReplica) -> None:
    destruction().inject(cast(Replica, replica))
    assert replica.journal == ["remove container (force=True)", "remove volume run_pgdata"]


def test_inject_after_the_container_is_gone_still_removes_the_data(
    replica: FakeReplica,
) -> None:
    replica.has_postgres = False
    destruction().inject(cast(Replica, replica))
    assert replica.journal == ["remove volume run_pgdata"]


def test_revert_recreates_the_service_and_restores_its_data(replica: FakeReplica) -> None:
    replica.has_postgres = False
    destruction().revert(cast(Replica, replica))
    assert replica.journal == [
        "recreate postgres",
        "run ['sh', '/opt/backup/restore.sh'] (restore postgres (restore-database))",
    ]


def test_revert_without_a_restore_command_leaves_the_volume_empty(
    replica: FakeReplica,
) -> None:
    replica.has_postgres = False
    destruction(restore=None).revert(cast(Replica, replica))
    assert replica.journal == ["recreate postgres"]


def test_revert_after_the_recovery_recreated_it_only_makes_sure_it_runs(
    replica: FakeReplica,
) -> None:
    destruction().revert(cast(Replica, replica))
    assert replica.journal == ["ensure postgres runs"]


def test_it_says_what_it_does() -> None:
    assert destruction().describe() == "destroy postgres and its data"


def test_a_restore_command_the_project_lacks_is_refused_with_its_line() -> None:
    from pathlib import Path

    from gameday.errors import ScenarioError
    from gameday.inputs.scenario import parse_scenario

    text = (
        "name: dr\ntitle: DR\nplaybook:\n  section: Database Outages\n  alerts: [DatabaseDown]\n"
        "faults:\n  - type: destroy_service\n    service: postgres\n    restore: restore-tapes\n"
        "detection:\n  expect: [DatabaseDown]\nrecovery:\n  responder: none\n"
    )
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, Path("dr.yml"), bundled_project())
    message = str(caught.value)
    assert message.startswith("dr.yml:9: field 'faults.0.restore': "), message
    assert "got 'restore-tapes'" in message
