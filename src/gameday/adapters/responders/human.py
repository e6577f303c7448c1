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
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from gameday.infra import ownership
from gameday.stages.clocks import Clock, marks_in, reminders_due, resolve_clocks, span
from gameday.stages.recovery import exec_command_line, playbook_command
from gameday.timeline import EventKind

if TYPE_CHECKING:
    from gameday.stages.run import Drill

__all__ = ["Action", "HumanResponder", "PlaybookView", "Reply", "playbook_view"]

HELP = (
    "keys: a = acknowledge, n TEXT = note, s = status, c NAME = clock done (c lists them), "
    "m = mitigated, q = give up"
)


@dataclass(frozen=True)
class Action:
    """One thing people do: a key line from the terminal or a button on the web console.

    ``key`` is the terminal's key (a, n, s, c, m, q); ``by`` says who did it, as the
    timeline shows it ("alice (scribe)"); empty for the terminal."""

    key: str
    text: str = ""
    by: str = ""

    @classmethod
    def from_keys(cls, line: str) -> Action:
        key, _, text = line.strip().partition(" ")
        return cls(key, text.strip())


@dataclass(frozen=True)
class Reply:
    """What gameday answers an action: said on the terminal, sent back to the web page.

    ``status``: "ok"; "refused" (the responders are done, or no drill is live); "invalid"
    (an unknown key or clock)."""

    message: str
    status: str = "ok"
    done: bool = False  # the responders are done: the drill goes on to the steady state


@dataclass(frozen=True)
class ReplicaCommand:
    purpose: str  # the comment line above it
    command: str


@dataclass(frozen=True)
class PlaybookView:
    """The playbook section for a drill, with its commands for this replica: what the
    terminal prints and the web console shows."""

    section: str
    details: str  # "severity critical; teams storage", or ""
    immediate_actions: tuple[str, ...]
    playbook_commands: tuple[str, ...]  # as the playbook writes them, for production
    replica_commands: tuple[ReplicaCommand, ...]
    recovery: tuple[ReplicaCommand, ...]  # the scenario's recovery steps, for this replica


def playbook_view(drill: Drill) -> PlaybookView:
    scenario, replica = drill.scenario, drill.replica
    playbook = replica.project.playbook
    section = (
        playbook.section_for(scenario.playbook.section, scenario.playbook.alerts)
        if playbook is not None
        else None
    )
    details = ""
    if section is not None:
        parts = [f"severity {section.severity}" if section.severity else ""]
        parts.append(f"teams {section.teams}" if section.teams else "")
        details = "; ".join(p for p in parts if p)
    label = f"{ownership.LABEL_RUN}={replica.run_id}"
    commands = [
        ReplicaCommand("every container of the replica", f"docker ps --filter label={label}"),
        ReplicaCommand("a service's recent logs", "docker logs --tail 100 <container>"),
    ]
    for name, command in replica.project.commands_for(
        section.title if section else scenario.playbook.section
    ):
        commands.append(
            ReplicaCommand(command.purpose or name, exec_command_line(replica, command))
        )
    recovery = []
    for step in scenario.recovery.steps:
        target = getattr(step, "service", None) or getattr(step, "command", "")
        recovery.append(
            ReplicaCommand(f"{step.action} {target}".rstrip(), playbook_command(step, replica))
        )
    return PlaybookView(
        section=section.title if section else scenario.playbook.section,
        details=details,
        immediate_actions=tuple(section.immediate_actions) if section else (),
        playbook_commands=tuple(section.commands) if section else (),
        replica_commands=tuple(commands),
        recovery=tuple(recovery),
    )


