"""Playbook coverage: which of the playbook's alerts, drills and procedures a scenario
exercises.

One row for every alert the project's playbook names and every one of its "Drill
Scenarios" (a :class:`PlaybookOutline`), with the scenarios that exercise it and how each
did the last time it ran. The alerts the project adds to the playbook (rules marked
``playbook_addition``) get rows of their own, marked as additions. A row no scenario
exercises is "not covered": the gap a game day should close. Without a playbook, the
rows are the alerts and drills the scenarios name.

Then a :class:`ProcedureRow` for every procedure of the playbook (its ``##`` and ``###``
headings), in its order: the scenarios that prove it (their ``playbook.section``,
``playbook.procedures``, and for the heading that lists the drills, their
``playbook.drill``), the project's clocks that grade it in human mode, or the project's
note on why it is not drilled. A heading with none of these is covered by its section
when the heading it is under has one, or by its parts when every heading under it is
covered; the row says which. Anything else is "not covered".
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from gameday.errors import ScenarioError
from gameday.inputs.playbook import Playbook, Procedure, normal_name
from gameday.inputs.scenario import load_scenario
from gameday.stages.report.store import DrillRecord, load_history

if TYPE_CHECKING:
    from gameday.inputs.project import Project

__all__ = [
    "CoverageRow",
    "Exercise",
    "GradingClock",
    "LastResult",
    "PlaybookOutline",
    "ProcedureItem",
    "ProcedureRow",
    "coverage_from_records",
    "coverage_rows",
    "exercises_in",
    "exercises_of_records",
    "playbook_coverage",
    "procedure_coverage",
    "procedure_rows",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GradingClock:
    """A clock of the project that grades a procedure in human mode."""

    name: str  # "status-page"
    phrase: str  # "status page posted"
    section: str  # the procedure, as the clock names it


@dataclass(frozen=True)
class ProcedureItem:
    """A procedure of the playbook as the outline holds it: the names a scenario proves it
    by, and the clocks and the note the project gives it."""

    procedure: Procedure
    names: frozenset[str]  # matched as normal_name writes them: its title, and the
    # names of the alert section it is (its group or its title)
    clocks: tuple[GradingClock, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class PlaybookOutline:
    """What a playbook asks to be exercised: its alerts, its drills and its procedures, in
    its order; and the alerts the project's rules add to it."""

    alerts: tuple[str, ...]
    drills: tuple[str, ...]
    additions: tuple[str, ...] = ()
    procedures: tuple[ProcedureItem, ...] = ()

    @classmethod
    def of(
        cls,
        playbook: Playbook,
        additions: Iterable[str] = (),
        *,
        clocks: Iterable[GradingClock] = (),
        notes: Mapping[str, str] | None = None,
    ) -> PlaybookOutline:
        """The outline of ``playbook``; ``clocks`` and ``notes`` (procedure -> why it is
        not drilled) name their procedures as a project does, case and numbering aside."""
        clocks = list(clocks)
        notes = {normal_name(name): note for name, note in (notes or {}).items()}
        items = []
        for procedure in playbook.procedures:
            # A scenario names its section by the section's heading or its group's, and
            # proves both (a group's name stands for its first section).
            names = {procedure.key}
            for section in playbook.sections:
                if procedure.key in {normal_name(n) for n in section.names()}:
                    names |= {
                        normal_name(n) for n in section.names() if playbook.section(n) is section
                    }
            items.append(
                ProcedureItem(
                    procedure,
                    frozenset(names),
                    tuple(c for c in clocks if normal_name(c.section) == procedure.key),
                    notes.get(procedure.key, ""),
                )
            )
        return cls(
            playbook.alerts,
            playbook.drills,
            tuple(a for a in sorted(additions) if a not in playbook.alerts),
            tuple(items),
        )

    @classmethod
    def of_project(cls, project: Project) -> PlaybookOutline | None:
        """The outline of the project's playbook, with its additions, the clocks that name
        a section and its playbook notes; None without a playbook."""
        if project.playbook is None:
            return None
        clocks = [
            GradingClock(name, f"{clock.label} {clock.done}", clock.section)
            for name, clock in project.spec.clocks.items()
            if clock.section is not None
        ]
        return cls.of(
            project.playbook,
            project.additions,
            clocks=clocks,
            notes=project.spec.playbook_notes,
        )


@dataclass(frozen=True)
class Exercise:
    """What one scenario exercises: alerts (named or expected), at most one drill, its
    playbook section and the other procedures it names."""

    scenario: str
    alerts: tuple[str, ...]
    drill: str | None
    section: str = ""
    procedures: tuple[str, ...] = ()


