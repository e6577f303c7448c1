"""The journal: the complete, machine-readable record of a game day.

One :class:`DrillResult` per scenario and one :class:`Journal` per run: the engine's
results. Each becomes its record (:mod:`gameday.record`), written as
``reports/<run-id>/journal.json`` with ``reports/latest`` pointing at the newest run. The
report (HTML, post-mortems) and the history are made from that file alone.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from gameday import __version__
from gameday.inputs.scenario import Scenario
from gameday.record import (
    JOURNAL_FILE,
    AlertSpan,
    AnswerCount,
    DrillRecord,
    EventRecord,
    LoadPoint,
    PlaybookRef,
    RunRecord,
    StepRecord,
    TargetsRecord,
)
from gameday.stages.grading import Grade, Measurements
from gameday.timeline import Event

__all__ = ["DrillResult", "Journal", "new_run_id", "write_journal"]


def new_run_id() -> str:
    """A run id that sorts by time and is unique enough for concurrent runs."""
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)


@dataclass(frozen=True)
class DrillResult:
    """Everything one drill measured and how it was graded: the engine's view, with the
    scenario itself; ``record`` is what the journal keeps of it."""

    scenario: Scenario
    started_at: datetime
    ended_at: datetime
    injected_at: datetime | None
    events: tuple[Event, ...]
    measurements: Measurements
    grade: Grade
    faults: tuple[str, ...] = ()
    alerts: tuple[AlertSpan, ...] = ()
    steps: tuple[StepRecord, ...] = ()
    load_series: tuple[LoadPoint, ...] = ()
    requests: int = 0
    acknowledged: int = 0
    answers: tuple[AnswerCount, ...] = ()  # what users got from the fault to recovery
    notes: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return self.grade.passed

    @property
    def verdict(self) -> str:
        return self.grade.verdict

    def record(self) -> DrillRecord:
        m, targets = self.measurements, self.scenario.targets
        source = self.scenario.source
        return DrillRecord(
            name=self.scenario.name,
            title=self.scenario.title,
            scenario_file=str(source) if source else None,
            playbook=PlaybookRef(**self.scenario.playbook.model_dump()),
            passed=self.passed,
            verdict=self.verdict,
            reasons=tuple(self.grade.reasons),
            inconclusive=self.grade.inconclusive,
            mttd_s=_round(m.mttd_s),
            mttr_s=_round(m.mttr_s),
            mtta_s=_round(m.mtta_s),
            alert_mttd_s={k: _round(v) for k, v in m.alert_mttd_s.items()},
            detection=m.timings,
            production_mttr_s=m.production_mttr_s,
            error_budget=m.error_budget,
            detection_gaps=m.gaps,
            host=m.host,
            p95_ms=_round(m.p95_ms),
            error_rate=_round(m.error_rate, 4),
            availability=_round(m.availability, 4),
            lost_writes=m.lost_writes,
            rpo_s=_round(m.rpo_s),
            lost_writes_span_s=_round(m.lost_writes_span_s),
            noise=m.noise,
            requests=self.requests,
            acknowledged_writes=self.acknowledged,
            answers=self.answers,
            targets=TargetsRecord(
                mttd_s=targets.mttd_s,
                mtta_s=targets.mtta_s,
                mttr_s=targets.mttr_s,
                p95_ms=targets.p95_ms,
                error_rate=targets.error_rate,
                availability=targets.availability,
                lost_writes=targets.lost_writes,
                rto_s=targets.rto_s,
                rpo_s=targets.rpo_s,
            ),
            checks=self.grade.checks,
            faults=self.faults,
            started_at=self.started_at,
            injected_at=self.injected_at,
            ended_at=self.ended_at,
            events=tuple(
                EventRecord(at=e.at, kind=e.kind.value, subject=e.subject, detail=e.detail)
                for e in self.events
            ),
            alerts=self.alerts,
            recovery_steps=self.steps,
            load_series=self.load_series,
            notes=self.notes,
        )


@dataclass(frozen=True)
class Journal:
    run_id: str
    started_at: datetime
    ended_at: datetime
    results: tuple[DrillResult, ...]
    timings_s: dict[str, float] = field(default_factory=dict)  # bring-up, teardown, ...
    responder: str = "auto"
    project: str = ""

    @property
    def passed(self) -> bool:
        return bool(self.results) and all(r.passed for r in self.results)

    @property
    def verdict(self) -> str:
        """ "failed" if any drill failed (or none ran), else "inconclusive" if any could
        not tell, else "passed"."""
        verdicts = {r.verdict for r in self.results}
        if not self.results or "failed" in verdicts:
            return "failed"
        return "inconclusive" if "inconclusive" in verdicts else "passed"

    def record(self) -> RunRecord:
        return RunRecord(
            gameday_version=__version__,
            project=self.project,
            run_id=self.run_id,
            passed=self.passed,
            verdict=self.verdict,
            responder=self.responder,
            started_at=self.started_at,
            ended_at=self.ended_at,
            timings_s={k: round(v, 2) for k, v in self.timings_s.items()},
            scenarios=tuple(r.record() for r in self.results),
        )

    def to_json(self) -> dict[str, Any]:
        """The journal as JSON values, exactly as ``journal.json`` holds them."""
        data: dict[str, Any] = json.loads(self.record().to_json())
        return data


def write_journal(journal: Journal, reports_dir: Path) -> Path:
    """Write ``<reports_dir>/<run id>/journal.json`` and point ``latest`` at it."""
    run_dir = reports_dir / journal.run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / JOURNAL_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(journal.record().to_json())
    tmp.replace(path)
    latest = reports_dir / "latest"
    staging = reports_dir / f".latest-{os.getpid()}"
    staging.unlink(missing_ok=True)
    staging.symlink_to(journal.run_id)
    staging.replace(latest)  # atomic: readers never see a missing `latest`
    return path


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)
