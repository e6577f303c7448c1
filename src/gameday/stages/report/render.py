"""One run's report: ``index.html`` and a Markdown post-mortem per scenario.

``render_run`` reads ``<run dir>/journal.json`` (and nothing else from the run), builds
one :class:`DrillView` per scenario (numbers formatted, charts drawn, timeline sorted) and
hands them to the templates. The HTML page is self-contained: inline CSS and inline SVG,
no script, no request to anywhere.

It is long because it turns one record into every view the page and the post-mortem
show; the drawing itself is charts.py.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from markupsafe import Markup

from gameday.record import JOURNAL_FILE, AlertTiming, CheckRecord, failed_scopes
from gameday.stages.report import charts
from gameday.stages.report.coverage import (
    CoverageRow,
    PlaybookOutline,
    ProcedureRow,
    coverage_rows,
    exercises_in,
    procedure_rows,
)
from gameday.stages.report.coverage import Exercise as CoverageExercise
from gameday.stages.report.model import Check, Drill, JournalEvent, ReportError, Run, read_journal
from gameday.stages.report.store import DEFAULT_HISTORY, History, drill_records, load_history
from gameday.stages.report.templating import (
    environment,
    format_seconds,
    markdown_environment,
    write_atomically,
)
from gameday.timeline import EventKind

__all__ = ["DrillView", "drill_view", "render_run"]

# Events that people wrote or did, shown as the responders' notes.
PEOPLE_KINDS = (
    EventKind.NOTE.value,
    EventKind.ACKNOWLEDGED.value,
    EventKind.MITIGATED.value,
    EventKind.CLOCK_MARKED.value,
)
SEVERITY_ORDER = ("critical", "warning", "info")


@dataclass(frozen=True)
class TimelineRow:
    at: datetime
    offset: str  # on the drill's clock: T0 is the fault
    kind: str
    label: str
    category: str  # fault, alert, recovery, steady, people or drill: the row's colour
    subject: str
    detail: str


@dataclass(frozen=True)
class MttdRow:
    """One expected alert's detection: its parts in the drill and its production range."""

    alert: str
    mttd_s: float | None
    timing: AlertTiming | None
    passed: bool | None

    def _part(self, start: float | None, stop: float | None) -> float | None:
        if start is None or stop is None:
            return None
        return max(stop - start, 0.0)

    @property
    def system_s(self) -> float | None:
        """Fault to the first sample that showed the symptom."""
        return self.timing.symptom_s if self.timing else None

    @property
    def evaluation_s(self) -> float | None:
        """Symptom to the rule going pending (Prometheus' activeAt)."""
        t = self.timing
        return self._part(t.symptom_s, t.pending_s) if t else None

    @property
    def for_s(self) -> float | None:
        """Pending to firing: the rule's ``for`` (and the evaluation that ends it)."""
        t = self.timing
        return self._part(t.pending_s, t.firing_s) if t else None

    @property
    def group_wait_s(self) -> float | None:
        t = self.timing
        return self._part(t.firing_s, t.notify_s) if t else None

    @property
    def notify_s(self) -> float | None:
        return self.timing.notify_s if self.timing else None

    @property
    def production(self) -> tuple[float, float] | None:
        t = self.timing
        if t is None or t.production_least_s is None or t.production_most_s is None:
            return None
        return t.production_least_s, t.production_most_s

    @property
    def config_range(self) -> tuple[float, float] | None:
        t = self.timing
        if t is None or t.config_least_s is None or t.config_most_s is None:
            return None
        return t.config_least_s, t.config_most_s


