"""The game-day console's state: who is in the room, what they may do, what the page shows.

No HTTP here (``server.py`` serves it) and no grading: actions go to the human responder's
one ``act`` (the terminal's keys go there too), and the scoreboard is the journal's own
``DrillRecord``, the record the report renders.
"""

from __future__ import annotations

import dataclasses
import secrets
import threading
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gameday.adapters.responders.human import Action, HumanResponder, Reply, playbook_view
from gameday.stages.clocks import span
from gameday.stages.faults import build_fault
from gameday.stages.journal import Journal

__all__ = ["ACTIONS", "ROLES", "Console", "ConsoleRefusal", "Participant"]

ROLES = ("incident commander", "responder", "communications", "scribe", "observer")
# The page's buttons, by the terminal key each one is.
ACTIONS = {"acknowledge": "a", "note": "n", "clock": "c", "mitigate": "m"}
LOAD_WINDOW_S = 10.0
MAX_NAME = 40
MAX_TEXT = 2000


class ConsoleRefusal(Exception):
    """An action or a join the console turns down; ``status`` is the HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Participant:
    id: str
    name: str
    role: str

    @property
    def by(self) -> str:
        """How the timeline names them: "alice (scribe)"."""
        return f"{self.name} ({self.role})"


class Console:
    """One run's console: the people who joined, their actions, the page's state."""

    def __init__(self, responder: HumanResponder, *, token: str | None = None) -> None:
        self.responder = responder
        self.token = token or secrets.token_urlsafe(24)
        self._people: dict[str, Participant] = {}
        self._lock = threading.Lock()
        self._said: deque[str] = deque(maxlen=12)
        self._journal: Journal | None = None
        self._run_dir: Path | None = None

    # -- the run -------------------------------------------------------------------------

    def progress(self, message: str) -> None:
        """What gameday says while it runs (bringing the replica up, grading)."""
        self._said.append(message)

    def finish(self, journal: Journal, run_dir: Path | None) -> None:
        """The run is over: show its scoreboard, link its report."""
        self._journal, self._run_dir = journal, run_dir

    @property
    def ended(self) -> bool:
        return self._journal is not None

    @property
    def run_dir(self) -> Path | None:
        return self._run_dir

    # -- people ----------------------------------------------------------------------------

    def join(self, name: str, role: str) -> Participant:
        name = " ".join(str(name).split())[:MAX_NAME]
        if not name:
            raise ConsoleRefusal(400, "say who you are: a name is needed to join")
        if role not in ROLES:
            raise ConsoleRefusal(400, f"no role {role!r}; the roles are {', '.join(ROLES)}")
        person = Participant(secrets.token_urlsafe(12), name, role)
        with self._lock:
            self._people[person.id] = person
        return person

    def act(self, participant_id: str, action: str, text: str = "") -> Reply:
        """Do ``action`` for a participant. Raises ConsoleRefusal: 403 (not joined, or an
        observer), 400 (no such action, bad text), 409 (the drill is over, or no drill is
        live, or it was done already)."""
        with self._lock:
            person = self._people.get(participant_id)
        if person is None:
            raise ConsoleRefusal(403, "join the console first (a name and a role)")
        if person.role == "observer":
            raise ConsoleRefusal(403, "observers watch: join with another role to act")
        key = ACTIONS.get(action)
        if key is None:
            raise ConsoleRefusal(400, f"no action {action!r}; the actions are {', '.join(ACTIONS)}")
        text = str(text).strip()
        if len(text) > MAX_TEXT:
            raise ConsoleRefusal(400, f"a note is at most {MAX_TEXT} characters")
        if self.ended:
            raise ConsoleRefusal(409, "the drill has ended: see the scoreboard")
        reply = self.responder.act(Action(key, text, person.by))
        if reply.status == "refused":
            raise ConsoleRefusal(409, reply.message)
        if reply.status == "invalid":
            raise ConsoleRefusal(400, reply.message)
        return reply

    # -- what the page shows ---------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """Everything the page shows, as JSON-ready data (people's text stays text: the page
        puts it in the DOM with textContent)."""
        with self._lock:
            people = [{"name": p.name, "role": p.role} for p in self._people.values()]
        state: dict[str, Any] = {
            "phase": self._phase(),
            "said": list(self._said),
            "people": people,
            "roles": list(ROLES),
            "drill": self._drill_state(),
            "scoreboard": self._scoreboard(),
        }
        return state

    def _phase(self) -> str:
        if self.ended:
            return "ended"
        if self.responder.drill is None:
            return "waiting"
        return "recovering" if self.responder.over else "live"

    def _drill_state(self) -> dict[str, Any] | None:
        drill = self.responder.drill
        if drill is None:
            return None
        injected = drill.injected_at
        alerts = []
        for episode in drill.watch.episodes():
            if episode.resolved_at is not None:
                status, since = "resolved", episode.resolved_at
            elif episode.firing_at is not None:
                status, since = "firing", episode.firing_at
            else:
                status, since = "pending", episode.pending_at or injected
            alerts.append(
                {
                    "name": episode.name,
                    "labels": episode.labels,
                    "state": status,
                    "at_s": round((since - injected).total_seconds(), 1),
                    "before_fault": episode.already_active,
                }
            )
        load = None
        if drill.load is not None:
            window = drill.load.window(LOAD_WINDOW_S)
            load = {
                "window_s": LOAD_WINDOW_S,
                "requests": window.total,
                "failed": window.failed,
                "error_rate": round(window.error_rate, 4),
                "p95_ms": None if window.p95_ms is None else round(window.p95_ms, 1),
            }
        marks = self.responder.marks()
        clocks = [
            {
                "name": c.name,
                "phrase": c.phrase,
                "target": c.target(),
                "marks": [f"T+{span(m)}" for m in marks.get(c.name, [])],
                "repeat": c.repeat,
            }
            for c in self.responder.clocks
        ]
        timeline = [
            {
                "t_s": round((e.at - injected).total_seconds(), 1),
                "kind": e.kind.value,
                "subject": e.subject,
                "detail": e.detail,
            }
            for e in drill.timeline.sorted()
        ]
        return {
            "scenario": drill.scenario.name,
            "title": drill.scenario.title,
            "faults": [build_fault(spec).describe() for spec in drill.scenario.faults],
            "expected_alerts": list(drill.scenario.detection.expect),
            "injected_at": injected.isoformat(),
            "elapsed_s": round(drill.elapsed_s(), 1),
            "over": self.responder.over,
            "alerts": alerts,
            "load": load,
            "playbook": dataclasses.asdict(playbook_view(drill)),
            "clocks": clocks,
            "timeline": timeline,
        }

    def _scoreboard(self) -> dict[str, Any] | None:
        journal = self._journal
        if journal is None:
            return None
        run_dir = self._run_dir
        postmortems = sorted(p.name for p in run_dir.glob("postmortem-*.md")) if run_dir else []
        record = journal.record()
        drills = []
        for drill in record.drills:
            drills.append(
                {
                    "name": drill.name,
                    "title": drill.title,
                    "verdict": drill.verdict,
                    "mtta_s": drill.mtta_s,
                    "mttd_s": drill.mttd_s,
                    "mttr_s": drill.mttr_s,
                    "targets": {
                        "mtta_s": drill.targets.mtta_s,
                        "mttd_s": drill.targets.mttd_s,
                        "mttr_s": drill.targets.mttr_s,
                    },
                    "checks": [
                        {
                            "id": c.id,
                            "label": c.label,
                            "passed": c.verdict,
                            "measured": c.measured,
                            "target": c.target,
                            "reason": c.reason,
                        }
                        for c in drill.checks
                    ],
                    "reasons": list(drill.reasons),
                    "inconclusive": list(drill.inconclusive),
                }
            )
        return {
            "run_id": record.run_id,
            "verdict": record.verdict,
            "report": "report/index.html" if run_dir else None,
            "postmortems": [f"report/{name}" for name in postmortems],
            "drills": drills,
        }
