"""The history across runs: recording each run, and the page that compares them.

``record_run`` adds a journal to ``reports/history.sqlite`` (see store.py; recording a run
twice replaces it). ``render_history`` writes ``reports/index.html``: the runs with links
to their reports, each scenario's MTTD and MTTR run after run with every run that got more
than 20% slower than the one before flagged, and the playbook's coverage.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from markupsafe import Markup

from gameday.record import JOURNAL_FILE
from gameday.stages.report import charts
from gameday.stages.report.coverage import (
    PlaybookOutline,
    coverage_rows,
    exercises_in,
    exercises_of_records,
    procedure_rows,
)
from gameday.stages.report.model import parse_journal, read_journal
from gameday.stages.report.render import render_run
from gameday.stages.report.store import (
    DEFAULT_HISTORY,
    DrillRecord,
    History,
    load_history,
    recording,
    save_run,
)
from gameday.stages.report.templating import environment, format_seconds, write_atomically

__all__ = [
    "REGRESSION_RATIO",
    "Timing",
    "Trend",
    "TrendPoint",
    "publish_run",
    "record_run",
    "render_history",
    "slower",
    "trends",
]

# A run is flagged when its MTTD or MTTR is more than this times the previous run's.
REGRESSION_RATIO = 1.2


def record_run(journal: Mapping[str, Any], db: Path) -> None:
    """Add a run (a journal as loaded from ``journal.json``) to the history database.

    Recording the same run again replaces what was recorded for it. Raises
    :class:`~gameday.stages.report.model.ReportError` for a journal that is not one, or a
    database that gameday cannot use.
    """
    data: object = journal  # as loaded from JSON: it may be anything at all
    if isinstance(data, Mapping):
        run = parse_journal(dict(data), f"journal of run {data.get('run_id', '?')!r}")
    else:
        run = parse_journal(data, "journal")
    save_run(run, db)


@dataclass(frozen=True)
class Timing:
    """An MTTD or MTTR of one run, next to the same scenario's in the run before."""

    value: float | None  # None: never reached (the alert never fired, no recovery)
    before: float | None = None
    first: bool = True  # no run before this one

    @property
    def slower(self) -> bool:
        return not self.first and slower(self.before, self.value)

    @property
    def change(self) -> str:
        """How it moved since the run before, in words: "+31%", or "was 4.1 s" if never
        reached this time."""
        if self.first or self.before is None:
            return ""
        if self.value is None:
            return f"was {format_seconds(self.before)}"
        if self.before <= 0:
            return ""
        return f"{(self.value - self.before) / self.before:+.0%}"


@dataclass(frozen=True)
class TrendPoint:
    run_id: str
    started_at: datetime
    passed: bool
    mttd: Timing
    mttr: Timing
    verdict: str = ""  # passed, failed or inconclusive

    @property
    def slower(self) -> bool:
        return self.mttd.slower or self.mttr.slower


@dataclass(frozen=True)
class Trend:
    scenario: str
    title: str
    points: tuple[TrendPoint, ...]  # oldest first
    mttd_sparkline: Markup
    mttr_sparkline: Markup

    @property
    def latest(self) -> TrendPoint:
        return self.points[-1]


def slower(previous: float | None, current: float | None) -> bool:
    """Whether ``current`` is a regression on ``previous``: over 20% slower, or never
    reached when it had been."""
    if previous is None:
        return False
    return current is None or current > previous * REGRESSION_RATIO


def trends(history: History) -> list[Trend]:
    """Each scenario's MTTD and MTTR run after run, with the regressions flagged."""
    by_scenario: dict[str, list[DrillRecord]] = {}
    for drill in history.drills:
        by_scenario.setdefault(drill.scenario, []).append(drill)
    result = []
    for scenario, drills in sorted(by_scenario.items()):
        points = []
        before: DrillRecord | None = None
        for d in drills:
            # An inconclusive drill measured the host: it is shown, but neither flagged as
            # slower nor the run the next one is compared with.
            compare = before if before is not None and d.outcome != "inconclusive" else None
            points.append(
                TrendPoint(
                    run_id=d.run_id,
                    started_at=d.started_at,
                    passed=d.passed,
                    mttd=Timing(d.mttd_s, compare.mttd_s, False) if compare else Timing(d.mttd_s),
                    mttr=Timing(d.mttr_s, compare.mttr_s, False) if compare else Timing(d.mttr_s),
                    verdict=d.outcome,
                )
            )
            if d.outcome != "inconclusive":
                before = d
        result.append(
            Trend(
                scenario=scenario,
                title=drills[-1].title,
                points=tuple(points),
                mttd_sparkline=charts.sparkline(
                    [p.mttd.value for p in points],
                    [p.mttd.slower for p in points],
                    title=f"MTTD of {scenario} across runs",
                ),
                mttr_sparkline=charts.sparkline(
                    [p.mttr.value for p in points],
                    [p.mttr.slower for p in points],
                    title=f"MTTR of {scenario} across runs",
                ),
            )
        )
    return result