@dataclass(frozen=True)
class DrillView:
    """Everything the templates show about one scenario, ready to print."""

    drill: Drill
    anchor: str
    postmortem_file: str
    metric_ok: Mapping[str, bool | None]  # mttd, mttr, p95, errors, availability, data
    mttd_budget_s: float | None
    mttd_objective_s: float | None  # the playbook's MTTD, when the project names it
    mttd_rows: tuple[MttdRow, ...]
    production_mttd: tuple[float, float] | None  # the slowest alert's projected notification
    failed_scopes: tuple[str, ...]  # "KPIs", "regression budgets"
    kpi_checks: tuple[CheckRecord, ...]  # the playbook's objectives
    budget_checks: tuple[CheckRecord, ...]  # the scenario's regression budgets and findings
    timeline: tuple[TimelineRow, ...]
    notes: tuple[TimelineRow, ...]
    steady_back_at: datetime | None
    failed_requests: int | None
    severity: str | None
    latency_chart: Markup
    error_chart: Markup
    alert_chart: Markup
    mttd_chart: Markup
    production_chart: Markup

    @property
    def affected_services(self) -> list[str]:
        """What the faults hit: their events' subjects, else the faults as described."""
        hit = [e.subject for e in self.drill.events if e.kind == EventKind.FAULT_INJECTED.value]
        return list(dict.fromkeys(s for s in hit if s)) or list(self.drill.faults)

    @property
    def fired_alerts(self) -> list[str]:
        return sorted({a.name for a in self.drill.alerts if a.firing_at is not None})

    @property
    def clock_checks(self) -> list[Check]:
        """The communication and escalation clocks, as graded (or not applicable)."""
        return [c for c in self.drill.checks if c.kind == "clock"]


def render_run(
    run_dir: Path,
    *,
    scenarios_dir: Path | None = None,
    history_db: Path | None = None,
    run: Run | None = None,
    history: History | None = None,
    outline: PlaybookOutline | None = None,
) -> list[Path]:
    """Write ``index.html`` and ``postmortem-<scenario>.md`` files into ``run_dir``.

    The coverage table reads the scenario files in ``scenarios_dir`` (default:
    ``scenarios/`` next to the reports directory, if there is one; else the run's own
    scenarios) and the last results in ``history`` (default: read from ``history_db``,
    itself by default ``history.sqlite`` in the reports directory), this run's results
    taking precedence. ``run`` is the run's journal if the caller has read it already.
    Returns the written paths, the page first. Raises :class:`ReportError` if the journal
    is missing or invalid, or a file cannot be written.
    """
    journal = run_dir / JOURNAL_FILE
    run = run or read_journal(journal)
    views = [drill_view(run, d) for d in run.drills]
    _refuse_shared_files(views, journal)
    if history is None:
        history = load_history(history_db or run_dir.parent / DEFAULT_HISTORY)
    coverage, procedures = run_coverage(
        run, scenarios_dir or _default_scenarios(run_dir.parent), history, outline
    )
    written = []
    page = run_dir / "index.html"
    html = (
        environment()
        .get_template("index.html.j2")
        .render(
            run=run,
            views=views,
            coverage=coverage,
            procedures=procedures,
            failed=[v for v in views if not v.drill.passed],
            generated_at=datetime.now(UTC),
        )
    )
    write_atomically(page, html)
    written.append(page)
    template = markdown_environment().get_template("postmortem.md.j2")
    for view in views:
        path = run_dir / view.postmortem_file
        write_atomically(path, template.render(run=run, view=view, **_postmortem_facts(view)))
        written.append(path)
    return written


def _refuse_shared_files(views: Sequence[DrillView], journal: Path) -> None:
    """Two names with one file name ("db" and "DB") would overwrite one post-mortem."""
    first: dict[str, str] = {}
    for view in views:
        other = first.setdefault(view.postmortem_file, view.drill.name)
        if other != view.drill.name:
            raise ReportError(
                f"{journal}: scenarios {other!r} and {view.drill.name!r} would share the "
                f"post-mortem {view.postmortem_file}: two scenarios have the same name "
                "but for case or punctuation"
            )


def run_coverage(
    run: Run,
    scenarios_dir: Path | None,
    history: History,
    outline: PlaybookOutline | None = None,
) -> tuple[list[CoverageRow], list[ProcedureRow]]:
    """The run page's coverage: the alert and drill rows, and the procedure rows."""
    latest = history.latest_by_scenario()
    this_run = {r.scenario: r for r in drill_records(run)}
    latest.update(this_run)
    if scenarios_dir is not None:
        exercises = exercises_in(scenarios_dir)
    else:
        exercises = [
            CoverageExercise(
                d.name,
                tuple(dict.fromkeys([*d.playbook.alerts, *d.alert_mttd_s])),
                d.playbook.drill,
                d.playbook.section,
                tuple(d.playbook.procedures),
            )
            for d in run.drills
        ]
    return (
        coverage_rows(exercises, latest, outline),
        procedure_rows(exercises, latest, outline),
    )


