"""What the report reads: a journal (``journal.json``) turned into plain typed records.

The journal's format belongs to :mod:`gameday.journal`; this module only reads it, and is
lenient about what a drill may not have produced (no load, no alert, no injection) but
strict about what a report cannot do without. Every problem is a :class:`ReportError`
that names the file and the field.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gameday.errors import InputError

__all__ = [
    "AlertSpan",
    "Check",
    "Drill",
    "JournalEvent",
    "LoadPoint",
    "PlaybookRef",
    "ReportError",
    "Run",
    "StepRecord",
    "Targets",
    "parse_journal",
    "read_journal",
]


class ReportError(InputError):
    """A journal cannot be read or is not a journal; the message names the file and field."""


@dataclass(frozen=True)
class PlaybookRef:
    section: str
    alerts: tuple[str, ...]
    drill: str | None


@dataclass(frozen=True)
class Targets:
    mttd_s: float | None
    mtta_s: float | None
    mttr_s: float | None
    p95_ms: float | None
    error_rate: float | None
    availability: float | None
    lost_tasks: int | None


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    measured: str
    target: str
    reason: str


@dataclass(frozen=True)
class JournalEvent:
    at: datetime
    kind: str
    subject: str
    detail: str


@dataclass(frozen=True)
class AlertSpan:
    """One alert as the detection watch saw it: pending, firing, resolved (any may be None)."""

    name: str
    labels: Mapping[str, str]
    pending_at: datetime | None
    firing_at: datetime | None
    resolved_at: datetime | None


@dataclass(frozen=True)
class StepRecord:
    action: str
    target: str
    ok: bool | None
    detail: str
    started_at: datetime | None
    ended_at: datetime | None
    seconds: float | None


@dataclass(frozen=True)
class LoadPoint:
    """One bucket of the load series; values are None where the load generator gave none."""

    at: datetime
    requests: int | None
    errors: int | None
    p50_ms: float | None
    p95_ms: float | None

    @property
    def error_rate(self) -> float | None:
        if self.requests is None or self.errors is None or self.requests <= 0:
            return None
        return self.errors / self.requests


@dataclass(frozen=True)
class Drill:
    """One scenario's result in a run."""

    name: str
    title: str
    scenario_file: str | None
    playbook: PlaybookRef
    passed: bool
    reasons: tuple[str, ...]
    mttd_s: float | None
    mttr_s: float | None
    alert_mttd_s: Mapping[str, float | None]
    mttd_floor_s: Mapping[str, float | None]
    p95_ms: float | None
    error_rate: float | None
    availability: float | None
    lost_tasks: int | None
    noise: tuple[str, ...]
    requests: int | None
    acknowledged_tasks: int | None
    targets: Targets
    checks: tuple[Check, ...]
    faults: tuple[str, ...]
    started_at: datetime
    injected_at: datetime | None
    ended_at: datetime
    events: tuple[JournalEvent, ...]
    alerts: tuple[AlertSpan, ...]
    recovery_steps: tuple[StepRecord, ...]
    load_series: tuple[LoadPoint, ...]
    notes: tuple[str, ...]

    @property
    def expected_alerts(self) -> tuple[str, ...]:
        return tuple(self.alert_mttd_s)

    @property
    def origin(self) -> datetime:
        """T+0 of the drill's clock: the injection, or the start if nothing was injected."""
        return self.injected_at or self.started_at

    def first_event(self, kind: str) -> JournalEvent | None:
        return next((e for e in self.events if e.kind == kind), None)


@dataclass(frozen=True)
class Run:
    run_id: str
    passed: bool
    responder: str
    started_at: datetime
    ended_at: datetime
    gameday_version: str
    timings_s: Mapping[str, float]
    drills: tuple[Drill, ...]


