"""The game-day console against a fake drill (no Docker, no browser): the token, the roles,
actions after the end, two mitigations at once, the live stream, and that a drill run
from the page grades as the same drill run from the terminal."""

from __future__ import annotations

import io
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from drill_fakes import FakeAlertWatch, FakeDrillReplica
from starlette.testclient import TestClient

from gameday.adapters.responders import HumanResponder
from gameday.adapters.responders.human import Action
from gameday.adapters.web import Console, console_app
from gameday.adapters.web.server import STATIC
from gameday.inputs.project import Project
from gameday.inputs.scenario import Clocks, Scenario, load_scenario
from gameday.record import CheckRecord
from gameday.stages.clocks import read_clocks, resolve_clocks
from gameday.stages.detection import AlertObservation
from gameday.stages.grading import Measurements, grade
from gameday.stages.journal import Journal
from gameday.stages.run import Drill
from gameday.timeline import EventKind, Timeline, utcnow

REPO = Path(__file__).resolve().parents[2]
TOKEN = "the-token"
EVIL = "<script>document.body.dataset.pwned='yes'</script><img src=x onerror=alert(1)>"


def human_scenario(scale: float) -> Scenario:
    scenario = load_scenario(REPO / "scenarios" / "database-outage.yml")
    recovery = scenario.recovery.model_copy(update={"responder": "human"})
    return scenario.model_copy(update={"recovery": recovery, "clocks": Clocks(scale=scale)})


def fake_drill(project: Project, seconds_ago: float = 5.0, scale: float = 0.01) -> Drill:
    return Drill(
        FakeDrillReplica(project),  # type: ignore[arg-type]
        human_scenario(scale),
        Timeline(),
        FakeAlertWatch(),  # type: ignore[arg-type]
        None,
        utcnow() - timedelta(seconds=seconds_ago),
        lambda _: None,
        [],
    )


class LiveConsole:
    """A console whose human responder is responding to a fake drill in a thread."""

    def __init__(self, project: Project, seconds_ago: float = 5.0, scale: float = 0.01) -> None:
        self.drill = fake_drill(project, seconds_ago, scale)
        self.screen = io.StringIO()
        self.responder = HumanResponder(
            io.StringIO(""), self.screen, time_box_s=20, keys_end_drill=False
        )
        self.console = Console(self.responder, token=TOKEN)
        self.client = TestClient(console_app(self.console))
        self._thread = threading.Thread(target=self.responder.respond, args=(self.drill,))
        self._thread.start()
        deadline = time.monotonic() + 5
        while self.responder.drill is None and time.monotonic() < deadline:
            time.sleep(0.01)

    def join(self, name: str, role: str) -> str:
        answer = self.client.post("/api/join", json={"name": name, "role": role}, params=_t())
        assert answer.status_code == 200, answer.text
        return str(answer.json()["id"])

    def act(self, who: str, action: str, text: str = "") -> Any:
        return self.client.post(
            "/api/action", json={"participant": who, "action": action, "text": text}, params=_t()
        )

    def done(self) -> None:
        self._thread.join(timeout=25)
        assert not self._thread.is_alive(), "the responder did not return"

    def events(self, kind: EventKind) -> list[tuple[str, str]]:
        return [(e.subject, e.detail) for e in self.drill.timeline.sorted() if e.kind == kind]


def _t() -> dict[str, str]:
    return {"token": TOKEN}


@pytest.fixture
def live(bundled_project: Project) -> Any:
    console = LiveConsole(bundled_project)
    yield console
    if console.responder.over == "":
        console.responder.act(Action("q", by="the test"))
    console.done()


