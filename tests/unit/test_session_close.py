"""When a drill's data check runs against its revert (DrillSession.close), with fakes in
place of the replica, the load, the host monitor and the alert watch: a recovery that held
is checked as it left the stack, before any revert; a drill whose steady state never came
back is checked after the revert and the settling. The revert runs even when the check
fails."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gameday.infra.replica import Endpoint
from gameday.inputs.project import Project
from gameday.inputs.scenario import load_scenario
from gameday.stages import run
from gameday.stages.run import DrillSession

REPO = Path(__file__).resolve().parents[2]


class FakeReplica:
    """Addresses only: nothing here is asked, since the session's parts are all fakes."""

    def __init__(self, project: Project) -> None:
        self.project = project

    def prometheus_url(self) -> str:
        return "http://127.0.0.1:9"

    def alertmanager_url(self) -> str:
        return "http://127.0.0.1:9"

    def endpoint(self, service: str) -> Endpoint:
        return Endpoint("127.0.0.1", 9)


class FakeStoppable:
    def stop(self) -> Any:
        return None


def session_that_records(
    bundled_project: Project, order: list[str], *, check_fails: bool = False
) -> DrillSession:
    scenario = load_scenario(REPO / "scenarios" / "database-outage.yml", bundled_project)
    session = DrillSession(FakeReplica(bundled_project), scenario, progress=lambda _: None)  # type: ignore[arg-type]
    session.load = None
    session._host = FakeStoppable()  # type: ignore[assignment]
    session.watch = FakeStoppable()  # type: ignore[assignment]

    def check() -> None:
        order.append("data check")
        if check_fails:
            raise RuntimeError("the data check failed")

    session._check_data = check  # type: ignore[method-assign]
    session.revert = lambda: order.append("revert")  # type: ignore[method-assign]
    return session


def test_a_recovery_that_held_is_checked_before_the_revert(bundled_project: Project) -> None:
    order: list[str] = []
    session = session_that_records(bundled_project, order)
    session.steady_at = datetime.now(UTC)
    session.close()
    assert order == ["data check", "revert"]


def test_a_drill_that_never_recovered_is_checked_after_revert_and_settling(
    bundled_project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    order: list[str] = []
    session = session_that_records(bundled_project, order)
    session.injected_at = datetime.now(UTC)

    def settle(*args: Any, **kwargs: Any) -> tuple[datetime, list[str]]:
        order.append("settle")
        return datetime.now(UTC), []

    monkeypatch.setattr(run.steady_state, "wait_for", settle)
    monkeypatch.setattr(session, "_symptom_onsets", lambda *args: {})
    session.close()
    assert order == ["revert", "settle", "data check"]


def test_the_revert_runs_when_the_data_check_fails(bundled_project: Project) -> None:
    order: list[str] = []
    session = session_that_records(bundled_project, order, check_fails=True)
    session.steady_at = datetime.now(UTC)
    with pytest.raises(RuntimeError, match="the data check failed"):
        session.close()
    assert order == ["data check", "revert"]
