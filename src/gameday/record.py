"""The journal's one schema: the typed record of a run, from the engine to the report.

A run's ``journal.json`` is a :class:`RunRecord` written with ``model_dump_json`` and read
back with :func:`parse_record`: the same pydantic models on both sides, so that what the
engine writes is exactly what the report, the history, the pytest plugin and the Chaos
Toolkit extension read. Grading creates the :class:`CheckRecord` of each check directly.

Reading is strict about what a report cannot hold (a negative count, a number past 1e15,
a time outside years 1 to 9999, text no file can store, one scenario twice) and says which
field is wrong; it ignores fields it does not know. A journal of the first format (written
before ``schema_version`` existed) is read as version 1 and converted; a newer one than
this gameday knows is refused with its version.

It is long because it is the whole schema (every record of a run), the reader's
messages and the conversion of the first format; all three must change together.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from gameday.errors import ReportError

__all__ = [
    "JOURNAL_FILE",
    "SCHEMA_VERSION",
    "AlertSpan",
    "AlertTiming",
    "CampaignFaultRecord",
    "CampaignRecord",
    "CheckRecord",
    "DetectionGap",
    "DrillRecord",
    "ErrorBudget",
    "EventRecord",
    "HostRecord",
    "LoadPoint",
    "PlannedRecord",
    "PlaybookRef",
    "RunRecord",
    "ScheduleRecord",
    "ShrinkAttempt",
    "ShrinkRecord",
    "StepRecord",
    "TargetsRecord",
    "ViolationRecord",
    "WavePlanRecord",
    "WaveRecord",
    "failed_scopes",
    "parse_campaign",
    "parse_record",
]

# 3: detection timings, production projections, error budget, detection gaps, the host's
# load and inconclusive verdicts; checks carry a scope (KPI or regression budget). A
# version 2 journal reads as it is (it has none of them).
SCHEMA_VERSION = 3
# The file a run's record is written to, in its reports/<run-id>/ directory.
JOURNAL_FILE = "journal.json"
# No measurement of a drill comes near this (1e15 s is 30 million years): a number past
# it is a corrupt or hostile journal, and would overflow a float, SQLite's INTEGER or the
# report's arithmetic further on.
MAX_NUMBER = 1e15


# Each reader below takes a value as JSON has it and either returns what the record holds
# or raises ValueError with what was expected ("a count of 0 or more"): the message then
# reads "field 'scenarios[0].requests' must be a count of 0 or more, not the number -100".


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(value: object) -> float | None:
    """Any number of at most MAX_NUMBER either way; None for null, and for NaN and
    Infinity (not JSON, but Python's json reads them)."""
    if value is None:
        return None
    if not _is_number(value):
        raise ValueError("a number or null")
    assert isinstance(value, int | float)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if abs(value) > MAX_NUMBER:  # exact for ints of any size: no float conversion
        raise ValueError("a number of at most 1e15")
    return float(value)


def _duration(value: object) -> float | None:
    number = _number(value)
    if number is not None and number < 0:
        raise ValueError("a duration of 0 or more")
    return number


def _fraction(value: object) -> float | None:
    number = _number(value)
    if number is not None and not 0.0 <= number <= 1.0:
        raise ValueError("a fraction from 0 to 1")
    return number


def _count(value: object) -> int | None:
    number = _number(value)
    if number is not None and number < 0:
        raise ValueError("a count of 0 or more")
    return None if number is None else round(number)


def _text(value: object) -> str:
    """Text that every UTF-8 file and SQLite column can hold; a number written without
    quotes (a name like 404) is read as its text."""
    if value is None:
        return ""
    if _is_number(value) and abs(value) <= MAX_NUMBER:  # type: ignore[arg-type]
        return str(value)
    if not isinstance(value, str):
        raise ValueError("a string")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        # JSON's \ud800 escapes can make a lone surrogate, which no file can hold.
        raise ValueError(
            f"valid Unicode text (it holds the lone surrogate {value[exc.start]!r})"
        ) from None
    return value


def _name(value: object) -> str:
    if value is None:
        raise PydanticCustomError("missing", "is missing")
    text = _text(value)
    if not text.strip():
        raise ValueError("a name that is not empty")
    return text


def _optional_time(value: object) -> datetime | None:
    """An ISO 8601 time, in UTC (journals are written in UTC, and a time without an offset
    is read as UTC too); one that is not a UTC time of years 1 to 9999 is refused here
    rather than overflowing where the report converts it."""
    if value is None:
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError("an ISO 8601 time") from None
    else:
        raise ValueError("an ISO 8601 time")
    try:
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        raise ValueError("an ISO 8601 time of years 1 to 9999 in UTC") from None


def _time(value: object) -> datetime:
    parsed = _optional_time(value)
    if parsed is None:
        raise PydanticCustomError("missing", "is missing")
    return parsed


def _strict_text(value: object) -> str:
    """An item of a list of text (notes, reasons): a string, nothing else."""
    if not isinstance(value, str):
        raise ValueError("a string")
    return _text(value)


def _flag(value: object) -> bool | None:
    if value is not None and not isinstance(value, bool):
        raise ValueError("true or false")
    return value


Text = Annotated[str, BeforeValidator(_text)]
Item = Annotated[str, BeforeValidator(_strict_text)]
Name = Annotated[str, BeforeValidator(_name)]
Time = Annotated[datetime, BeforeValidator(_time)]
OptionalTime = Annotated[datetime | None, BeforeValidator(_optional_time)]
Seconds = Annotated[float | None, BeforeValidator(_duration)]
Duration = Annotated[float, BeforeValidator(lambda v: _duration(v) or 0.0)]
Fraction = Annotated[float | None, BeforeValidator(_fraction)]
Count = Annotated[int | None, BeforeValidator(_count)]
Flag = Annotated[bool | None, BeforeValidator(_flag)]
Passed = Annotated[bool, BeforeValidator(lambda v: False if v is None else _flag(v))]
Applicable = Annotated[bool, BeforeValidator(lambda v: True if v is None else _flag(v))]


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class PlaybookRef(_Record):
    section: Text = ""
    alerts: tuple[Item, ...] = ()
    drill: Text | None = None
    procedures: tuple[Item, ...] = ()  # the other playbook procedures the drill proves


class TargetsRecord(_Record):
    mttd_s: Seconds = None
    mtta_s: Seconds = None
    mttr_s: Seconds = None
    p95_ms: Seconds = None
    error_rate: Fraction = None
    availability: Fraction = None
    lost_writes: Count = None
    rto_s: Seconds = None  # a disaster-recovery drill's objectives
    rpo_s: Seconds = None


class CheckRecord(_Record):
    """One graded check. ``id`` names it for programs (``mttd:ApiDown``, ``mttr``);
    ``label`` is for people and may change. A check that is not ``applicable`` (a
    responder's clock in a drill without people) counts neither way: its ``passed`` is
    False, and the drill's verdict leaves it out."""

    id: Name
    label: Text = ""
    passed: Passed
    measured: Text = ""
    target: Text = ""
    reason: Text = ""
    subject: Text = ""  # the alert of a detection check
    limit: Seconds = None  # the budget it was judged against, in its own unit
    # "budget": the scenario's regression budget; "kpi": the playbook's objective, judged
    # on what it means in production; "finding": reported, never failing.
    scope: Text = "budget"
    # False: the check did not apply to this drill (a human-only clock in an automatic
    # drill); it then neither passes nor fails the drill.
    applicable: Applicable = True

    @property
    def kind(self) -> str:
        return self.id.partition(":")[0]

    @property
    def verdict(self) -> bool | None:
        """True passed, False failed, None not applicable."""
        return self.passed if self.applicable else None


# The kinds of target a failed check can belong to, in the order a summary names them.
SCOPE_NAMES = {"kpi": "KPIs", "budget": "regression budgets"}


def failed_scopes(checks: Iterable[CheckRecord]) -> tuple[str, ...]:
    """Which kinds of target failed ("KPIs", "regression budgets"), for a summary."""
    failed = {c.scope for c in checks if c.applicable and not c.passed}
    return tuple(name for scope, name in SCOPE_NAMES.items() if scope in failed)


class EventRecord(_Record):
    at: Time
    kind: Name
    subject: Text = ""
    detail: Text = ""


class AlertSpan(_Record):
    """One alert as the detection watch saw it: pending, firing, resolved (any may be None)."""

    name: Name
    labels: dict[Text, Text] = Field(default_factory=dict)
    pending_at: OptionalTime = None
    firing_at: OptionalTime = None
    resolved_at: OptionalTime = None
    already_active: bool = False  # pending or firing before the drill began


class AlertTiming(_Record):
    """How one expected alert's detection time is made up, in seconds from the fault.

    ``symptom_s``: the first sample at which the rule's expression held (the symptom in a
    metric); ``pending_s``: Prometheus' ``activeAt``; ``firing_s``: when it fired
    (Alertmanager's ``startsAt``); ``notify_s``: ``firing_s`` + ``group_wait``, when
    Alertmanager first notifies. ``drill`` and ``production`` are the monitoring settings
    (scrape, evaluation, for, group_wait); ``config_least_s``/``config_most_s`` the least
    and most the drill's settings can add to a notification; ``production_least_s`` and
    ``production_most_s`` the projected time from the fault to a notification in
    production: the system's part measured here plus production's settings.
    """

    alert: Name
    symptom_s: Seconds = None
    pending_s: Seconds = None
    firing_s: Seconds = None
    notify_s: Seconds = None
    drill: dict[Text, Duration] = Field(default_factory=dict)
    config_least_s: Seconds = None
    config_most_s: Seconds = None
    production: dict[Text, Duration] = Field(default_factory=dict)
    production_least_s: Seconds = None
    production_most_s: Seconds = None


class DetectionGap(_Record):
    """A stretch of the drill in which users' requests broke the steady state's limits
    while no alert was firing: nobody would have been paged."""

    start_s: Duration  # from the fault (negative never: gaps before it are not looked for)
    end_s: Duration
    error_rate: Fraction = None  # of the requests in the gap
    p95_ms: Seconds = None
    detail: Text = ""

    @property
    def seconds(self) -> float:
        return max(self.end_s - self.start_s, 0.0)


class ErrorBudget(_Record):
    """What the incident cost the availability objective (``budget_s`` a window)."""

    objective: Fraction = None  # 0.999
    window_s: Seconds = None  # 30 days
    budget_s: Seconds = None  # 43.2 min for 99.9% of 30 days
    burned_s: Seconds = None  # unavailable time measured in the drill
    projected_least_s: Seconds = None  # with production's MTTD and MTTR
    projected_most_s: Seconds = None


class HostRecord(_Record):
    """How busy the machine running the drill was, and whether the load kept its rate."""

    cpus: Count = None
    cpu_pressure: Fraction = None  # share of time runnable tasks waited for a CPU (PSI)
    cpu_busy: Fraction = None  # share of CPU time not idle
    io_pressure: Fraction = None  # share of time some task waited on storage (PSI)
    cpu_steal: Fraction = None  # share of CPU time the hypervisor gave to other machines
    load_lag_max_s: Seconds = None  # how far the load generator fell behind its schedule
    requests_not_sent: Count = None  # by the load generator, for being behind
    requests_scheduled: Count = None
    # The load generator's own stalls (its event loop woke late): the share of the drill,
    # the longest, and the share of the steady state whose latency the p95 KPI judges.
    client_stalled: Fraction = None
    client_stall_max_s: Seconds = None
    steady_client_stalled: Fraction = None


class StepRecord(_Record):
    action: Text
    target: Text = ""
    ok: Flag = None
    detail: Text = ""
    started_at: OptionalTime = None
    ended_at: OptionalTime = None

    @property
    def seconds(self) -> float | None:
        if self.started_at is None or self.ended_at is None:
            return None
        return (self.ended_at - self.started_at).total_seconds()


class LoadPoint(_Record):
    """One time bucket of the drill's load; latencies are of successful requests only."""

    start: Time
    requests: Count = None
    errors: Count = None
    p50_ms: Seconds = None
    p95_ms: Seconds = None

    @property
    def at(self) -> datetime:
        return self.start

    @property
    def error_rate(self) -> float | None:
        if self.requests is None or self.errors is None or self.requests <= 0:
            return None
        return self.errors / self.requests


class AnswerCount(_Record):
    """How often users got one answer to one request of the load during the incident (from
    the fault to the steady state back): what they saw, failures and successes alike."""

    request: Item  # the name of the project's request
    answer: Item  # "HTTP 202", or "no answer" (a timeout, a refused connection)
    count: Count = None
    failed: Passed = False  # whether the load counted these a failure
    p95_ms: Seconds = None  # how long users waited for it


class DrillRecord(_Record):
    """One scenario's result in a run."""

    name: Name
    title: Text = ""
    scenario_file: Text | None = None
    playbook: PlaybookRef = Field(default_factory=PlaybookRef)
    passed: Passed
    reasons: tuple[Item, ...] = ()
    mttd_s: Seconds = None
    mttr_s: Seconds = None
    mtta_s: Seconds = None
    alert_mttd_s: dict[Text, Seconds] = Field(default_factory=dict)
    detection: tuple[AlertTiming, ...] = ()
    # MTTR projected for production (its detection in place of the drill's), least and most
    production_mttr_s: tuple[Duration, Duration] | None = None
    error_budget: ErrorBudget | None = None
    detection_gaps: tuple[DetectionGap, ...] = ()
    host: HostRecord | None = None
    # "passed", "failed" or "inconclusive" (the host, not the system, decided the result)
    verdict: Text = ""
    inconclusive: tuple[Item, ...] = ()
    p95_ms: Seconds = None
    error_rate: Fraction = None
    availability: Fraction = None
    lost_writes: Count = None
    # How far before the fault the lost acknowledged writes go back (the RPO achieved),
    # and from the first to the last of them.
    rpo_s: Seconds = None
    lost_writes_span_s: Seconds = None
    noise: tuple[Item, ...] = ()
    requests: Count = None
    acknowledged_writes: Count = None
    answers: tuple[AnswerCount, ...] = ()
    targets: TargetsRecord = Field(default_factory=TargetsRecord)
    checks: tuple[CheckRecord, ...] = ()
    faults: tuple[Item, ...] = ()
    started_at: Time
    injected_at: OptionalTime = None
    ended_at: Time
    events: tuple[EventRecord, ...] = ()
    alerts: tuple[AlertSpan, ...] = ()
    recovery_steps: tuple[StepRecord, ...] = ()
    load_series: tuple[LoadPoint, ...] = ()
    notes: tuple[Item, ...] = ()

    @field_validator("events")
    @classmethod
    def _events_in_order(cls, events: tuple[EventRecord, ...]) -> tuple[EventRecord, ...]:
        return tuple(sorted(events, key=lambda e: e.at))

    @field_validator("load_series")
    @classmethod
    def _buckets_in_order(cls, points: tuple[LoadPoint, ...]) -> tuple[LoadPoint, ...]:
        return tuple(sorted(points, key=lambda p: p.start))

    @model_validator(mode="after")
    def _title(self) -> DrillRecord:
        if not self.title:
            object.__setattr__(self, "title", self.name)
        if self.verdict not in ("passed", "failed", "inconclusive"):
            # Journals before version 3 knew passed and failed only.
            object.__setattr__(self, "verdict", "passed" if self.passed else "failed")
        return self

    def timing(self, alert: str) -> AlertTiming | None:
        return next((t for t in self.detection if t.alert == alert), None)

    @property
    def expected_alerts(self) -> tuple[str, ...]:
        return tuple(self.alert_mttd_s)

    @property
    def origin(self) -> datetime:
        """T+0 of the drill's clock: the injection, or the start if nothing was injected."""
        return self.injected_at or self.started_at

    def first_event(self, kind: str) -> EventRecord | None:
        return next((e for e in self.events if e.kind == kind), None)

    def check(self, check_id: str) -> CheckRecord | None:
        return next((c for c in self.checks if c.id == check_id), None)


class RunRecord(_Record):
    """One run of one or more drills: the whole of ``journal.json``."""

    schema_version: int = SCHEMA_VERSION
    gameday_version: Text = ""
    project: Text = ""
    run_id: Name
    passed: Passed = False
    responder: Text = "auto"
    # "passed", "failed" (a drill failed) or "inconclusive" (none failed, some could not tell)
    verdict: Text = ""
    started_at: Time
    ended_at: Time
    timings_s: dict[Text, Duration] = Field(default_factory=dict)
    drills: tuple[DrillRecord, ...] = Field(alias="scenarios")

    @model_validator(mode="after")
    def _each_scenario_once(self) -> RunRecord:
        # The history keys a drill by its run and scenario: a name twice is a broken journal.
        first: dict[str, int] = {}
        for i, drill in enumerate(self.drills):
            if drill.name in first:
                raise ValueError(
                    f"scenarios.{i}.name: scenario {drill.name!r} is in the journal twice "
                    f"(also scenarios[{first[drill.name]}]); a run drills each scenario once"
                )
            first[drill.name] = i
        if self.verdict not in ("passed", "failed", "inconclusive"):
            verdicts = {d.verdict for d in self.drills}
            verdict = (
                "failed"
                if "failed" in verdicts or not self.drills
                else "inconclusive"
                if "inconclusive" in verdicts
                else "passed"
            )
            object.__setattr__(self, "verdict", verdict)
        return self

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True, indent=2) + "\n"


