"""Human mode's keys, driven by a script: the clocks people mark, the reminders they see,
and how the marks are graded. No Docker: the replica and the alert watch are fakes."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

from gameday.adapters.responders import HumanResponder
from gameday.inputs.project import Project
from gameday.inputs.scenario import Clocks, Scenario, load_scenario
from gameday.stages.clocks import read_clocks, resolve_clocks
from gameday.stages.grading import Measurements, grade
from gameday.stages.run import Drill
from gameday.timeline import EventKind, Timeline, utcnow

REPO = Path(__file__).resolve().parents[2]


class FakeReplica:
    """The little of a replica the human screen reads: its project and container names."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.run_id = "fake-run"
        self.compose = SimpleNamespace(name="gameday-fake-run")

    def containers(self) -> dict[str, object]:
        return {}


class FakeWatch:
    """An alert watch with no alert firing."""

    def active(self) -> set[str]:
        return set()


def human_scenario(clocks: Clocks | None = None) -> Scenario:
    scenario = load_scenario(REPO / "scenarios" / "database-outage.yml")
    recovery = scenario.recovery.model_copy(update={"responder": "human"})
    return scenario.model_copy(update={"recovery": recovery, "clocks": clocks or Clocks()})


def respond(
    project: Project, keys: str, *, seconds_ago: float, clocks: Clocks | None = None
) -> tuple[Drill, list[str]]:
    """Run the human responder on ``keys`` for a fault injected ``seconds_ago``."""
    screen = io.StringIO()
    drill = Drill(
        FakeReplica(project),  # type: ignore[arg-type]
        human_scenario(clocks),
        Timeline(),
        FakeWatch(),  # type: ignore[arg-type]
        None,
        utcnow() - timedelta(seconds=seconds_ago),
        lambda _: None,
        [],
    )
    HumanResponder(io.StringIO(keys), screen, time_box_s=30).respond(drill)
    return drill, screen.getvalue().splitlines()


def marks(drill: Drill) -> list[str]:
    return [e.subject for e in drill.timeline.sorted() if e.kind == EventKind.CLOCK_MARKED]


def test_the_screen_lists_the_clocks_with_their_keys(bundled_project: Project) -> None:
    _, screen = respond(bundled_project, "m\n", seconds_ago=1)
    assert "Clocks (press c NAME or c NUMBER when done):" in screen
    assert "  1. status-page: status page posted ≤ 5 min" in screen
    assert (
        "  3. customer-email: customer email sent ≤ 15 min, if the outage passes 15 min" in screen
    )
    assert any("c NAME = clock done" in line for line in screen)


def test_each_clock_marked_lands_on_the_timeline_with_its_time(bundled_project: Project) -> None:
    keys = "a\nc status-page\nc 2\nc 2\nc 4\nm\n"
    drill, screen = respond(bundled_project, keys, seconds_ago=60)
    assert marks(drill) == ["status-page", "status-update", "status-update", "escalate-l2"]
    posted = next(e for e in drill.timeline.sorted() if e.kind == EventKind.CLOCK_MARKED)
    assert posted.detail.startswith("status page posted at T+1")  # a minute after the fault
    assert any("] status page posted (T+1" in line for line in screen)
    assert any("] incident escalated to L2 (DevOps lead) (T+" in line for line in screen)


def test_a_clock_done_once_is_not_marked_twice(bundled_project: Project) -> None:
    drill, screen = respond(bundled_project, "c status-page\nc 1\nm\n", seconds_ago=5)
    assert marks(drill) == ["status-page"]
    assert any("status page posted already, at T+5" in line for line in screen)


def test_an_unknown_clock_says_which_there_are_and_c_alone_lists_them(
    bundled_project: Project,
) -> None:
    drill, screen = respond(bundled_project, "c status\nc 9\nc status-page\nc\nm\n", seconds_ago=5)
    assert marks(drill) == ["status-page"]
    assert any(
        "no clock 'status'; the clocks are status-page, status-update, customer-email, "
        "escalate-l2, escalate-l3" in line
        for line in screen
    )
    assert any("no clock '9'" in line for line in screen)
    listed = [line for line in screen if line.startswith("  1. status-page:")]
    assert len(listed) == 2 and listed[-1].endswith("; posted at T+5.0 s")