def read_journal(path: Path) -> Run:
    """Read and check ``journal.json``; raise :class:`ReportError` naming what is wrong."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ReportError(f"{path}: no journal here (was the run interrupted?)") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportError(f"{path}: cannot read the journal ({exc})") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReportError(
            f"{path}:{exc.lineno}: not valid JSON ({exc.msg} at column {exc.colno})"
        ) from exc
    return parse_journal(data, str(path))


def parse_journal(data: object, source: str = "journal") -> Run:
    """Check a journal already loaded from JSON; ``source`` names it in errors."""
    top = _Fields(data, source, "")
    scenarios = top.array("scenarios", required=True)
    return Run(
        run_id=top.text("run_id", required=True),
        passed=top.flag("passed") or False,
        responder=top.text("responder") or "auto",
        started_at=top.time("started_at", required=True),
        ended_at=top.time("ended_at", required=True),
        gameday_version=top.text("gameday_version"),
        timings_s={k: v for k, v in top.numbers("timings_s").items() if v is not None},
        drills=tuple(
            _drill(_Fields(item, source, f"scenarios[{i}]")) for i, item in enumerate(scenarios)
        ),
    )


def _drill(f: _Fields) -> Drill:
    playbook = f.child("playbook")
    targets = f.child("targets")
    name = f.text("name", required=True)
    return Drill(
        name=name,
        title=f.text("title") or name,
        scenario_file=f.text("scenario_file") or None,
        playbook=PlaybookRef(
            section=playbook.text("section"),
            alerts=playbook.texts("alerts"),
            drill=playbook.text("drill") or None,
        ),
        passed=f.flag("passed", required=True) or False,
        reasons=f.texts("reasons"),
        mttd_s=f.number("mttd_s"),
        mttr_s=f.number("mttr_s"),
        alert_mttd_s=f.numbers("alert_mttd_s"),
        mttd_floor_s=f.numbers("mttd_floor_s"),
        p95_ms=f.number("p95_ms"),
        error_rate=f.number("error_rate"),
        availability=f.number("availability"),
        lost_tasks=f.integer("lost_tasks"),
        noise=f.texts("noise"),
        requests=f.integer("requests"),
        acknowledged_tasks=f.integer("acknowledged_tasks"),
        targets=Targets(
            mttd_s=targets.number("mttd_s"),
            mtta_s=targets.number("mtta_s"),
            mttr_s=targets.number("mttr_s"),
            p95_ms=targets.number("p95_ms"),
            error_rate=targets.number("error_rate"),
            availability=targets.number("availability"),
            lost_tasks=targets.integer("lost_tasks"),
        ),
        checks=tuple(
            Check(
                name=c.text("name", required=True),
                passed=c.flag("passed", required=True) or False,
                measured=c.text("measured"),
                target=c.text("target"),
                reason=c.text("reason"),
            )
            for c in f.children("checks")
        ),
        faults=f.texts("faults"),
        started_at=f.time("started_at", required=True),
        injected_at=f.optional_time("injected_at"),
        ended_at=f.time("ended_at", required=True),
        events=tuple(
            sorted(
                (
                    JournalEvent(
                        at=e.time("at", required=True),
                        kind=e.text("kind", required=True),
                        subject=e.text("subject"),
                        detail=e.text("detail"),
                    )
                    for e in f.children("events")
                ),
                key=lambda e: e.at,
            )
        ),
        alerts=tuple(
            AlertSpan(
                name=a.text("name", required=True),
                labels={k: str(v) for k, v in a.mapping("labels").items()},
                pending_at=a.optional_time("pending_at"),
                firing_at=a.optional_time("firing_at"),
                resolved_at=a.optional_time("resolved_at"),
            )
            for a in f.children("alerts")
        ),
        recovery_steps=tuple(
            StepRecord(
                action=s.text("action"),
                target=s.text("target"),
                ok=s.flag("ok"),
                detail=s.text("detail"),
                started_at=s.optional_time("started_at"),
                ended_at=s.optional_time("ended_at"),
                seconds=s.number("seconds"),
            )
            for s in f.children("recovery_steps")
        ),
        load_series=tuple(_load_points(f)),
        notes=f.texts("notes"),
    )


# The load series is written by the load generator, whose bucket fields may be named
# differently from one version to the next: read the first key that is there.
_TIME_KEYS = ("start", "at", "started_at", "time", "t")
_REQUEST_KEYS = ("requests", "count", "total")
_ERROR_KEYS = ("errors", "failed", "failures")


def _load_points(f: _Fields) -> list[LoadPoint]:
    points = []
    for row in f.children("load_series"):
        at = next((row.optional_time(k) for k in _TIME_KEYS if row.has(k)), None)
        if at is None:
            continue  # a bucket with no time cannot be placed on a chart
        requests = next((row.integer(k) for k in _REQUEST_KEYS if row.has(k)), None)
        errors = next((row.integer(k) for k in _ERROR_KEYS if row.has(k)), None)
        if errors is None and requests is not None and row.has("error_rate"):
            rate = row.number("error_rate")
            errors = None if rate is None else round(rate * requests)
        points.append(
            LoadPoint(
                at=at,
                requests=requests,
                errors=errors,
                p50_ms=row.number("p50_ms"),
                p95_ms=row.number("p95_ms"),
            )
        )
    return sorted(points, key=lambda p: p.at)


class _Fields:
    """Typed access to one JSON object, with errors that say which field is wrong."""

    def __init__(self, data: object, source: str, path: str) -> None:
        if not isinstance(data, dict):
            where = f"field '{path}'" if path else "the top level"
            raise ReportError(f"{source}: {where} must be an object, not {_kind(data)}")
        self._data: dict[str, Any] = data
        self._source = source
        self._path = path

    def has(self, key: str) -> bool:
        return self._data.get(key) is not None

    def _name(self, key: str) -> str:
        return f"{self._path}.{key}" if self._path else key

    def _fail(self, key: str, expected: str, value: object) -> ReportError:
        return ReportError(
            f"{self._source}: field '{self._name(key)}' must be {expected}, not {_kind(value)}"
        )

    def _get(self, key: str, required: bool) -> Any:
        value = self._data.get(key)
        if value is None and required:
            raise ReportError(f"{self._source}: field '{self._name(key)}' is missing")
        return value

    def text(self, key: str, *, required: bool = False) -> str:
        value = self._get(key, required)
        if value is None:
            return ""
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self._fail(key, "a string", value)
        if required and not str(value).strip():
            raise ReportError(f"{self._source}: field '{self._name(key)}' is empty")
        return str(value)

    def flag(self, key: str, *, required: bool = False) -> bool | None:
        value = self._get(key, required)
        if value is not None and not isinstance(value, bool):
            raise self._fail(key, "true or false", value)
        return value

    def number(self, key: str) -> float | None:
        value = self._data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._fail(key, "a number or null", value)
        return float(value) if math.isfinite(value) else None

    def integer(self, key: str) -> int | None:
        value = self.number(key)
        return None if value is None else round(value)

    def time(self, key: str, *, required: bool = False) -> datetime:
        value = self.optional_time(key)
        if value is None:
            raise ReportError(f"{self._source}: field '{self._name(key)}' is missing")
        return value

    def optional_time(self, key: str) -> datetime | None:
        value = self._data.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self._fail(key, "an ISO 8601 time", value)
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError as exc:
            raise self._fail(key, "an ISO 8601 time", value) from exc
        # Journals are written in UTC; a time without an offset is read as UTC too.
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

    def array(self, key: str, *, required: bool = False) -> Sequence[object]:
        value = self._get(key, required)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self._fail(key, "a list", value)
        return value

    def texts(self, key: str) -> tuple[str, ...]:
        items = self.array(key)
        for i, item in enumerate(items):
            if not isinstance(item, str):
                raise self._fail(f"{key}[{i}]", "a string", item)
        return tuple(str(item) for item in items)

    def mapping(self, key: str) -> dict[str, Any]:
        value = self._data.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self._fail(key, "an object", value)
        return value

    def numbers(self, key: str) -> dict[str, float | None]:
        child = _Fields(self.mapping(key), self._source, self._name(key))
        return {k: child.number(k) for k in self.mapping(key)}

    def child(self, key: str) -> _Fields:
        return _Fields(self.mapping(key), self._source, self._name(key))

    def children(self, key: str) -> list[_Fields]:
        return [
            _Fields(item, self._source, f"{self._name(key)}[{i}]")
            for i, item in enumerate(self.array(key))
        ]


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the string {shown!r}"
    return f"a {type(value).__name__}"