@dataclass(frozen=True)
class LastResult:
    """How a scenario did on a row's alert or drill the last time it ran."""

    scenario: str
    passed: bool | None  # None: never run
    run_id: str | None = None
    at: datetime | None = None
    detail: str = "never run"


@dataclass(frozen=True)
class CoverageRow:
    kind: Literal["alert", "drill"]
    name: str
    results: tuple[LastResult, ...]
    addition: bool = False  # an alert the project adds, not one the playbook names

    @property
    def scenarios(self) -> tuple[str, ...]:
        return tuple(r.scenario for r in self.results)

    @property
    def covered(self) -> bool:
        return bool(self.results)

    @property
    def status(self) -> Literal["not covered", "failed", "passed", "never run"]:
        if not self.results:
            return "not covered"
        if any(r.passed is False for r in self.results):
            return "failed"
        if any(r.passed for r in self.results):
            return "passed"
        return "never run"


ProcedureStatus = Literal[
    "passed",
    "failed",
    "never run",
    "graded in human mode",
    "not drilled",
    "covered by its section",
    "covered by its parts",
    "not covered",
]


@dataclass(frozen=True)
class ProcedureRow:
    """One procedure of the playbook and what accounts for it."""

    title: str
    line: int
    level: int
    parent: str | None
    results: tuple[LastResult, ...] = ()  # the scenarios that prove it
    clocks: tuple[GradingClock, ...] = ()  # the clocks that grade it in human mode
    note: str = ""  # the project's word on why it is not drilled
    section: ProcedureRow | None = None  # the heading it is under, which covers it
    parts: tuple[str, ...] = ()  # the headings under it, every one covered

    @property
    def scenarios(self) -> tuple[str, ...]:
        return tuple(r.scenario for r in self.results)

    @property
    def accounted(self) -> bool:
        """Whether a scenario, a clock or a note of its own accounts for it."""
        return bool(self.results or self.clocks or self.note)

    @property
    def covered(self) -> bool:
        return self.status != "not covered"

    @property
    def status(self) -> ProcedureStatus:
        if self.results:
            if any(r.passed is False for r in self.results):
                return "failed"
            if any(r.passed for r in self.results):
                return "passed"
            return "never run"
        if self.clocks:
            return "graded in human mode"
        if self.note:
            return "not drilled"
        if self.section is not None:
            return "covered by its section"
        if self.parts:
            return "covered by its parts"
        return "not covered"


def playbook_coverage(
    scenarios_dir: Path, history_db: Path | None, outline: PlaybookOutline | None = None
) -> list[CoverageRow]:
    """Coverage of the playbook by the scenario files in ``scenarios_dir``, with each one's
    last result from the history database (if given and present)."""
    latest = load_history(history_db).latest_by_scenario() if history_db else {}
    return coverage_rows(exercises_in(scenarios_dir), latest, outline)


def procedure_coverage(
    scenarios_dir: Path, history_db: Path | None, outline: PlaybookOutline | None
) -> list[ProcedureRow]:
    """The playbook's procedures as the scenario files in ``scenarios_dir``, the clocks and
    the notes of ``outline`` account for them, with each scenario's last result."""
    latest = load_history(history_db).latest_by_scenario() if history_db else {}
    return procedure_rows(exercises_in(scenarios_dir), latest, outline)


def exercises_in(scenarios_dir: Path) -> list[Exercise]:
    """What each valid scenario file in ``scenarios_dir`` exercises.

    An invalid file is skipped with a warning: a scenario being edited must not stop the
    report of a run that is over (``gameday validate`` is where it is reported).
    """
    files = sorted([*scenarios_dir.glob("*.yml"), *scenarios_dir.glob("*.yaml")])
    found = []
    for file in files:
        try:
            scenario = load_scenario(file)
        except ScenarioError as exc:
            log.warning("coverage leaves out an invalid scenario file: %s", exc)
            continue
        alerts = dict.fromkeys([*scenario.playbook.alerts, *scenario.detection.expect])
        found.append(
            Exercise(
                scenario.name,
                tuple(alerts),
                scenario.playbook.drill,
                scenario.playbook.section,
                tuple(scenario.playbook.procedures),
            )
        )
    return found


def coverage_from_records(
    latest: Mapping[str, DrillRecord], outline: PlaybookOutline | None = None
) -> list[CoverageRow]:
    """Coverage by the scenarios a history (or a run) has seen, for when there are no
    scenario files to read."""
    return coverage_rows(exercises_of_records(latest), latest, outline)