def render_history(
    reports_dir: Path,
    *,
    db: Path | None = None,
    scenarios_dir: Path | None = None,
    outline: PlaybookOutline | None = None,
) -> Path:
    """Write ``reports_dir/index.html`` from the history database and return its path.

    ``db`` defaults to ``reports_dir/history.sqlite``. The coverage table reads the
    scenario files in ``scenarios_dir`` (default: ``scenarios/`` next to ``reports_dir``,
    if there is one), or else the scenarios the history has seen.
    """
    history = load_history(db or reports_dir / DEFAULT_HISTORY)
    return _write_history_page(reports_dir, history, scenarios_dir, outline)


def publish_run(
    run_dir: Path,
    reports_dir: Path,
    *,
    scenarios_dir: Path | None = None,
    outline: PlaybookOutline | None = None,
) -> Path:
    """Write a run's report, record the run in the history, and write the history page.

    What ``gameday run`` and ``gameday report`` do with a journal. The history and the
    files agree whatever fails: the run is recorded in a transaction that commits only
    once its page, its post-mortems and the history page showing it are written. A
    failure (a folder that cannot be written) leaves the history as it was, and is a
    :class:`~gameday.stages.report.model.ReportError`. Returns the run's page.
    """
    db = reports_dir / DEFAULT_HISTORY
    run = read_journal(run_dir / JOURNAL_FILE)
    with recording(run, db) as history:
        written = render_run(
            run_dir, scenarios_dir=scenarios_dir, run=run, history=history, outline=outline
        )
        _write_history_page(reports_dir, history, scenarios_dir, outline)
    return written[0]


def _write_history_page(
    reports_dir: Path,
    history: History,
    scenarios_dir: Path | None,
    outline: PlaybookOutline | None = None,
) -> Path:
    scenarios_dir = scenarios_dir or _default_scenarios(reports_dir)
    latest = history.latest_by_scenario()
    if scenarios_dir is not None:
        exercises = exercises_in(scenarios_dir)
    else:
        exercises = exercises_of_records(latest)
    coverage = coverage_rows(exercises, latest, outline)
    procedures = procedure_rows(exercises, latest, outline)
    runs = []
    drills_by_run: dict[str, list[DrillRecord]] = {}
    for d in history.drills:
        drills_by_run.setdefault(d.run_id, []).append(d)
    all_trends = trends(history)
    flagged = {(p.run_id, t.scenario) for t in all_trends for p in t.points if p.slower}
    for run in reversed(history.runs):
        page = reports_dir / run.run_id / "index.html"
        drills = drills_by_run.get(run.run_id, [])
        runs.append(
            {
                "run": run,
                "href": f"{quote(run.run_id)}/index.html" if page.exists() else None,
                "drills": drills,
                "failed": [d for d in drills if not d.passed],
                "slower": sorted(s for r, s in flagged if r == run.run_id),
            }
        )
    html = (
        environment()
        .get_template("history.html.j2")
        .render(
            runs=runs,
            trends=all_trends,
            regressions=[t for t in all_trends if t.latest.slower],
            coverage=coverage,
            procedures=procedures,
            ratio=REGRESSION_RATIO,
            generated_at=datetime.now(UTC),
        )
    )
    out = reports_dir / "index.html"
    write_atomically(out, html)
    return out


def _default_scenarios(reports_dir: Path) -> Path | None:
    candidate = reports_dir.resolve().parent / "scenarios"
    return candidate if candidate.is_dir() else None
