"""Communication and escalation clocks: what responders must do by when, and how they did.

A project's ``clocks:`` (docs/project.md) are its playbook's deadlines for people: a
status page posted within 5 minutes, an update every 30, a customer email once an outage
passes 15 minutes, the lead paged at 30. :func:`resolve_clocks` applies a scenario's
``clocks:`` (a drill is shorter than an incident) and gives each drill its :class:`Clock`
list; human responders mark each clock on the timeline (``EventKind.CLOCK_MARKED``, the
clock's name as subject); :func:`read_clocks` reads the marks back, and :func:`judge`
turns one clock's reading into a graded check with its reason in words.

Only people keep these clocks. A drill without them (the automatic responder) records each
clock as not applicable, never as passed.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from gameday.inputs.project import ClockSpec
from gameday.inputs.scenario import Clocks
from gameday.record import CheckRecord
from gameday.timeline import Event, EventKind

__all__ = [
    "Clock",
    "ClockReading",
    "Reminder",
    "judge",
    "marks_in",
    "not_applicable",
    "read_clocks",
    "reminders_due",
    "resolve_clocks",
    "span",
    "start_of",
]


@dataclass(frozen=True)
class Clock:
    """One clock as this drill keeps it: the project's, with the scenario's times."""

    name: str
    label: str  # "status page"
    done: str  # "posted"
    due_s: float  # from its start: the fault, ``after``'s first mark, or (repeat) its last mark
    remind_s: float  # when the screen says it is due, on the same count
    if_outage_over_s: float | None = None
    after: str | None = None
    repeat: bool = False

    @property
    def phrase(self) -> str:
        return f"{self.label} {self.done}"

    @property
    def check_id(self) -> str:
        return f"clock:{self.name}"

    def target(self) -> str:
        start = f" after {self.after}" if self.after else ""
        again = (" and after each one" if self.after else " apart") if self.repeat else ""
        text = f"≤ {span(self.due_s)}{start}{again}"
        if self.if_outage_over_s is not None:
            text += f", if the outage passes {span(self.if_outage_over_s)}"
        return text


def span(seconds: float) -> str:
    """A clock's time as people say it: seconds under a minute, else minutes."""
    if seconds < 60:
        return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:.0f} h"
    minutes = f"{seconds / 60:.1f}".removesuffix(".0")
    return f"{minutes} min"


def resolve_clocks(spec: Mapping[str, ClockSpec], scenario: Clocks) -> tuple[Clock, ...]:
    """The project's clocks with the scenario's ``scale`` and ``due_s`` applied. A due time
    set outright is not scaled; a reminder or condition past it moves back to it."""
    clocks = []
    for name, clock in spec.items():
        scale = scenario.scale
        due = scenario.due_s.get(name, clock.due_s * scale)
        remind = clock.remind_s * scale if clock.remind_s is not None else due / 2
        condition = clock.if_outage_over_s
        clocks.append(
            Clock(
                name=name,
                label=clock.label,
                done=clock.done,
                due_s=due,
                remind_s=min(remind, due),
                if_outage_over_s=None if condition is None else min(condition * scale, due),
                after=clock.after,
                repeat=clock.repeat,
            )
        )
    return tuple(clocks)


@dataclass(frozen=True)
class ClockReading:
    """One clock's marks in a drill, in seconds after the fault, and the outage's length."""

    clock: Clock
    marks_s: tuple[float, ...]  # this clock's own marks, in order
    start_s: float  # when it started: 0 (the fault) or ``after``'s first mark
    outage_s: float  # the fault to the steady state back (or to the drill's end)
    after_marked: bool = True  # False: ``after`` was never marked, so it ran from the fault


def marks_in(events: Iterable[Event], injected_at: datetime) -> dict[str, list[float]]:
    """Each clock's marks on a timeline, in seconds after the fault."""
    marks: dict[str, list[float]] = {}
    for event in sorted(events, key=lambda e: e.at):
        if event.kind == EventKind.CLOCK_MARKED:
            marks.setdefault(event.subject, []).append((event.at - injected_at).total_seconds())
    return marks


def start_of(clock: Clock, marks: Mapping[str, list[float]]) -> float | None:
    """When ``clock`` started counting: 0 (the fault), ``after``'s first mark, or None
    while ``after`` is unmarked."""
    if clock.after is None:
        return 0.0
    earlier = marks.get(clock.after)
    return earlier[0] if earlier else None


def read_clocks(
    clocks: Iterable[Clock],
    events: Iterable[Event],
    injected_at: datetime | None,
    outage_end: datetime,
) -> tuple[ClockReading, ...]:
    """Every clock's reading from a drill's timeline; none for a drill never injected."""
    if injected_at is None:
        return ()
    marks = marks_in(events, injected_at)
    outage_s = max((outage_end - injected_at).total_seconds(), 0.0)
    readings = []
    for clock in clocks:
        start = start_of(clock, marks)
        own = marks.get(clock.name, [])
        if clock.repeat and start is not None:
            own = [m for m in own if m >= start]  # an update before the first post is no update
        readings.append(
            ClockReading(
                clock=clock,
                marks_s=tuple(own),
                start_s=start or 0.0,
                outage_s=outage_s,
                after_marked=start is not None,
            )
        )
    return tuple(readings)