# -- reading ---------------------------------------------------------------------------------


def parse_record(data: object, source: str) -> RunRecord:
    """A journal already loaded from JSON, as a RunRecord; a ReportError naming ``source``
    and the field when it is not one."""
    if not isinstance(data, dict):
        raise ReportError(f"{source}: the top level must be an object, not {_kind(data)}")
    version = data.get("schema_version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ReportError(f"{source}: field 'schema_version' must be a version number")
    if version > SCHEMA_VERSION:
        raise ReportError(
            f"{source}: the journal's schema version is {version}, newer than this gameday "
            f"reads ({SCHEMA_VERSION}): upgrade gameday to report it"
        )
    if version == 1:
        data = _from_version_1(data)
    try:
        return RunRecord.model_validate(data)
    except ValidationError as exc:
        raise ReportError(_explain(exc.errors()[0], source)) from None
    except RecursionError:
        raise ReportError(f"{source}: nested too deeply to be a journal") from None


# What pydantic's own checks expect, in the words of the readers above.
_EXPECTED = {
    "list_type": "a list",
    "tuple_type": "a list",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
    "string_type": "a string",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "int_type": "a number or null",
    "float_type": "a number or null",
}


def _explain(error: ErrorDetails, source: str) -> str:
    loc = error["loc"]
    if loc and loc[-1] == "[key]":
        # A mapping's key is wrong: name it as written (pydantic's copy in the location
        # has lost what would not print).
        loc = (*loc[:-2], str(error.get("input", loc[-2])))
    where = _dotted(loc)
    kind = error["type"]
    if kind == "missing":
        return f"{source}: field '{where}' is missing"
    if kind == "value_error":
        expected = str(error.get("ctx", {}).get("error", error["msg"]))
        field, _, rest = expected.partition(": ")
        if rest and re.fullmatch(r"[a-z_]+(\.[A-Za-z0-9_]+)*", field):
            # A model's own check names the field it judges: "scenarios.2.name: ..."
            return f"{source}: field '{_dotted(tuple(field.split('.')))}': {rest}"
    else:
        expected = _EXPECTED.get(kind, str(error["msg"]).lower())
    return f"{source}: field '{where}' must be {expected}, not {_kind(error.get('input'))}"


def _dotted(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int) or (isinstance(part, str) and part.isdigit()):
            parts.append(f"[{part}]")
        else:
            parts.append(("." if parts else "") + _printable(str(part)))
    return "".join(parts) or "(top level)"


def _printable(key: str) -> str:
    """A key as an error message shows it: on one line, every character that would not
    print escaped, and not too long."""
    shown = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in key)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def _kind(value: object) -> str:
    """A value as an error message shows it: short, whatever its size."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the string {_printable(repr(shown))}"
    if isinstance(value, int) and abs(value) >= 10**18:
        # str() of a huge int is slow, and refused past 4300 digits: say its size.
        return f"a number of about {round(math.log10(abs(value)))} digits"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    return f"a {type(value).__name__}"


# The first format named checks by their labels and counted "tasks".
_V1_CHECK_IDS = {
    "MTTR": "mttr",
    "MTTA": "mtta",
    "p95 latency": "p95",
    "error rate": "error_rate",
    "availability": "availability",
    "acknowledged tasks kept": "data",
    "unexpected alerts": "noise",
    "drill ran": "ran",
}


def _from_version_1(data: Mapping[str, Any]) -> dict[str, Any]:
    converted = dict(data)
    scenarios = data.get("scenarios")
    if isinstance(scenarios, list):
        converted["scenarios"] = [_drill_from_version_1(s) for s in scenarios]
    return converted


def _drill_from_version_1(drill: object) -> object:
    if not isinstance(drill, dict):
        return drill
    out = dict(drill)
    out["lost_writes"] = out.pop("lost_tasks", None)
    out["acknowledged_writes"] = out.pop("acknowledged_tasks", None)
    if isinstance(out.get("targets"), dict):
        targets = dict(out["targets"])
        targets["lost_writes"] = targets.pop("lost_tasks", None)
        out["targets"] = targets
    if isinstance(out.get("checks"), list):
        out["checks"] = [_check_from_version_1(c) for c in out["checks"]]
    return out


def _check_from_version_1(check: object) -> object:
    if not isinstance(check, dict) or not isinstance(check.get("name"), str):
        return check
    name: str = check["name"]
    out = {k: v for k, v in check.items() if k != "name"}
    out["label"] = name
    if name.startswith("MTTD "):
        out["id"], out["subject"] = f"mttd:{name[5:]}", name[5:]
    elif name.endswith(" fired"):
        out["id"], out["subject"] = f"mttd:{name[:-6]}", name[:-6]
    else:
        out["id"] = _V1_CHECK_IDS.get(name, re.sub(r"[^a-z0-9]+", "_", name.lower()))
    return out


# -- campaigns ---------------------------------------------------------------------------
# A campaign's journal (campaign.json) is its own record: many faults on one replica, the
# invariants that held or broke, and the smallest schedule that still breaks one.


class PlannedRecord(_Record):
    """One planned fault of a wave, as the schedule file writes it."""

    scenario: Name
    start_s: Duration = 0.0
    hold_s: Duration = 0.0
    recovery: Text = "playbook"


class WavePlanRecord(_Record):
    faults: tuple[PlannedRecord, ...] = ()


class ScheduleRecord(_Record):
    seed: int | None = None
    waves: tuple[WavePlanRecord, ...] = ()


class CampaignFaultRecord(_Record):
    """One fault as it ran: when it went in and out, and what its alerts did."""

    wave: int
    scenario: Name
    title: Text = ""
    faults: tuple[Item, ...] = ()  # the scenario's faults, described
    planned_start_s: Duration = 0.0
    hold_s: Duration = 0.0  # as held: the planned hold or the scenario's detection time
    recovery: Text = "playbook"
    injected_at: OptionalTime = None
    recovery_at: OptionalTime = None  # recovery (the steps, or the revert) began
    reverted_at: OptionalTime = None
    budget_s: Seconds = None  # its expected alerts' time to fire
    # alert -> seconds from injection to firing; None: not within the budget
    detected_s: dict[Text, Seconds] = Field(default_factory=dict)
    steps: tuple[StepRecord, ...] = ()


class ViolationRecord(_Record):
    """An invariant that broke: which, in which wave, for which fault and alert."""

    invariant: Name  # detection, steady_state, silent_failure, lost_writes
    wave: int
    scenario: Text = ""
    subject: Text = ""
    detail: Text = ""
    at: OptionalTime = None
    inconclusive: bool = False  # the host, not the system, may be the cause

    def signature(self) -> tuple[str, str, str]:
        """What a shrunk schedule must break again to count as the same failure."""
        return (self.invariant, self.scenario, self.subject)


class WaveRecord(_Record):
    index: int
    started_at: Time
    ended_at: Time
    steady_at: OptionalTime = None
    lost_writes: Count = None
    host: HostRecord | None = None


class ShrinkAttempt(_Record):
    faults: tuple[Item, ...] = ()  # "wave 2: api-crash at 0 s", one per fault tried
    outcome: Text = ""  # broke, held or inconclusive
    seconds: Seconds = None


class ShrinkRecord(_Record):
    target: ViolationRecord
    attempts: tuple[ShrinkAttempt, ...] = ()
    minimal: ScheduleRecord | None = None
    complete: bool = True  # False: stopped at the run limit (smaller may exist)
    scenario_file: Text = ""  # the minimal schedule as a scenario a person reruns
    schedule_file: Text = ""  # ... and as a schedule (exact timing) for --replay


class CampaignRecord(_Record):
    kind: Text = "campaign"
    schema_version: int = SCHEMA_VERSION
    gameday_version: Text = ""
    project: Text = ""
    run_id: Name
    seed: int | None = None
    verdict: Text = ""  # held, broken, inconclusive, not_run
    started_at: Time
    ended_at: Time
    planned_s: Seconds = None
    schedule: ScheduleRecord = Field(default_factory=ScheduleRecord)
    faults: tuple[CampaignFaultRecord, ...] = ()
    waves: tuple[WaveRecord, ...] = ()
    violations: tuple[ViolationRecord, ...] = ()
    alerts: tuple[AlertSpan, ...] = ()
    load_series: tuple[LoadPoint, ...] = ()
    events: tuple[EventRecord, ...] = ()
    host: HostRecord | None = None
    # Seconds of gameday's own work: injecting and reverting, invariant checks, lateness
    # of the schedule's actions; and the campaign's wall time.
    overhead_s: dict[Text, Duration] = Field(default_factory=dict)
    requests: Count = None
    acknowledged_writes: Count = None
    lost_writes: Count = None
    shrink: ShrinkRecord | None = None
    notes: tuple[Item, ...] = ()

    @property
    def duration_s(self) -> float:
        return (self.ended_at - self.started_at).total_seconds()

    def to_json(self) -> str:
        return self.model_dump_json(indent=2) + "\n"


def parse_campaign(data: object, source: str) -> CampaignRecord:
    """A campaign journal already loaded from JSON; ReportError naming the field if not."""
    if not isinstance(data, dict) or data.get("kind") != "campaign":
        raise ReportError(f'{source}: not a campaign journal (no "kind": "campaign")')
    try:
        return CampaignRecord.model_validate(data)
    except ValidationError as exc:
        raise ReportError(_explain(exc.errors()[0], source)) from None