def _default_scenarios(reports_dir: Path) -> Path | None:
    candidate = reports_dir.resolve().parent / "scenarios"
    return candidate if candidate.is_dir() else None


# -- one drill ------------------------------------------------------------------------------


def drill_view(run: Run, drill: Drill) -> DrillView:
    """Compute what the report shows about ``drill``."""
    slug = re.sub(r"[^a-z0-9-]+", "-", drill.name.lower()).strip("-") or "scenario"
    steady = drill.first_event(EventKind.STEADY_STATE_BACK.value)
    timeline = _timeline(drill)
    markers = _markers(drill, steady)
    x_range = _x_range(drill)
    mttd_rows = tuple(
        MttdRow(alert, mttd, drill.timing(alert), _check_ok(drill, f"mttd:{alert}"))
        for alert, mttd in drill.alert_mttd_s.items()
    )
    budget = _mttd_budget(drill)
    kpi_mttd = drill.check("kpi:mttd")
    objective = kpi_mttd.limit if kpi_mttd is not None else None
    bars = [
        charts.MttdBar(
            r.alert,
            r.system_s,
            r.timing.pending_s if r.timing else None,
            r.timing.firing_s if r.timing else r.mttd_s,
            r.notify_s,
            *(r.production or (None, None)),
        )
        for r in mttd_rows
    ]
    return DrillView(
        drill=drill,
        anchor=f"scenario-{slug}",
        postmortem_file=f"postmortem-{slug}.md",
        metric_ok=_metric_ok(drill),
        mttd_budget_s=budget,
        mttd_objective_s=objective,
        mttd_rows=mttd_rows,
        production_mttd=_slowest_production(mttd_rows),
        failed_scopes=failed_scopes(drill.checks),
        kpi_checks=tuple(c for c in drill.checks if c.scope == "kpi"),
        budget_checks=tuple(c for c in drill.checks if c.scope != "kpi"),
        timeline=timeline,
        notes=tuple(r for r in timeline if r.kind in PEOPLE_KINDS),
        steady_back_at=steady.at if steady else None,
        failed_requests=_failed_requests(drill),
        severity=_severity(drill),
        latency_chart=_latency_chart(drill, markers, x_range),
        error_chart=_error_chart(drill, markers, x_range),
        alert_chart=_alert_chart(drill, markers, x_range),
        mttd_chart=charts.mttd_bars(bars, budget_s=budget),
        production_chart=charts.production_bars(bars, objective_s=objective),
    )


def _offset(at: datetime, origin: datetime) -> str:
    seconds = (at - origin).total_seconds()
    if abs(seconds) < 0.05:
        return "T0"
    return f"T{'+' if seconds > 0 else charts.MINUS}{format_seconds(abs(seconds))}"


def _category(kind: str) -> str:
    if kind.startswith("fault"):
        return "fault"
    if kind.startswith("alert") or kind == EventKind.FIRST_FAILED_REQUEST.value:
        return "alert"
    if kind.startswith("recovery") or kind == EventKind.MITIGATED.value:
        return "recovery"
    if kind.startswith("steady"):
        return "steady"
    if kind in PEOPLE_KINDS:
        return "people"
    return "drill"


def _row(drill: Drill, event: JournalEvent) -> TimelineRow:
    return TimelineRow(
        at=event.at,
        offset=_offset(event.at, drill.origin),
        kind=event.kind,
        label=event.kind.replace("_", " ").capitalize(),
        category=_category(event.kind),
        subject=event.subject,
        detail=event.detail,
    )