def exercises_of_records(latest: Mapping[str, DrillRecord]) -> list[Exercise]:
    """What the scenarios of these records exercised, as they recorded it."""
    return [
        Exercise(
            name,
            tuple(dict.fromkeys([*record.playbook.alerts, *record.alert_mttd_s])),
            record.playbook.drill,
            record.playbook.section,
            tuple(record.playbook.procedures),
        )
        for name, record in sorted(latest.items())
    ]


def coverage_rows(
    exercises: Iterable[Exercise],
    latest: Mapping[str, DrillRecord],
    outline: PlaybookOutline | None = None,
) -> list[CoverageRow]:
    """A row per playbook alert, then per alert the project adds to it, then per playbook
    drill; ``latest`` is each scenario's newest recorded result. Without an ``outline``,
    the alerts and drills the exercises name are the rows."""
    exercises = list(exercises)
    if outline is None:
        outline = PlaybookOutline(
            tuple(dict.fromkeys(a for e in exercises for a in e.alerts)),
            tuple(dict.fromkeys(e.drill for e in exercises if e.drill)),
        )
    rows: list[CoverageRow] = []
    for alert in (*outline.alerts, *outline.additions):
        results = tuple(
            _alert_result(e.scenario, alert, latest.get(e.scenario))
            for e in exercises
            if alert in e.alerts
        )
        rows.append(CoverageRow("alert", alert, results, alert in outline.additions))
    for drill in outline.drills:
        results = tuple(
            _drill_result(e.scenario, latest.get(e.scenario))
            for e in exercises
            if e.drill is not None and _same_drill(e.drill, drill)
        )
        rows.append(CoverageRow("drill", drill, results))
    return rows


def procedure_rows(
    exercises: Iterable[Exercise],
    latest: Mapping[str, DrillRecord],
    outline: PlaybookOutline | None,
) -> list[ProcedureRow]:
    """A row per procedure of the outline's playbook, in its order; none without one."""
    if outline is None:
        return []
    exercises = list(exercises)
    rows = [
        ProcedureRow(
            item.procedure.title,
            item.procedure.line,
            item.procedure.level,
            item.procedure.parent,
            tuple(
                _drill_result(e.scenario, latest.get(e.scenario))
                for e in exercises
                if _proves(e, item, outline.drills)
            ),
            item.clocks,
            item.note,
        )
        for item in outline.procedures
    ]
    parents = _parents(rows)
    # Bottom-up: a heading none of whose own accounts for is covered by its parts when
    # every heading under it is covered (by its own, or by its parts in turn).
    for i in reversed(range(len(rows))):
        children = [rows[j] for j, p in parents.items() if p == i]
        if not rows[i].accounted and children and all(c.covered for c in children):
            rows[i] = replace(rows[i], parts=tuple(c.title for c in children))
    # Top-down: what is left is covered by its section when the heading it is under has a
    # scenario, a clock or a note of its own.
    for j, i in sorted(parents.items()):
        if not rows[j].covered and rows[i].accounted:
            rows[j] = replace(rows[j], section=rows[i])
    return rows


def _parents(rows: list[ProcedureRow]) -> dict[int, int]:
    """Each row's index -> the index of the row of the heading it is under."""
    parents: dict[int, int] = {}
    for j, row in enumerate(rows):
        if row.parent is None:
            continue
        i = next((i for i in reversed(range(j)) if rows[i].level < row.level), None)
        if i is not None:
            parents[j] = i
    return parents


def _proves(exercise: Exercise, item: ProcedureItem, drills: tuple[str, ...]) -> bool:
    named = {normal_name(n) for n in (exercise.section, *exercise.procedures) if n}
    if named & item.names:
        return True
    drill = exercise.drill
    return (
        item.procedure.lists_drills
        and drill is not None
        and any(_same_drill(drill, d) for d in drills)
    )


def _same_drill(a: str, b: str) -> bool:
    return " ".join(a.lower().split()) == " ".join(b.lower().split())


def _alert_result(scenario: str, alert: str, record: DrillRecord | None) -> LastResult:
    if record is None:
        return LastResult(scenario, None)
    if alert in record.alert_mttd_s:
        mttd = record.alert_mttd_s[alert]
        passed = record.alert_passed.get(alert, mttd is not None)
        detail = "never fired" if mttd is None else f"fired after {mttd:.1f} s"
        if mttd is not None and not passed:
            detail += ", over budget"
        return LastResult(scenario, passed, record.run_id, record.started_at, detail)
    # Named by the scenario's playbook section but not expected: the drill's grade decides.
    return _drill_result(scenario, record)


def _drill_result(scenario: str, record: DrillRecord | None) -> LastResult:
    if record is None:
        return LastResult(scenario, None)
    detail = "drill passed" if record.passed else "; ".join(record.reasons) or "drill failed"
    return LastResult(scenario, record.passed, record.run_id, record.started_at, detail)