def test_a_clock_past_due_is_reminded_once_as_due_and_once_as_overdue(
    bundled_project: Project,
) -> None:
    # Six minutes after the fault: the status page is overdue, the customer email is due.
    drill, screen = respond(bundled_project, "n looking\ns\nm\n", seconds_ago=360)
    reminders = [line for line in screen if "CLOCK" in line]
    assert [r.split("] ", 1)[1] for r in reminders if "status page" in r] == [
        "CLOCK due: status page posted by T+5 min; press c status-page when done",
        "CLOCK OVERDUE: status page posted was due by T+5 min; press c status-page when done",
    ]
    assert not any("customer email" in r for r in reminders)  # its reminder is at 7.5 min
    logged = [
        (e.subject, e.detail) for e in drill.timeline.sorted() if e.kind == EventKind.CLOCK_REMINDED
    ]
    assert logged == [
        ("status-page", "due: status page posted by T+5 min"),
        ("status-page", "overdue: status page posted by T+5 min"),
    ]


def test_a_late_mark_fails_its_clock_when_graded(bundled_project: Project) -> None:
    # A drill compressed a hundred times: the 5-minute status page is due in 3 s.
    clocks = Clocks(scale=0.01)
    drill, _ = respond(bundled_project, "a\nc status-page\nm\n", seconds_ago=7, clocks=clocks)
    readings = read_clocks(
        resolve_clocks(bundled_project.spec.clocks, clocks),
        drill.timeline.sorted(),
        drill.injected_at,
        utcnow(),
    )
    measurements = Measurements(
        alert_mttd_s={"DatabaseDown": 4.0},
        mttr_s=8.0,
        p95_ms=50.0,
        error_rate=0.0,
        availability=1.0,
        lost_writes=0,
        mtta_s=7.0,
        acknowledgement_expected=True,
        clocks=readings,
    )
    result = grade(drill.scenario, measurements)
    status_page = next(c for c in result.checks if c.id == "clock:status-page")
    assert not status_page.passed
    assert status_page.reason.startswith("status page posted after 7.")
    assert status_page.reason.endswith(" s, over its 3.0 s clock")
    assert status_page.reason in result.reasons


def test_the_disaster_recovery_procedure_is_shown_as_commands(bundled_project: Project) -> None:
    from dataclasses import replace

    from gameday.infra.replica import Replica

    real = Replica(bundled_project, run_id="20260101-000000-dr00")
    replica = FakeReplica(bundled_project)
    replica.compose = replace(real.compose, lease="fake-lease")  # type: ignore[assignment]
    replica.run_id = real.run_id
    scenario = load_scenario(REPO / "scenarios" / "disaster-recovery.yml")
    recovery = scenario.recovery.model_copy(update={"responder": "human"})
    screen = io.StringIO()
    drill = Drill(
        replica,  # type: ignore[arg-type]
        scenario.model_copy(update={"recovery": recovery}),
        Timeline(),
        FakeWatch(),  # type: ignore[arg-type]
        None,
        utcnow(),
        lambda _: None,
        [],
    )
    HumanResponder(io.StringIO("q\n"), screen, time_box_s=5).respond(drill)
    text = screen.getvalue()
    # The section's own commands, then the recovery as the responder types it: recreate
    # PostgreSQL with an empty volume, restore the newest backup, look at what came back.
    assert "docker exec gameday-20260101-000000-dr00-backup-1 sh /opt/backup/restore.sh" in text
    assert "# recreate_service postgres" in text
    assert "--no-deps --force-recreate postgres" in text
    assert text.index("# recreate_service postgres") < text.index("# command restore-database")
    assert "newest backup finished" in text  # backup-status, a Database Outages command