def _timeline(drill: Drill) -> tuple[TimelineRow, ...]:
    """The drill's events, plus alert changes the watch saw but did not log as events."""
    events = list(drill.events)
    logged = {(e.kind, e.subject) for e in events}
    for alert in drill.alerts:
        for kind, at in (
            (EventKind.ALERT_PENDING.value, alert.pending_at),
            (EventKind.ALERT_FIRING.value, alert.firing_at),
            (EventKind.ALERT_RESOLVED.value, alert.resolved_at),
        ):
            if at is not None and (kind, alert.name) not in logged:
                instance = alert.labels.get("instance", "")
                events.append(JournalEvent(at=at, kind=kind, subject=alert.name, detail=instance))
                logged.add((kind, alert.name))
    return tuple(_row(drill, e) for e in sorted(events, key=lambda e: e.at))


def _seconds_from(drill: Drill, at: datetime) -> float:
    return (at - drill.origin).total_seconds()


def _markers(drill: Drill, steady: JournalEvent | None) -> list[charts.Marker]:
    markers = []
    if drill.injected_at is not None:
        markers.append(charts.Marker(0.0, "fault injected", "fault"))
    for alert in drill.expected_alerts:
        fired = _first_firing(drill, alert)
        if fired is not None:
            markers.append(charts.Marker(_seconds_from(drill, fired), f"{alert} firing", "alert"))
    recovery = drill.first_event(EventKind.RECOVERY_STARTED.value) or drill.first_event(
        EventKind.RECOVERY_STEP.value
    )
    if recovery is not None:
        markers.append(charts.Marker(_seconds_from(drill, recovery.at), "recovery", "recovery"))
    if steady is not None:
        markers.append(
            charts.Marker(_seconds_from(drill, steady.at), "steady state back", "steady")
        )
    return markers


def _first_firing(drill: Drill, alert: str) -> datetime | None:
    times = [a.firing_at for a in drill.alerts if a.name == alert and a.firing_at is not None]
    times += [
        e.at for e in drill.events if e.kind == EventKind.ALERT_FIRING.value and e.subject == alert
    ]
    after = [t for t in times if drill.injected_at is None or t >= drill.injected_at]
    return min(after, default=None)


def _x_range(drill: Drill) -> tuple[float, float]:
    """The charts' time axis: the whole drill, and the last load bucket's second.

    In seconds on the drill's clock, never as datetimes: a bucket stamped 9999-12-31 is
    a valid time whose second after it is not."""
    seconds = [_seconds_from(drill, t) for t in (drill.started_at, drill.ended_at)]
    seconds += [_seconds_from(drill, p.at) for p in drill.load_series]
    if drill.load_series:
        seconds.append(_seconds_from(drill, drill.load_series[-1].at) + 1.0)
    low, high = min(seconds), max(seconds)
    return (low, high if high > low else low + 1.0)


def _latency_chart(
    drill: Drill, markers: Sequence[charts.Marker], x_range: tuple[float, float]
) -> Markup:
    points = drill.load_series
    return charts.line_chart(
        [
            charts.Series(
                "p50",
                [(_seconds_from(drill, p.at), p.p50_ms) for p in points],
                "#7b8794",
                step=True,
            ),
            charts.Series(
                "p95",
                [(_seconds_from(drill, p.at), p.p95_ms) for p in points],
                "#2471a3",
                step=True,
            ),
        ],
        markers,
        title="Request latency (per second)",
        x_range=x_range,
        unit="ms",
        threshold=drill.targets.p95_ms,
        threshold_label="p95 target",
    )


def _error_chart(
    drill: Drill, markers: Sequence[charts.Marker], x_range: tuple[float, float]
) -> Markup:
    points = [(_seconds_from(drill, p.at), p.error_rate) for p in drill.load_series]
    return charts.line_chart(
        [charts.Series("error rate", points, "#c0392b", step=True)],
        markers,
        title="Error rate (per second)",
        x_range=x_range,
        unit="",
        threshold=drill.targets.error_rate,
        threshold_label="target",
        percent=True,
    )