class HumanResponder:
    """Shows the playbook, records what people do, never recovers anything itself.

    Key lines from the terminal and actions from the web console go through one function,
    :meth:`act`, under one lock: the same action grades the same whichever way it came,
    and two people marking mitigated at once record one mitigation. With
    ``keys_end_drill=False`` (the web console is open) the terminal's input ending does
    not end the drill."""

    name = "human"

    def __init__(
        self,
        keys: TextIO,
        screen: TextIO,
        *,
        time_box_s: float = 1800.0,
        keys_end_drill: bool = True,
    ) -> None:
        self.keys = keys
        self.screen = screen
        self.time_box_s = time_box_s
        self.keys_end_drill = keys_end_drill
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader: threading.Thread | None = None
        self._clocks: tuple[Clock, ...] = ()
        self._reminded: set[tuple[str, str, float]] = set()
        self._lock = threading.RLock()
        self._drill: Drill | None = None
        self._over = ""  # why the responders are done; "" while they are responding
        self._done = threading.Event()
        self._keys_ended = False

    # -- what the web console reads ------------------------------------------------------------

    @property
    def drill(self) -> Drill | None:
        """The drill people are responding to (the last one, once it is over)."""
        return self._drill

    @property
    def clocks(self) -> tuple[Clock, ...]:
        return self._clocks

    @property
    def over(self) -> str:
        """Why the responders are done ("" while they respond)."""
        return self._over

    def marks(self) -> dict[str, list[float]]:
        drill = self._drill
        return self._marks(drill) if drill is not None else {}

    # -- the drill -------------------------------------------------------------------------

    def say(self, text: str = "") -> None:
        self.screen.write(text + "\n")
        self.screen.flush()

    def respond(self, drill: Drill) -> None:
        with self._lock:
            self._clocks = resolve_clocks(drill.replica.project.spec.clocks, drill.scenario.clocks)
            self._reminded = set()
            self._over = ""
            self._done.clear()
            self._drill = drill
        self._show_playbook(drill)
        self._show_clocks(drill)
        self._start_reader()
        if self._keys_ended:  # a drill before this one read the input to its end
            self._lines.put(None)
        deadline = time.monotonic() + self.time_box_s
        alerts_seen: set[str] = set()
        while not self._done.is_set():
            active = drill.watch.active()
            for alert in sorted(active - alerts_seen):
                self.say(f"[{drill.elapsed_s():6.1f} s] ALERT firing: {alert}")
            alerts_seen |= active
            with self._lock:
                if not self._over:
                    self._remind(drill)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                with self._lock:
                    if not self._over:
                        drill.timeline.add(EventKind.NOTE, "the time box ended", subject="gameday")
                        self._finish("the time box ended")
                self.say("time box over")
                return
            try:
                line = self._lines.get(timeout=min(0.5, remaining))
            except queue.Empty:
                continue
            if line is None:  # the input ended
                if not self.keys_end_drill:
                    continue  # people respond from the web console
                with self._lock:
                    if not self._over:  # nobody is left to respond
                        drill.timeline.add(EventKind.NOTE, "the responders' input ended")
                        self._finish("the responders' input ended")
                return
            self.act(Action.from_keys(line))

    def act(self, action: Action) -> Reply:
        """Do one action on the live drill; the terminal shows its answer."""
        with self._lock:
            drill = self._drill
            if drill is None:
                return Reply("no drill is live yet: the fault is not in", "refused")
            if self._over:
                return Reply(
                    f"the responders are done ({self._over}); nothing more is recorded", "refused"
                )
            reply = self._handle(action, drill)
            if reply.done:
                self._finish(reply.message)
        if reply.message:
            who = f" ({action.by})" if action.by else ""
            self.say(f"[{drill.elapsed_s():6.1f} s] {reply.message}{who}")
        return reply

    def _finish(self, why: str) -> None:
        self._over = why
        self._done.set()

    def wait_line(self, timeout_s: float | None = None) -> bool:
        """Wait for one line (or the end) of the terminal's input; False on timeout."""
        self._start_reader()
        try:
            self._lines.get(timeout=timeout_s)
        except queue.Empty:
            return False
        return True

    def _handle(self, action: Action, drill: Drill) -> Reply:
        """Act on one action; ``done`` when the responders are done."""
        key, text, by = action.key, action.text, action.by
        if key == "a":
            first = drill.timeline.first(EventKind.ACKNOWLEDGED)
            if first is not None:
                at = span((first.at - drill.injected_at).total_seconds())
                return Reply(f"already acknowledged at T+{at}", "refused")
            drill.timeline.add(
                EventKind.ACKNOWLEDGED,
                f"acknowledged by {by or 'the responders'}",
                subject=by,
            )
            return Reply("acknowledged")
        if key == "n" and text:
            drill.timeline.add(EventKind.NOTE, text, subject=by or "responder")
            return Reply("note added")
        if key == "n":
            return Reply("a note needs text: n TEXT", "invalid")
        if key == "s":
            active = ", ".join(sorted(drill.watch.active())) or "none"
            return Reply(f"alerts active: {active}")
        if key == "c":
            return self._clock(text, drill, by)
        if key == "m":
            drill.timeline.add(
                EventKind.MITIGATED, f"marked mitigated by {by or 'the responders'}", subject=by
            )
            return Reply("mitigated; gameday now waits for the steady state", done=True)
        if key == "q":
            drill.timeline.add(
                EventKind.NOTE, f"{by or 'the responders'} gave up", subject=by or "responder"
            )
            return Reply("the responders gave up", done=True)
        if key:
            return Reply(f"unknown key {key!r}; {HELP}", "invalid")
        return Reply("", "invalid")

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

    def _clock(self, name: str, drill: Drill, by: str = "") -> Reply:
        """``c``: list the clocks; ``c NAME`` (or its number): mark it done."""
        elapsed_s = drill.elapsed_s()
        if not self._clocks:
            return Reply("this project sets no clocks (clocks: in gameday.yml)", "invalid")
        if not name:
            self._show_clocks(drill)
            return Reply("")
        by_number = {str(i): c for i, c in enumerate(self._clocks, start=1)}
        clock = by_number.get(name) or next((c for c in self._clocks if c.name == name), None)
        if clock is None:
            names = ", ".join(c.name for c in self._clocks)
            return Reply(f"no clock {name!r}; the clocks are {names}", "invalid")
        marks = self._marks(drill).get(clock.name, [])
        if marks and not clock.repeat:
            return Reply(f"{clock.phrase} already, at T+{span(marks[0])}", "refused")
        drill.timeline.add(
            EventKind.CLOCK_MARKED,
            f"{clock.phrase} at T+{span(elapsed_s)}" + (f" by {by}" if by else ""),
            subject=clock.name,
        )
        return Reply(f"{clock.phrase} (T+{span(elapsed_s)})")

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
        view = playbook_view(drill)
        self.say(f"=== INCIDENT DRILL: {drill.scenario.title} ===")
        self.say("A fault is in the replica now. Respond as the playbook says; gameday keeps time.")
        self.say(
            f"Playbook section: {view.section}" + (f" ({view.details})" if view.details else "")
        )
        if view.immediate_actions:
            self.say("Immediate actions:")
            for number, action in enumerate(view.immediate_actions, start=1):
                self.say(f"  {number}. {action}")
        if view.playbook_commands:
            self.say("The playbook's commands (as it writes them, for production):")
            for line in view.playbook_commands:
                self.say(f"  {line}")
        self.say("Commands for this replica:")
        for command in view.replica_commands:
            self.say(f"  # {command.purpose}\n  {command.command}")
        if view.recovery:
            self.say("The playbook's recovery for this incident, as commands for this replica:")
            for command in view.recovery:
                self.say(f"  # {command.purpose}")
                self.say(f"  {command.command}")
        self.say(HELP)

    def _start_reader(self) -> None:
        if self._reader is not None:
            return

        def read() -> None:
            for line in self.keys:
                self._lines.put(line)
            self._keys_ended = True
            self._lines.put(None)

        # A daemon thread: a blocked terminal read must not keep the process alive.
        self._reader = threading.Thread(target=read, name="gameday-keys", daemon=True)
        self._reader.start()
