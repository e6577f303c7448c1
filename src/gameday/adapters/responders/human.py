"""Human responder mode: people respond, gameday keeps time and score.

After the fault is in, the screen shows the playbook section for the scenario (its
immediate actions and the commands it writes, and the project's commands for that section
as ``docker exec`` lines for this replica) and then listens for keystrokes, one per line:

    a          acknowledge the incident (MTTA stops)
    n TEXT     add a note to the timeline
    s          show the alerts and the health of the service now
    c NAME     mark a communication or escalation clock done (c alone lists them;
               NAME may be the clock's number in that list): c status-page
    m          mark the incident mitigated (the responders think it is fixed)
    q          give up (the time box ends now)

The project's clocks (status page, updates, customer email, escalation) are shown with
their due times; the screen says once when each comes due and once when it is overdue.

gameday does no recovery in this mode. It returns once the responders mark the incident
mitigated or the time box ends; the engine then waits for the steady state and grades.
Input is any text stream, so a script can drive a drill (that is how it is tested).
"""

from __future__ import annotations

import queue
import threading
import time
from typing import TYPE_CHECKING, TextIO

from gameday.infra import ownership
from gameday.stages.clocks import Clock, marks_in, reminders_due, resolve_clocks, span
from gameday.stages.recovery import exec_command_line, playbook_command
from gameday.timeline import EventKind

if TYPE_CHECKING:
    from gameday.stages.run import Drill

__all__ = ["HumanResponder"]

HELP = (
    "keys: a = acknowledge, n TEXT = note, s = status, c NAME = clock done (c lists them), "
    "m = mitigated, q = give up"
)


class HumanResponder:
    """Shows the playbook, records what people do, never recovers anything itself."""

    name = "human"

    def __init__(self, keys: TextIO, screen: TextIO, *, time_box_s: float = 1800.0) -> None:
        self.keys = keys
        self.screen = screen
        self.time_box_s = time_box_s
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader: threading.Thread | None = None
        self._clocks: tuple[Clock, ...] = ()
        self._reminded: set[tuple[str, str, float]] = set()

    def say(self, text: str = "") -> None:
        self.screen.write(text + "\n")
        self.screen.flush()

    def respond(self, drill: Drill) -> None:
        self._clocks = resolve_clocks(drill.replica.project.spec.clocks, drill.scenario.clocks)
        self._reminded = set()
        self._show_playbook(drill)
        self._show_clocks(drill)
        self._start_reader()
        deadline = time.monotonic() + self.time_box_s
        alerts_seen: set[str] = set()
        while True:
            active = drill.watch.active()
            for alert in sorted(active - alerts_seen):
                self.say(f"[{drill.elapsed_s():6.1f} s] ALERT firing: {alert}")
            alerts_seen |= active
            self._remind(drill)
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
        elif key == "c":
            self._clock(text.strip(), drill)
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

    def _marks(self, drill: Drill) -> dict[str, list[float]]:
        return marks_in(drill.timeline.sorted(), drill.injected_at)

    def _remind(self, drill: Drill) -> None:
        """Say once that a clock is due, and once that it is overdue."""
        elapsed = drill.elapsed_s()
        for reminder in reminders_due(self._clocks, self._marks(drill), elapsed):
            if reminder.key in self._reminded:
                continue
            self._reminded.add(reminder.key)
            drill.timeline.add(
                EventKind.CLOCK_REMINDED,
                ("overdue: " if reminder.overdue else "due: ")
                + f"{reminder.clock.phrase} by T+{span(reminder.at_s)}",
                subject=reminder.clock.name,
            )
            self.say(f"[{elapsed:6.1f} s] {reminder.text()}")

    def _clock(self, name: str, drill: Drill) -> None:
        """``c``: list the clocks; ``c NAME`` (or its number): mark it done."""
        elapsed_s = drill.elapsed_s()
        elapsed = f"[{elapsed_s:6.1f} s]"
        if not self._clocks:
            self.say(f"{elapsed} this project sets no clocks (clocks: in gameday.yml)")
            return
        if not name:
            self._show_clocks(drill)
            return
        by_number = {str(i): c for i, c in enumerate(self._clocks, start=1)}
        clock = by_number.get(name) or next((c for c in self._clocks if c.name == name), None)
        if clock is None:
            names = ", ".join(c.name for c in self._clocks)
            self.say(f"{elapsed} no clock {name!r}; the clocks are {names}")
            return
        marks = self._marks(drill).get(clock.name, [])
        if marks and not clock.repeat:
            self.say(f"{elapsed} {clock.phrase} already, at T+{span(marks[0])}")
            return
        drill.timeline.add(
            EventKind.CLOCK_MARKED,
            f"{clock.phrase} at T+{span(elapsed_s)}",
            subject=clock.name,
        )
        self.say(f"{elapsed} {clock.phrase} (T+{span(elapsed_s)})")

    def _show_clocks(self, drill: Drill) -> None:
        if not self._clocks:
            return
        marks = self._marks(drill)
        self.say("Clocks (press c NAME or c NUMBER when done):")
        for number, clock in enumerate(self._clocks, start=1):
            done = marks.get(clock.name, [])
            state = f"; {clock.done} at " + ", ".join(f"T+{span(m)}" for m in done) if done else ""
            self.say(f"  {number}. {clock.name}: {clock.phrase} {clock.target()}{state}")

    def _show_playbook(self, drill: Drill) -> None:
        scenario, replica = drill.scenario, drill.replica
        playbook = replica.project.playbook
        section = (
            playbook.section_for(scenario.playbook.section, scenario.playbook.alerts)
            if playbook is not None
            else None
        )
        self.say(f"=== INCIDENT DRILL: {scenario.title} ===")
        self.say("A fault is in the replica now. Respond as the playbook says; gameday keeps time.")
        if section is None:
            self.say(f"Playbook section: {scenario.playbook.section}")
        else:
            details = [f"severity {section.severity}" if section.severity else ""]
            details.append(f"teams {section.teams}" if section.teams else "")
            shown = "; ".join(d for d in details if d)
            self.say(f"Playbook section: {section.title}" + (f" ({shown})" if shown else ""))
            if section.immediate_actions:
                self.say("Immediate actions:")
                for number, action in enumerate(section.immediate_actions, start=1):
                    self.say(f"  {number}. {action}")
            if section.commands:
                self.say("The playbook's commands (as it writes them, for production):")
                for line in section.commands:
                    self.say(f"  {line}")
        self.say("Commands for this replica:")
        label = f"{ownership.LABEL_RUN}={replica.run_id}"
        self.say(f"  # every container of the replica\n  docker ps --filter label={label}")
        self.say("  # a service's recent logs\n  docker logs --tail 100 <container>")
        for name, command in replica.project.commands_for(
            section.title if section else scenario.playbook.section
        ):
            self.say(f"  # {command.purpose or name}\n  {exec_command_line(replica, command)}")
        if scenario.recovery.steps:
            self.say("The playbook's recovery for this incident, as commands for this replica:")
            for step in scenario.recovery.steps:
                target = getattr(step, "service", None) or getattr(step, "command", "")
                self.say(f"  # {step.action} {target}".rstrip())
                self.say(f"  {playbook_command(step, replica)}")
        self.say(HELP)

    def _start_reader(self) -> None:
        def read() -> None:
            for line in self.keys:
                self._lines.put(line)
            self._lines.put(None)

        # A daemon thread: a blocked terminal read must not keep the process alive.
        self._reader = threading.Thread(target=read, name="gameday-keys", daemon=True)
        self._reader.start()
