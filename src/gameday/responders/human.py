"""Human responder mode: people respond, gameday keeps time and score.

After the fault is in, the screen shows the playbook section for the scenario (its
immediate actions, and its investigation and recovery commands rewritten for this
replica) and then listens for keystrokes, one per line:

    a          acknowledge the incident (MTTA stops)
    n TEXT     add a note to the timeline
    s          show the alerts and the health of the service now
    m          mark the incident mitigated (the responders think it is fixed)
    q          give up (the time box ends now)

gameday does no recovery in this mode. It returns once the responders mark the incident
mitigated or the time box ends; the engine then waits for the steady state and grades.
Input is any text stream, so a script can drive a drill (that is how it is tested).
"""

from __future__ import annotations

import queue
import threading
import time
from typing import TYPE_CHECKING, TextIO

from gameday.errors import ReplicaError
from gameday.playbook import section_for
from gameday.timeline import EventKind

if TYPE_CHECKING:
    from gameday.replica import Replica
    from gameday.run import Drill

__all__ = ["HumanResponder", "command_names"]

HELP = "keys: a = acknowledge, n TEXT = note, s = status, m = mitigated, q = give up"


def command_names(replica: Replica) -> dict[str, str]:
    """The names the playbook's command templates use, for this replica."""
    names = {service: c.name for service, c in replica.containers().items()}
    names["run_id"] = replica.run_id
    names["data_network"] = f"{replica.project.name}_data"
    for service in ("gateway", "proxy", "backend-1", "backend-2", "prometheus", "alertmanager"):
        try:
            names[f"{service}_url"] = replica.endpoint(service).url
        except ReplicaError:  # a stopped service has no published port right now
            names[f"{service}_url"] = f"<{service} is not running>"
    return names


class HumanResponder:
    """Shows the playbook, records what people do, never recovers anything itself."""

    name = "human"

    def __init__(self, keys: TextIO, screen: TextIO, *, time_box_s: float = 1800.0) -> None:
        self.keys = keys
        self.screen = screen
        self.time_box_s = time_box_s
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader: threading.Thread | None = None

    def say(self, text: str = "") -> None:
        self.screen.write(text + "\n")
        self.screen.flush()

    def respond(self, drill: Drill) -> None:
        self._show_playbook(drill)
        self._start_reader()
        deadline = time.monotonic() + self.time_box_s
        alerts_seen: set[str] = set()
        while True:
            active = drill.watch.active()
            for alert in sorted(active - alerts_seen):
                self.say(f"[{drill.elapsed_s():6.1f} s] ALERT firing: {alert}")
            alerts_seen |= active
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                drill.timeline.add(EventKind.NOTE, "the time box ended", subject="gameday")
                self.say("time box over")
                return
            try:
                line = self._lines.get(timeout=min(0.5, remaining))
            except queue.Empty:
                continue
            if line is None:  # the input ended: nobody is left to respond
                drill.timeline.add(EventKind.NOTE, "the responders' input ended")
                return
            if self._handle(line.strip(), drill):
                return

    def _handle(self, line: str, drill: Drill) -> bool:
        """Act on one keystroke line; True when the responders are done."""
        key, _, text = line.partition(" ")
        elapsed = f"[{drill.elapsed_s():6.1f} s]"
        if key == "a":
            if drill.timeline.first(EventKind.ACKNOWLEDGED) is None:
                drill.timeline.add(EventKind.ACKNOWLEDGED, "acknowledged by the responders")
                self.say(f"{elapsed} acknowledged")
        elif key == "n" and text.strip():
            drill.timeline.add(EventKind.NOTE, text.strip(), subject="responder")
            self.say(f"{elapsed} note added")
        elif key == "s":
            self.say(
                f"{elapsed} alerts active: {', '.join(sorted(drill.watch.active())) or 'none'}"
            )
        elif key == "m":
            drill.timeline.add(EventKind.MITIGATED, "marked mitigated by the responders")
            self.say(f"{elapsed} mitigated; gameday now waits for the steady state")
            return True
        elif key == "q":
            drill.timeline.add(EventKind.NOTE, "the responders gave up", subject="responder")
            return True
        elif key:
            self.say(f"{elapsed} unknown key {key!r}; {HELP}")
        return False

    def _show_playbook(self, drill: Drill) -> None:
        scenario = drill.scenario
        section = section_for(scenario.playbook.section, scenario.playbook.alerts)
        names = command_names(drill.replica)
        self.say(f"=== INCIDENT DRILL: {scenario.title} ===")
        self.say("A fault is in the replica now. Respond as the playbook says; gameday keeps time.")
        self.say(
            f"Playbook section: {section.title} (severity {section.severity}; "
            f"teams {section.teams})"
        )
        self.say("Immediate actions:")
        for number, action in enumerate(section.immediate_actions, start=1):
            self.say(f"  {number}. {action}")
        self.say("Investigation commands for this replica:")
        for command in section.investigation:
            self.say(f"  # {command.purpose}\n  {command.render(names)}")
        self.say("Recovery commands for this replica:")
        for command in section.recovery:
            self.say(f"  # {command.purpose}\n  {command.render(names)}")
        self.say(HELP)

    def _start_reader(self) -> None:
        def read() -> None:
            for line in self.keys:
                self._lines.put(line)
            self._lines.put(None)

        # A daemon thread: a blocked terminal read must not keep the process alive.
        self._reader = threading.Thread(target=read, name="gameday-keys", daemon=True)
        self._reader.start()
