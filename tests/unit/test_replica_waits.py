"""The replica's waits (healthy containers, a command that says "try again") on fake
containers: no Docker, short timeouts."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from smallproject import write_small_project

from gameday.errors import ReplicaError, ServiceUnhealthy
from gameday.infra import replica as replica_module
from gameday.infra.replica import Replica
from gameday.inputs.project import load_project


class FakeContainer:
    def __init__(self, health: list[str], outputs: list[tuple[int, bytes]] | None = None) -> None:
        self.health = health  # one per look; the last one stays
        self.outputs = outputs or []
        self.ran: list[list[str]] = []

    @property
    def attrs(self) -> dict[str, Any]:
        status = self.health.pop(0) if len(self.health) > 1 else self.health[0]
        return {"State": {"Status": "running", "Health": {"Status": status, "Log": []}}}

    def exec_run(self, argv: list[str]) -> tuple[int, bytes]:
        self.ran.append(argv)
        return self.outputs.pop(0) if len(self.outputs) > 1 else self.outputs[0]

    def logs(self, tail: int) -> bytes:
        return b"starting up\n"


@pytest.fixture
def said() -> list[str]:
    return []


@pytest.fixture
def replica(tmp_path: Path, said: list[str]) -> Replica:
    project = load_project(write_small_project(tmp_path))
    return Replica(project, run_id="waits", progress=said.append)


def use(replica: Replica, monkeypatch: pytest.MonkeyPatch, **containers: FakeContainer) -> None:
    monkeypatch.setattr(replica, "containers", lambda: dict(containers))


def test_waits_until_every_container_is_healthy(
    replica: Replica, said: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    use(
        replica,
        monkeypatch,
        web=FakeContainer(["healthy"]),
        db=FakeContainer(["starting"] * 3 + ["healthy"]),
    )
    replica._wait_healthy(time.monotonic())
    name = replica.compose.name
    assert said == [f"replica {name}: 1/2 services healthy (waiting for db)"]


def test_a_container_late_to_be_healthy_is_named(
    replica: Replica, monkeypatch: pytest.MonkeyPatch
) -> None:
    use(replica, monkeypatch, web=FakeContainer(["healthy"]), db=FakeContainer(["starting"]))
    replica.ready_timeout_s = 0.3
    with pytest.raises(ServiceUnhealthy) as raised:
        replica._wait_healthy(time.monotonic())
    assert raised.value.service == "db"
    assert raised.value.reason == "is not healthy after 0 s (state: starting)"
    assert raised.value.last_logs == "starting up\n"


def test_a_command_is_tried_again_while_it_says_so(
    replica: Replica, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = FakeContainer(
        ["healthy"], [(2, b"too many clients"), (2, b"too many clients"), (0, b" 7\n")]
    )
    use(replica, monkeypatch, db=db)
    assert replica.exec("db", ["psql", "-c", "select 7"], retry_while="too many clients") == "7"
    assert len(db.ran) == 3


def test_a_command_that_fails_otherwise_is_not_tried_again(
    replica: Replica, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = FakeContainer(["healthy"], [(2, b"syntax error"), (0, b"")])
    use(replica, monkeypatch, db=db)
    with pytest.raises(ReplicaError, match=r"^psql in db failed \(exit code 2\): syntax error$"):
        replica.exec("db", ["psql"], retry_while="too many clients")
    assert len(db.ran) == 1


def test_a_command_is_tried_again_only_for_a_while(
    replica: Replica, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(replica_module, "EXEC_PATIENCE_S", 0.3)
    db = FakeContainer(["healthy"], [(2, b"too many clients")])
    use(replica, monkeypatch, db=db)
    with pytest.raises(ReplicaError, match=r"failed \(exit code 2\): too many clients$"):
        replica.exec("db", ["psql"], retry_while="too many clients")
    assert 3 <= len(db.ran) <= 5
