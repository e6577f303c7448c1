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

from gameday.errors import ReportError

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
    "load_json",
    "parse_journal",
    "read_journal",
]


# No measurement of a drill comes near this (1e15 s is 30 million years): a number past
# it is a corrupt or hostile journal, and would overflow a float, SQLite's INTEGER or the
# report's arithmetic further on.
MAX_NUMBER = 1e15


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
    return parse_journal(load_json(text, str(path)), str(path))


def load_json(text: str, source: str) -> object:
    """Parse a journal's text, turning every way JSON can fail into a ReportError."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReportError(
            f"{source}:{exc.lineno}: not valid JSON ({exc.msg} at column {exc.colno})"
        ) from exc
    except RecursionError as exc:
        raise ReportError(f"{source}: nested too deeply to be a journal") from exc
    except ValueError as exc:  # an integer past Python's 4300-digit limit
        raise ReportError(f"{source}: not a journal ({exc})") from exc


def parse_journal(data: object, source: str = "journal") -> Run:
    """Check a journal already loaded from JSON; ``source`` names it in errors."""
    top = _Fields(data, source, "")
    scenarios = top.array("scenarios", required=True)
    drills = tuple(
        _drill(_Fields(item, source, f"scenarios[{i}]")) for i, item in enumerate(scenarios)
    )
    _refuse_duplicates(drills, source)
    return Run(
        run_id=top.text("run_id", required=True),
        passed=top.flag("passed") or False,
        responder=top.text("responder") or "auto",
        started_at=top.time("started_at", required=True),
        ended_at=top.time("ended_at", required=True),
        gameday_version=top.text("gameday_version"),
        timings_s={k: v for k, v in top.durations("timings_s").items() if v is not None},
        drills=drills,
    )


def _refuse_duplicates(drills: Sequence[Drill], source: str) -> None:
    """A run drills each scenario once (``load_all`` refuses two of one name), and the
    history keys a drill by its run and scenario: a name twice is a broken journal."""
    first: dict[str, int] = {}
    for i, drill in enumerate(drills):
        if drill.name in first:
            raise ReportError(
                f"{source}: field 'scenarios[{i}].name': scenario {drill.name!r} is in the "
                f"journal twice (also scenarios[{first[drill.name]}]); a run drills each "
                "scenario once"
            )
        first[drill.name] = i


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
        mttd_s=f.duration("mttd_s"),
        mttr_s=f.duration("mttr_s"),
        alert_mttd_s=f.durations("alert_mttd_s"),
        mttd_floor_s=f.durations("mttd_floor_s"),
        p95_ms=f.duration("p95_ms"),
        error_rate=f.fraction("error_rate"),
        availability=f.fraction("availability"),
        lost_tasks=f.count("lost_tasks"),
        noise=f.texts("noise"),
        requests=f.count("requests"),
        acknowledged_tasks=f.count("acknowledged_tasks"),
        targets=Targets(
            mttd_s=targets.duration("mttd_s"),
            mtta_s=targets.duration("mtta_s"),
            mttr_s=targets.duration("mttr_s"),
            p95_ms=targets.duration("p95_ms"),
            error_rate=targets.fraction("error_rate"),
            availability=targets.fraction("availability"),
            lost_tasks=targets.count("lost_tasks"),
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
                labels=a.labels("labels"),
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
                seconds=s.duration("seconds"),
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
        requests = next((row.count(k) for k in _REQUEST_KEYS if row.has(k)), None)
        errors = next((row.count(k) for k in _ERROR_KEYS if row.has(k)), None)
        if errors is None and requests is not None and row.has("error_rate"):
            rate = row.fraction("error_rate")
            errors = None if rate is None else round(rate * requests)
        points.append(
            LoadPoint(
                at=at,
                requests=requests,
                errors=errors,
                p50_ms=row.duration("p50_ms"),
                p95_ms=row.duration("p95_ms"),
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
        shown = _printable(key)
        return f"{self._path}.{shown}" if self._path else shown

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
        if isinstance(value, str):
            text = self._unicode(key, value)
        elif _is_number(value) and abs(value) <= MAX_NUMBER:
            text = str(value)  # a name like 404 written without quotes
        else:
            raise self._fail(key, "a string", value)
        if required and not text.strip():
            raise ReportError(f"{self._source}: field '{self._name(key)}' is empty")
        return text

    def _unicode(self, key: str, value: str) -> str:
        """``value`` if it is text that can be written out (JSON's ``\\ud800`` escapes can
        make a lone surrogate, which no UTF-8 file or SQLite column can hold)."""
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ReportError(
                f"{self._source}: field '{self._name(key)}' must be valid Unicode text "
                f"(it holds the lone surrogate {value[exc.start]!r})"
            ) from exc
        return value

    def flag(self, key: str, *, required: bool = False) -> bool | None:
        value = self._get(key, required)
        if value is not None and not isinstance(value, bool):
            raise self._fail(key, "true or false", value)
        return value

    def number(self, key: str) -> float | None:
        """Any number of at most :data:`MAX_NUMBER` either way; None for null, and for NaN
        and Infinity (not JSON, but Python's json reads them)."""
        value = self._data.get(key)
        if value is None:
            return None
        if not _is_number(value):
            raise self._fail(key, "a number or null", value)
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if abs(value) > MAX_NUMBER:  # exact for ints of any size: no float conversion
            raise self._fail(key, "a number of at most 1e15", value)
        return float(value)

    def duration(self, key: str) -> float | None:
        """Seconds or milliseconds: a number, 0 or more."""
        return self._at_least_zero(key, self.number(key), "a duration of 0 or more")

    def fraction(self, key: str) -> float | None:
        """A rate or share: a number from 0 to 1."""
        value = self.number(key)
        if value is not None and not 0.0 <= value <= 1.0:
            raise self._fail(key, "a fraction from 0 to 1", self._data[key])
        return value

    def count(self, key: str) -> int | None:
        """How many of something: a whole number (rounded), 0 or more."""
        value = self._at_least_zero(key, self.number(key), "a count of 0 or more")
        return None if value is None else round(value)

    def _at_least_zero(self, key: str, value: float | None, expected: str) -> float | None:
        if value is not None and value < 0:
            raise self._fail(key, expected, self._data[key])
        return value

    def time(self, key: str, *, required: bool = False) -> datetime:
        value = self.optional_time(key)
        if value is None:
            raise ReportError(f"{self._source}: field '{self._name(key)}' is missing")
        return value

    def optional_time(self, key: str) -> datetime | None:
        """An ISO 8601 time, in UTC. Journals are written in UTC, and a time without an
        offset is read as UTC too; one that is not a UTC time of years 1 to 9999 is
        refused here rather than overflowing where the report converts it."""
        value = self._data.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self._fail(key, "an ISO 8601 time", value)
        try:
            parsed = datetime.fromisoformat(value)
            return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        except (ValueError, OverflowError) as exc:
            raise self._fail(key, "an ISO 8601 time", value) from exc

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
        for name in value:
            self._unicode(f"{key}.{name}", name)
        return value

    def durations(self, key: str) -> dict[str, float | None]:
        """An object of durations by name (an alert's MTTD, a phase's time)."""
        child = self.child(key)
        return {k: child.duration(k) for k in self.mapping(key)}

    def labels(self, key: str) -> dict[str, str]:
        """An object of text by name (an alert's Prometheus labels)."""
        child = self.child(key)
        return {k: child.text(k) for k in self.mapping(key)}

    def child(self, key: str) -> _Fields:
        return _Fields(self.mapping(key), self._source, self._name(key))

    def children(self, key: str) -> list[_Fields]:
        return [
            _Fields(item, self._source, f"{self._name(key)}[{i}]")
            for i, item in enumerate(self.array(key))
        ]


def _printable(key: str) -> str:
    """A key of the journal as an error message shows it: on one line, every character
    that would not print (a newline, a lone surrogate) escaped, and not too long."""
    shown = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in key)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _kind(value: object) -> str:
    """A value as an error message shows it: short, whatever its size."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the string {shown!r}"
    if isinstance(value, int) and abs(value) >= 10**18:
        # str() of a huge int is slow, and refused past 4300 digits: say its size.
        return f"a number of about {round(math.log10(abs(value)))} digits"
    if _is_number(value):
        return f"the number {value!r}"
    return f"a {type(value).__name__}"