def not_applicable(clock: Clock, why: str, measured: str = "not applicable") -> CheckRecord:
    return CheckRecord(
        id=clock.check_id,
        label=clock.phrase,
        passed=False,
        applicable=False,
        measured=measured,
        target=clock.target(),
        reason=why,
        subject=clock.name,
        limit=clock.due_s,
    )


def _graded(clock: Clock, passed: bool, measured: str, reason: str = "") -> CheckRecord:
    return CheckRecord(
        id=clock.check_id,
        label=clock.phrase,
        passed=passed,
        measured=measured,
        target=clock.target(),
        reason=reason,
        subject=clock.name,
        limit=clock.due_s,
    )


def judge(reading: ClockReading) -> CheckRecord:
    """One clock against its due time: passed, failed with its reason, or not applicable."""
    clock = reading.clock
    condition = clock.if_outage_over_s
    if condition is not None and reading.outage_s <= condition:
        return not_applicable(
            clock,
            f"the outage lasted {span(reading.outage_s)}, not past the {span(condition)} "
            "that calls for this clock",
        )
    if clock.repeat:
        return _judge_repeating(reading)
    if not reading.marks_s:
        if reading.outage_s <= reading.start_s + clock.due_s:
            return _over_in_time(reading)
        return _graded(clock, False, "never", f"{clock.label} never {clock.done}")
    took = max(reading.marks_s[0] - reading.start_s, 0.0)
    since = f" after {clock.after}" if clock.after and reading.after_marked else ""
    if took <= clock.due_s:
        return _graded(clock, True, span(took))
    return _graded(
        clock,
        False,
        span(took),
        f"{clock.phrase} after {span(took)}{since}, over its {span(clock.due_s)} clock",
    )


def _over_in_time(reading: ClockReading) -> CheckRecord:
    """Unmarked, but the outage was over before the clock ran out: nothing was owed."""
    clock, start = reading.clock, reading.start_s
    since = (
        f"{span(max(reading.outage_s - start, 0.0))} after the clock started"
        if start
        else f"after {span(reading.outage_s)}"
    )
    return not_applicable(
        clock, f"the outage ended {since}, before its {span(clock.due_s)} clock ran out"
    )


def _judge_repeating(reading: ClockReading) -> CheckRecord:
    """A clock that each mark starts again: every gap, the last one to the outage's end
    included, must be within its due time."""
    clock = reading.clock
    start, due = reading.start_s, clock.due_s
    if not reading.marks_s and reading.outage_s <= start + due:
        return _over_in_time(reading)
    if not reading.marks_s:
        return _graded(clock, False, "never", f"{clock.label} never {clock.done}")
    times = [start, *reading.marks_s]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    longest = max(gaps)
    tail = reading.outage_s - times[-1]
    count = len(reading.marks_s)
    measured = f"{count} {'time' if count == 1 else 'times'}, longest gap {span(longest)}"
    if longest > due:
        return _graded(
            clock,
            False,
            measured,
            f"{clock.phrase} {span(longest)} after the last, over its {span(due)} clock",
        )
    if tail > due:
        return _graded(
            clock,
            False,
            measured,
            f"{clock.label} not {clock.done} in the last {span(tail)} of the outage, over "
            f"its {span(due)} clock",
        )
    return _graded(clock, True, measured)


# -- reminders on the responders' screen ---------------------------------------------------------


@dataclass(frozen=True)
class Reminder:
    """A clock coming due or overdue; ``key`` makes each one shown once."""

    key: tuple[str, str, float]  # (clock, "due" or "overdue", the occurrence's start)
    clock: Clock
    overdue: bool
    at_s: float  # its due time, in seconds after the fault

    def text(self) -> str:
        clock = self.clock
        condition = (
            f" (if the outage lasts past {span(clock.if_outage_over_s)})"
            if clock.if_outage_over_s is not None
            else ""
        )
        if self.overdue:
            return (
                f"CLOCK OVERDUE: {clock.phrase} was due by T+{span(self.at_s)}{condition}; "
                f"press c {clock.name} when done"
            )
        return (
            f"CLOCK due: {clock.phrase} by T+{span(self.at_s)}{condition}; "
            f"press c {clock.name} when done"
        )


def reminders_due(
    clocks: Iterable[Clock], marks: Mapping[str, list[float]], elapsed_s: float
) -> list[Reminder]:
    """The reminders whose time has come at ``elapsed_s``, shown or not (the caller keeps
    which it has shown): for each clock's open occurrence, "due" at its reminder time and
    "overdue" once its due time passes unmarked."""
    found = []
    for clock in clocks:
        own = marks.get(clock.name, [])
        if own and not clock.repeat:
            continue
        start = start_of(clock, marks)
        start = 0.0 if start is None else start
        if clock.repeat and own and own[-1] >= start:
            start = own[-1]
        deadline = start + clock.due_s
        if elapsed_s >= start + clock.remind_s:
            found.append(Reminder((clock.name, "due", start), clock, False, deadline))
        if elapsed_s > deadline:
            found.append(Reminder((clock.name, "overdue", start), clock, True, deadline))
    return found
