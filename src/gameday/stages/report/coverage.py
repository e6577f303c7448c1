"""Playbook coverage: which of the playbook's alerts and drills a scenario exercises.

One row for every alert the project's playbook names and every one of its "Drill
Scenarios" (a :class:`PlaybookOutline`), with the scenarios that exercise it and how each
did the last time it ran. The alerts the project adds to the playbook (rules marked
``playbook_addition``) get rows of their own, marked as additions. A row no scenario
exercises is "not covered": the gap a game day should close. Without a playbook, the
rows are the alerts and drills the scenarios name.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from gameday.errors import ScenarioError
from gameday.inputs.playbook import Playbook
from gameday.inputs.scenario import load_scenario
from gameday.stages.report.store import DrillRecord, load_history

__all__ = [
    "CoverageRow",
    "Exercise",
    "LastResult",
    "PlaybookOutline",
    "coverage_from_records",
    "coverage_rows",
    "exercises_in",
    "playbook_coverage",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlaybookOutline:
    """What a playbook asks to be exercised: its alerts and its drills, in its order; and
    the alerts the project's rules add to it."""

    alerts: tuple[str, ...]
    drills: tuple[str, ...]
    additions: tuple[str, ...] = ()

    @classmethod
    def of(cls, playbook: Playbook, additions: Iterable[str] = ()) -> PlaybookOutline:
        return cls(
            playbook.alerts,
            playbook.drills,
            tuple(a for a in sorted(additions) if a not in playbook.alerts),
        )


@dataclass(frozen=True)
class Exercise:
    """What one scenario exercises: alerts (named or expected) and at most one drill."""

    scenario: str
    alerts: tuple[str, ...]
    drill: str | None


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


def playbook_coverage(
    scenarios_dir: Path, history_db: Path | None, outline: PlaybookOutline | None = None
) -> list[CoverageRow]:
    """Coverage of the playbook by the scenario files in ``scenarios_dir``, with each one's
    last result from the history database (if given and present)."""
    latest = load_history(history_db).latest_by_scenario() if history_db else {}
    return coverage_rows(exercises_in(scenarios_dir), latest, outline)


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
        found.append(Exercise(scenario.name, tuple(alerts), scenario.playbook.drill))
    return found


def coverage_from_records(
    latest: Mapping[str, DrillRecord], outline: PlaybookOutline | None = None
) -> list[CoverageRow]:
    """Coverage by the scenarios a history (or a run) has seen, for when there are no
    scenario files to read."""
    exercises = [
        Exercise(
            name,
            tuple(dict.fromkeys([*record.playbook.alerts, *record.alert_mttd_s])),
            record.playbook.drill,
        )
        for name, record in sorted(latest.items())
    ]
    return coverage_rows(exercises, latest, outline)


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