def test_every_route_needs_the_runs_token(live: LiveConsole) -> None:
    for path in ("/", "/api/state", "/api/events", "/static/console.js", "/report/index.html"):
        assert live.client.get(path).status_code == 403, path
        assert live.client.get(path, params={"token": "guess"}).status_code == 403, path
    refused = live.client.post("/api/join", json={"name": "eve", "role": "responder"})
    assert refused.status_code == 403
    assert "token" in refused.json()["message"]
    assert live.client.get("/api/state", headers={"X-Gameday-Token": TOKEN}).status_code == 200
    page = live.client.get("/", params=_t())
    assert (
        page.status_code == 200 and "default-src 'none'" in page.headers["content-security-policy"]
    )
    # The page's cookie lets the report's relative links (which carry no token) through.
    assert live.client.get("/api/state").status_code == 200


def test_people_join_with_a_role_and_observers_only_watch(live: LiveConsole) -> None:
    bad = live.client.post("/api/join", json={"name": "bob", "role": "boss"}, params=_t())
    assert bad.status_code == 400 and "incident commander" in bad.json()["message"]
    nameless = live.client.post("/api/join", json={"name": " ", "role": "scribe"}, params=_t())
    assert nameless.status_code == 400
    watcher = live.join("olga", "observer")
    assert live.act(watcher, "acknowledge").status_code == 403
    assert live.act("nobody", "acknowledge").status_code == 403
    scribe = live.join("alice", "scribe")
    assert live.act(scribe, "dance").status_code == 400
    assert live.act(scribe, "note", "restarting postgres").status_code == 200
    commander = live.join("ines", "incident commander")
    assert live.act(commander, "acknowledge").status_code == 200
    assert live.events(EventKind.NOTE)[-1] == ("alice (scribe)", "restarting postgres")
    assert live.events(EventKind.ACKNOWLEDGED) == [
        ("ines (incident commander)", "acknowledged by ines (incident commander)")
    ]
    people = live.client.get("/api/state", params=_t()).json()["people"]
    assert {"name": "olga", "role": "observer"} in people
    assert any(
        "note added (alice (scribe))" in line for line in live.screen.getvalue().splitlines()
    )


def test_text_from_people_stays_text(live: LiveConsole) -> None:
    scribe = live.join(EVIL[:40], "scribe")
    assert live.act(scribe, "note", EVIL).status_code == 200
    timeline = live.client.get("/api/state", params=_t()).json()["drill"]["timeline"]
    assert timeline[-1]["detail"] == EVIL  # as typed: the page makes it text, not markup
    script = (STATIC / "console.js").read_text()
    for markup_sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write"):
        assert markup_sink not in script
    assert "textContent" in script


def test_actions_after_the_responders_are_done_or_the_drill_ended_are_refused(
    live: LiveConsole,
) -> None:
    responder = live.join("rui", "responder")
    assert live.act(responder, "mitigate").status_code == 200
    live.done()
    late = live.act(responder, "note", "one more thing")
    assert late.status_code == 409
    assert "the responders are done" in late.json()["message"]
    live.console.finish(_empty_journal(), None)
    ended = live.act(responder, "acknowledge")
    assert ended.status_code == 409 and ended.json() == {
        "message": "the drill has ended: see the scoreboard"
    }
    assert live.events(EventKind.NOTE) == []


def test_two_people_marking_mitigated_at_once_record_one_mitigation(live: LiveConsole) -> None:
    people = [live.join(f"p{i}", "responder") for i in range(8)]
    start = threading.Barrier(len(people))

    def mitigate(who: str) -> int:
        start.wait()
        return int(live.act(who, "mitigate").status_code)

    with ThreadPoolExecutor(len(people)) as pool:
        statuses = sorted(pool.map(mitigate, people))
    live.done()
    assert statuses == [200] + [409] * 7
    assert len(live.events(EventKind.MITIGATED)) == 1


