"""Journals for the report's tests, in exactly the shape ``gameday.stages.journal`` writes.

``drill_json`` and ``journal_json`` build a realistic database-outage drill from a few
numbers (when the alert fired, when the steady state came back) with every timestamp
consistent with them. ``real_journal`` builds one through the real ``Journal`` and
``DrillResult``, and a test checks both have the same keys, so that the builder cannot
drift from the format. ``as_version_1`` turns a journal back into the first format (before
``schema_version``), which gameday still reads.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gameday.inputs.scenario import Scenario, load_scenario
from gameday.record import (
    AlertSpan,
    AlertTiming,
    DetectionGap,
    ErrorBudget,
    HostRecord,
    LoadPoint,
    StepRecord,
)
from gameday.stages.grading import Measurements, grade
from gameday.stages.journal import DrillResult, Journal
from gameday.timeline import Event, EventKind

REPO = Path(__file__).parents[3]
DATABASE_OUTAGE = REPO / "scenarios" / "database-outage.yml"
T0 = datetime(2025, 3, 14, 10, 0, 0, tzinfo=UTC)
XSS = "<script>alert(1)</script>"

# The ``write_run`` fixture: writes a journal into the reports directory, returns the run's.
WriteRun = Callable[[dict[str, Any]], Path]


def _at(start: datetime, seconds: float) -> str:
    return (start + timedelta(seconds=seconds)).isoformat()


def _check(
    check_id: str,
    label: str,
    passed: bool,
    measured: str,
    target: str,
    reason: str = "",
    *,
    subject: str = "",
    limit: float | None = None,
    scope: str = "budget",
) -> dict[str, Any]:
    return {
        "id": check_id,
        "label": label,
        "passed": passed,
        "measured": measured,
        "target": target,
        "reason": reason,
        "subject": subject,
        "limit": limit,
        "scope": scope,
        "applicable": True,
    }


def drill_json(
    name: str = "database-outage",
    *,
    start: datetime = T0,
    title: str = "Database outage",
    alert: str = "DatabaseDown",
    drill: str | None = "Database outage simulation",
    procedures: tuple[str, ...] = (),
    mttd_s: float | None = 3.6,
    mttr_s: float | None = 13.0,
    floor_s: float = 3.0,
    mttd_budget_s: float = 15.0,
    mttr_budget_s: float = 45.0,
    p95_ms: float = 340.0,
    notes: tuple[str, ...] = (),
    responder_notes: tuple[str, ...] = (),
    noise: tuple[str, ...] = (),
    lost_writes: int = 0,
    load_keys: tuple[str, ...] = ("start", "requests", "errors", "p50_ms", "p95_ms"),
) -> dict[str, Any]:
    """One drill: warm-up 8 s, fault at +8 s, the alert after ``mttd_s``, one recovery
    step, the steady state back after ``mttr_s`` (or never), the drill over 4 s later."""
    inject = 8.0
    end = inject + (mttr_s if mttr_s is not None else 40.0) + 4.0
    events: list[dict[str, str]] = [
        {"at": _at(start, 0), "kind": "drill_started", "subject": "", "detail": title},
        {"at": _at(start, 6.5), "kind": "steady_state_verified", "subject": "", "detail": ""},
        {
            "at": _at(start, inject),
            "kind": "fault_injected",
            "subject": "postgres",
            "detail": "stop postgres",
        },
        {
            "at": _at(start, inject + 0.4),
            "kind": "first_failed_request",
            "subject": "",
            "detail": "POST /tasks: 503",
        },
    ]
    alerts: list[dict[str, Any]] = []
    if mttd_s is not None:
        firing = inject + mttd_s
        events += [
            {"at": _at(start, firing - 2), "kind": "alert_pending", "subject": alert, "detail": ""},
            {"at": _at(start, firing), "kind": "alert_firing", "subject": alert, "detail": ""},
        ]
        alerts.append(
            {
                "name": alert,
                "labels": {"alertname": alert, "severity": "critical", "instance": "postgres:5432"},
                "pending_at": _at(start, firing - 2),
                "firing_at": _at(start, firing),
                "resolved_at": _at(start, inject + mttr_s - 1) if mttr_s is not None else None,
                "already_active": False,
            }
        )
    for extra in noise:
        alerts.append(
            {
                "name": extra,
                "labels": {"alertname": extra, "severity": "warning", "instance": "gateway:8080"},
                "pending_at": _at(start, inject + 1),
                "firing_at": _at(start, inject + 4),
                "resolved_at": None,
                "already_active": False,
            }
        )
    recovery = inject + (mttd_s if mttd_s is not None else 15.0) + 0.2
    events += [
        {
            "at": _at(start, recovery),
            "kind": "recovery_started",
            "subject": "",
            "detail": "automatic responder",
        },
        {
            "at": _at(start, recovery + 1.6),
            "kind": "recovery_step",
            "subject": "start_service postgres",
            "detail": "done",
        },
        {
            "at": _at(start, recovery + 1.7),
            "kind": "recovery_done",
            "subject": "",
            "detail": "1 steps",
        },
    ]
    for i, text in enumerate(responder_notes):
        events.append(
            {
                "at": _at(start, recovery + 0.5 + i * 0.1),
                "kind": "note",
                "subject": "alice",
                "detail": text,
            }
        )
    if mttr_s is not None:
        events.append(
            {
                "at": _at(start, inject + mttr_s),
                "kind": "steady_state_back",
                "subject": "",
                "detail": "",
            }
        )
    events += [
        {"at": _at(start, end - 1), "kind": "fault_reverted", "subject": "postgres", "detail": ""},
        {"at": _at(start, end), "kind": "drill_ended", "subject": "", "detail": ""},
    ]
    series = []
    for second in range(int(end)):
        broken = inject <= second < inject + (mttr_s if mttr_s is not None else 40.0) - 3
        row = {
            "start": _at(start, second),
            "requests": 20,
            "errors": 6 if broken else 0,
            "p50_ms": 180.0 if broken else 12.0,
            "p95_ms": 900.0 if broken else 35.0,
        }
        series.append({k: v for k, v in row.items() if k in load_keys})
    requests = 20 * len(series)
    errors = sum(r.get("errors", 0) for r in series)
    checks = []
    if mttd_s is None:
        checks.append(
            _check(
                f"mttd:{alert}",
                f"{alert} fired",
                False,
                "never",
                f"≤ {mttd_budget_s:.0f} s",
                f"{alert} never fired",
                subject=alert,
                limit=mttd_budget_s,
            )
        )
    else:
        ok = mttd_s <= mttd_budget_s
        checks.append(
            _check(
                f"mttd:{alert}",
                f"MTTD {alert}",
                ok,
                f"{mttd_s:.1f} s",
                f"≤ {mttd_budget_s:.0f} s",
                ""
                if ok
                else f"{alert} fired after {mttd_s:.0f} s, over the {mttd_budget_s:.0f} s budget",
                subject=alert,
                limit=mttd_budget_s,
            )
        )
    if mttr_s is None:
        checks.append(
            _check(
                "mttr",
                "MTTR",
                False,
                "never",
                f"≤ {mttr_budget_s:.0f} s",
                "steady state never came back (backend-1 unhealthy)",
                limit=mttr_budget_s,
            )
        )
    else:
        ok = mttr_s <= mttr_budget_s
        checks.append(
            _check(
                "mttr",
                "MTTR",
                ok,
                f"{mttr_s:.0f} s",
                f"≤ {mttr_budget_s:.0f} s",
                "" if ok else f"MTTR {mttr_s:.0f} s over the {mttr_budget_s:.0f} s budget",
                limit=mttr_budget_s,
            )
        )
    checks += [
        _check("p95", "p95 latency", True, f"{p95_ms:.0f} ms", "≤ 2500 ms", limit=2500.0),
        _check("error_rate", "error rate", True, f"{errors / requests:.1%}", "≤ 50.0%", limit=0.5),
        _check(
            "data",
            "acknowledged writes kept",
            lost_writes == 0,
            f"{lost_writes} lost",
            "≤ 0 lost",
            "" if lost_writes == 0 else f"{lost_writes} acknowledged writes lost",
            limit=0,
        ),
        _check("noise", "unexpected alerts", True, ", ".join(noise) or "none", "reported"),
    ]
    reasons = [c["reason"] for c in checks if not c["passed"]]
    return {
        "name": name,
        "title": title,
        "scenario_file": f"scenarios/{name}.yml",
        "playbook": {
            "section": "Database Outages",
            "alerts": [alert],
            "drill": drill,
            "procedures": list(procedures),
        },
        "passed": not reasons,
        "reasons": reasons,
        "mttd_s": mttd_s,
        "mttr_s": mttr_s,
        "mtta_s": None,
        "alert_mttd_s": {alert: mttd_s},
        "detection": [
            {
                "alert": alert,
                "symptom_s": None if mttd_s is None else round(mttd_s * 0.3, 2),
                "pending_s": None if mttd_s is None else round(mttd_s * 0.5, 2),
                "firing_s": mttd_s,
                "notify_s": None if mttd_s is None else mttd_s + 1.0,
                "drill": {
                    "scrape": 1.0,
                    "evaluation": 1.0,
                    "for": floor_s - 3.0,
                    "group_wait": 1.0,
                },
                "config_least_s": floor_s - 2.0,
                "config_most_s": floor_s,
                "production": {"scrape": 15.0, "evaluation": 15.0, "for": 60.0, "group_wait": 30.0},
                "production_least_s": None if mttd_s is None else 90.0,
                "production_most_s": None if mttd_s is None else round(mttd_s * 0.3 + 120, 2),
            }
        ],
        "production_mttr_s": None if mttr_s is None else [mttr_s + 80.0, mttr_s + 120.0],
        "error_budget": {
            "objective": 0.999,
            "window_s": 2592000.0,
            "budget_s": 2592.0,
            "burned_s": 6.0,
            "projected_least_s": 40.0,
            "projected_most_s": 60.0,
        },
        "detection_gaps": [],
        "host": {
            "cpus": 2,
            "cpu_pressure": 0.05,
            "cpu_busy": 0.3,
            "load_lag_max_s": 0.01,
            "requests_not_sent": 0,
            "requests_scheduled": requests,
        },
        "verdict": "passed" if not reasons else "failed",
        "inconclusive": [],
        "p95_ms": p95_ms,
        "error_rate": round(errors / requests, 4),
        "availability": round(1 - errors / requests, 4),
        "lost_writes": lost_writes,
        "rpo_s": 0.0,
        "lost_writes_span_s": None,
        "noise": list(noise),
        "requests": requests,
        "acknowledged_writes": 140,
        # What users got while the database was down, then back.
        "answers": [
            {"request": "create-task", "answer": "HTTP 503", "count": 40, "failed": True},
            {"request": "create-task", "answer": "HTTP 201", "count": 30, "failed": False},
            {"request": "read-task", "answer": "HTTP 200", "count": 90, "failed": False},
        ],
        "targets": {
            "mttd_s": mttd_budget_s,
            "mtta_s": 600.0,
            "mttr_s": mttr_budget_s,
            "p95_ms": 2500.0,
            "error_rate": 0.5,
            "availability": None,
            "lost_writes": 0,
            "rto_s": None,
            "rpo_s": None,
        },
        "checks": checks,
        "faults": ["stop postgres"],
        "started_at": start.isoformat(),
        "injected_at": _at(start, inject),
        "ended_at": _at(start, end),
        "events": events,
        "alerts": alerts,
        "recovery_steps": [
            {
                "action": "start_service",
                "target": "postgres",
                "ok": True,
                "detail": "",
                "started_at": _at(start, recovery),
                "ended_at": _at(start, recovery + 1.6),
            }
        ],
        "load_series": series,
        "notes": list(notes),
    }


def journal_json(
    run_id: str = "20250314-100000-ab12",
    *drills: dict[str, Any],
    start: datetime = T0,
    responder: str = "auto",
) -> dict[str, Any]:
    scenarios = list(drills) or [drill_json(start=start)]
    end = max(datetime.fromisoformat(d["ended_at"]) for d in scenarios) + timedelta(seconds=5)
    return {
        "schema_version": 3,
        "gameday_version": "0.1.0",
        "project": "labelmint",
        "run_id": run_id,
        "passed": all(d["passed"] for d in scenarios),
        "responder": responder,
        "verdict": "passed" if all(d["passed"] for d in scenarios) else "failed",
        "started_at": start.isoformat(),
        "ended_at": end.isoformat(),
        "timings_s": {"bring_up": 41.27, "teardown": 6.1},
        "scenarios": scenarios,
    }


def database_outage() -> Scenario:
    return load_scenario(DATABASE_OUTAGE)


def real_journal(run_id: str = "real-run", *, note: str = "") -> dict[str, Any]:
    """A journal made by the real ``Journal`` and ``DrillResult``, as ``gameday run``
    writes it."""
    journal = Journal(
        run_id=run_id,
        started_at=T0,
        ended_at=T0 + timedelta(seconds=60),
        results=(real_result(note=note),),
        timings_s={"bring_up": 30.0},
        project="labelmint",
    )
    return journal.to_json()


def real_result(*, note: str = "") -> DrillResult:
    """A database-outage drill's result, as the engine makes one."""
    scenario = database_outage()
    injected = T0 + timedelta(seconds=8)
    measurements = Measurements(
        alert_mttd_s={"DatabaseDown": 4.2},
        mttr_s=19.5,
        p95_ms=410.0,
        error_rate=0.031,
        availability=0.969,
        lost_writes=0,
        noise=("HighResponseTime",),
        timings=(
            AlertTiming(
                alert="DatabaseDown",
                symptom_s=1.1,
                pending_s=2.0,
                firing_s=4.2,
                notify_s=5.2,
                drill={"scrape": 1.0, "evaluation": 1.0, "for": 2.0, "group_wait": 1.0},
                config_least_s=3.0,
                config_most_s=5.0,
                production={"scrape": 15.0, "evaluation": 15.0, "for": 60.0, "group_wait": 30.0},
                production_least_s=90.1,
                production_most_s=121.1,
            ),
        ),
        production_mttr_s=(105.4, 136.4),
        error_budget=ErrorBudget(
            objective=0.999,
            window_s=2592000.0,
            budget_s=2592.0,
            burned_s=12.0,
            projected_least_s=64.9,
            projected_most_s=84.0,
        ),
        gaps=(DetectionGap(start_s=0.0, end_s=3.0, error_rate=0.4, p95_ms=30.0, detail="x"),),
        host=HostRecord(
            cpus=2,
            cpu_pressure=0.05,
            cpu_busy=0.3,
            load_lag_max_s=0.01,
            requests_not_sent=0,
            requests_scheduled=600,
        ),
    )
    events = (
        Event(T0, EventKind.DRILL_STARTED, scenario.title),
        Event(injected, EventKind.FAULT_INJECTED, "stop postgres", "postgres"),
        Event(injected + timedelta(seconds=4.2), EventKind.ALERT_FIRING, "", "DatabaseDown"),
        Event(injected + timedelta(seconds=5), EventKind.NOTE, note, "bob"),
        Event(
            injected + timedelta(seconds=6),
            EventKind.RECOVERY_STEP,
            "done",
            "start_service postgres",
        ),
        Event(injected + timedelta(seconds=19.5), EventKind.STEADY_STATE_BACK),
        Event(injected + timedelta(seconds=22), EventKind.DRILL_ENDED),
    )
    result = DrillResult(
        scenario=scenario,
        started_at=T0,
        ended_at=injected + timedelta(seconds=22),
        injected_at=injected,
        events=events,
        measurements=measurements,
        grade=grade(scenario, measurements),
        faults=("stop postgres",),
        alerts=(
            AlertSpan(
                name="DatabaseDown",
                labels={"severity": "critical"},
                pending_at=injected + timedelta(seconds=2),
                firing_at=injected + timedelta(seconds=4.2),
            ),
        ),
        steps=(
            StepRecord(
                action="start_service",
                target="postgres",
                ok=True,
                started_at=injected + timedelta(seconds=4.4),
                ended_at=injected + timedelta(seconds=6),
            ),
        ),
        load_series=tuple(
            LoadPoint(
                start=T0 + timedelta(seconds=s),
                requests=20,
                errors=2 if 8 <= s < 20 else 0,
                p50_ms=15.0,
                p95_ms=60.0,
            )
            for s in range(30)
        ),
        requests=600,
        acknowledged=120,
        notes=(),
    )
    return result