def _alert_chart(
    drill: Drill, markers: Sequence[charts.Marker], x_range: tuple[float, float]
) -> Markup:
    lanes = []
    for alert in drill.alerts:
        instance = alert.labels.get("instance")
        lanes.append(
            charts.AlertLane(
                label=f"{alert.name} {instance}" if instance else alert.name,
                pending_s=_seconds_from(drill, alert.pending_at) if alert.pending_at else None,
                firing_s=_seconds_from(drill, alert.firing_at) if alert.firing_at else None,
                resolved_s=_seconds_from(drill, alert.resolved_at) if alert.resolved_at else None,
                expected=alert.name not in drill.noise,
            )
        )
    return charts.alert_lanes(lanes, markers, title="Alerts", x_range=x_range)


def _check_ok(drill: Drill, check_id: str) -> bool | None:
    check = drill.check(check_id)
    return None if check is None else check.verdict


def _metric_ok(drill: Drill) -> dict[str, bool | None]:
    detection = [c.passed for c in drill.checks if c.kind == "mttd"]
    return {
        "mttd": all(detection) if detection else None,
        "mttr": _check_ok(drill, "mttr"),
        "p95": _check_ok(drill, "p95"),
        "errors": _check_ok(drill, "error_rate"),
        "availability": _check_ok(drill, "availability"),
        "data": _check_ok(drill, "data"),
    }


def _mttd_budget(drill: Drill) -> float | None:
    """The detection budget the grade used (the tighter of detection.within_s and
    targets.mttd_s), as the MTTD checks carry it; else the MTTD target."""
    budgets = [c.limit for c in drill.checks if c.kind == "mttd" and c.limit is not None]
    return budgets[0] if budgets else drill.targets.mttd_s


def _slowest_production(rows: Sequence[MttdRow]) -> tuple[float, float] | None:
    ranges = [r.production for r in rows]
    if not ranges or any(r is None for r in ranges):
        return None
    known = [r for r in ranges if r is not None]
    return max(r[0] for r in known), max(r[1] for r in known)


def _failed_requests(drill: Drill) -> int | None:
    counted = [p.errors for p in drill.load_series if p.errors is not None]
    if counted:
        return sum(counted)
    if drill.error_rate is not None and drill.requests is not None:
        return round(drill.error_rate * drill.requests)
    return None


def _severity(drill: Drill) -> str | None:
    """The highest severity label among the alerts that fired, expected ones first."""
    fired = [a for a in drill.alerts if a.firing_at is not None]
    for group in (
        [a for a in fired if a.name in drill.expected_alerts],
        fired,
    ):
        labels = {a.labels.get("severity", "").lower() for a in group}
        for level in SEVERITY_ORDER:
            if level in labels:
                return level.capitalize()
    return None


# -- the post-mortem ----------------------------------------------------------------------


def _postmortem_facts(view: DrillView) -> dict[str, object]:
    """What the post-mortem template says beyond the view: sentences made of numbers."""
    d = view.drill
    start = d.injected_at or d.started_at
    end = view.steady_back_at or d.ended_at
    lessons = []
    for row in view.mttd_rows:
        if row.mttd_s is not None and row.passed is not False:
            system = (
                ""
                if row.system_s is None
                else f"; the symptom showed in a metric after {format_seconds(row.system_s)}"
            )
            lessons.append(
                f"{row.alert} fired {format_seconds(row.mttd_s)} after the fault, within the "
                f"{format_seconds(view.mttd_budget_s)} budget{system}."
            )
        if row.production is not None:
            least, most = row.production
            lessons.append(
                f"In production {row.alert} would notify {format_seconds(least)} to "
                f"{format_seconds(most)} after the fault."
            )
    for gap in d.detection_gaps:
        lessons.append(f"Detection gap: {gap.detail}.")
    lessons += [f"Inconclusive: {why}." for why in d.inconclusive]
    lessons += [f"{c.reason}." for c in d.checks if c.applicable and not c.passed and c.reason]
    if d.noise:
        lessons.append(
            f"Alerts no one expected fired: {', '.join(d.noise)}. Either they belong to "
            "this incident (allow them in the scenario) or they are noise to fix."
        )
    lessons += [f"{n}." if not n.endswith(".") else n for n in d.notes]
    return {
        "start": start,
        "end": end,
        "duration": (end - start).total_seconds(),
        "recovered": view.steady_back_at is not None,
        "follow_ups": [c for c in d.checks if c.verdict is False],
        "lessons": lessons,
    }