def test_the_stream_sends_the_state_as_it_changes_and_ends_with_the_scoreboard(
    live: LiveConsole,
) -> None:
    received: list[dict[str, Any]] = []

    def listen() -> None:
        with live.client.stream("GET", "/api/events", params=_t()) as stream:
            for line in stream.iter_lines():
                if line.startswith("data: "):
                    received.append(json.loads(line[len("data: ") :]))

    listener = threading.Thread(target=listen)
    listener.start()
    time.sleep(1.2)
    scribe = live.join("sam", "scribe")
    live.drill.watch.observed.append(  # type: ignore[attr-defined]
        AlertObservation("DatabaseDown", {}, utcnow(), utcnow(), None)
    )
    live.act(scribe, "note", "db is down")
    time.sleep(1.2)
    live.act(scribe, "mitigate")
    live.done()
    time.sleep(1.2)
    live.console.finish(_empty_journal(), None)
    listener.join(timeout=10)
    assert not listener.is_alive(), "the stream did not end after the scoreboard"
    phases = [s["phase"] for s in received]
    assert phases[0] == "live" and phases[-1] == "ended" and "recovering" in phases
    notes = [[e["detail"] for e in s["drill"]["timeline"]] for s in received]
    assert "db is down" not in notes[0] and "db is down" in notes[-1]
    firing = [a for a in received[-1]["drill"]["alerts"] if a["state"] == "firing"]
    assert [a["name"] for a in firing] == ["DatabaseDown"]
    assert received[-1]["scoreboard"]["verdict"] == "failed"  # a run with no drill


def _empty_journal() -> Journal:
    return Journal(run_id="fake-run", started_at=utcnow(), ended_at=utcnow(), results=())


def _graded(drill: Drill, project: Project) -> list[tuple[str, bool | None]]:
    """Grade a drill's timeline the way the engine does (DrillSession.result): its
    acknowledgement and clocks, with the rest measured the same for both."""
    events = drill.timeline.sorted()
    acked = drill.timeline.first(EventKind.ACKNOWLEDGED)
    measurements = Measurements(
        alert_mttd_s={"DatabaseDown": 4.0},
        mttr_s=30.0,
        p95_ms=50.0,
        error_rate=0.0,
        availability=1.0,
        lost_writes=0,
        mtta_s=(acked.at - drill.injected_at).total_seconds() if acked else None,
        acknowledgement_expected=True,
        clocks=read_clocks(
            resolve_clocks(project.spec.clocks, drill.scenario.clocks),
            events,
            drill.injected_at,
            drill.injected_at + timedelta(seconds=30),
        ),
    )
    checks: tuple[CheckRecord, ...] = grade(
        drill.scenario, measurements, project.spec.objectives
    ).checks
    return [(c.id, c.verdict) for c in checks]


def test_a_drill_run_from_the_page_grades_as_the_same_drill_from_the_terminal(
    bundled_project: Project,
) -> None:
    # Clocks compressed ten times: the status page is due 30 s after the fault, so that
    # both ways mark it in time however slow the machine is, and no reminder comes due.
    keys = "a\nc status-page\nn checked the database\nc escalate-l2\nm\n"
    terminal = fake_drill(bundled_project, seconds_ago=2, scale=0.1)
    HumanResponder(io.StringIO(keys), io.StringIO(), time_box_s=20).respond(terminal)

    web = LiveConsole(bundled_project, seconds_ago=2, scale=0.1)
    commander = web.join("ines", "incident commander")
    comms = web.join("cat", "communications")
    assert web.act(commander, "acknowledge").status_code == 200
    assert web.act(comms, "clock", "status-page").status_code == 200
    assert web.act(commander, "note", "checked the database").status_code == 200
    assert web.act(commander, "clock", "escalate-l2").status_code == 200
    assert web.act(commander, "mitigate").status_code == 200
    web.done()

    from_keys, from_page = _graded(terminal, bundled_project), _graded(web.drill, bundled_project)
    assert from_page == from_keys
    assert ("mtta", True) in from_page and ("clock:status-page", True) in from_page
    assert ("clock:escalate-l2", None) in from_page  # a 3 min condition, not reached in 30 s
    kinds = [e.kind for e in web.drill.timeline.sorted()]
    assert kinds == [e.kind for e in terminal.timeline.sorted()]
    assert EventKind.CLOCK_REMINDED not in kinds