# The labels the first format gave checks that have another one now.
_V1_LABELS = {"acknowledged writes kept": "acknowledged tasks kept"}


def as_version_1(journal: dict[str, Any]) -> dict[str, Any]:
    """``journal`` as the first format wrote it: no schema_version, "tasks" for writes,
    checks named by their labels, a step's seconds written out."""
    old = {k: v for k, v in journal.items() if k not in ("schema_version", "project", "verdict")}
    drills = []
    for drill in journal["scenarios"]:
        d = dict(drill)
        d["lost_tasks"] = d.pop("lost_writes")
        d["acknowledged_tasks"] = d.pop("acknowledged_writes")
        d["targets"] = dict(d["targets"])
        d["targets"]["lost_tasks"] = d["targets"].pop("lost_writes")
        d["checks"] = [
            {
                "name": _V1_LABELS.get(c["label"], c["label"]),
                **{k: c[k] for k in ("passed", "measured", "target", "reason")},
            }
            for c in d["checks"]
            if c["id"] != "silent" and not c["id"].startswith("kpi:")  # none in version 1
        ]
        for later in (
            "detection",
            "production_mttr_s",
            "error_budget",
            "detection_gaps",
            "host",
            "verdict",
            "inconclusive",
        ):
            d.pop(later, None)
        drills.append(d)
    old["scenarios"] = drills
    return old
