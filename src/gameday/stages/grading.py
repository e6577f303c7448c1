"""Grading: a drill's measurements against its targets, with reasons in words.

Each target is one small check; a drill passes when every check that applies does (one
that does not, a communication clock with no people to keep it, counts neither way). The
reasons are written for the people reading the report ("ApiDown never fired", "MTTR
74 s over the 60 s budget", "3 acknowledged writes lost"), not for a machine.

Two kinds of target, kept apart (a check's ``scope``): the scenario's **regression
budgets** (drill-sized numbers measured on this replica, a guard against the playbook
getting worse) and the playbook's **KPIs** (the project's ``objectives``: MTTD 5 min,
MTTR 1 h...), judged on what they mean in production: detection and recovery as
projected with production's monitoring settings, latency and errors in the steady state
before the fault, availability as the share of the error budget the incident burns.

A verdict is a measurement of the system only when the host could keep up: a drill whose
load fell behind its schedule is **inconclusive**, and so is one that failed on a host
whose CPUs were saturated (a pass there stands: the playbook held even on a busy host).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from math import exp, lgamma, log

from gameday.infra.host import HostUsage
from gameday.inputs.monitoring import ObjectivesSpec
from gameday.inputs.scenario import Scenario
from gameday.record import (
    AlertTiming,
    CheckRecord,
    DetectionGap,
    ErrorBudget,
    HostRecord,
    failed_scopes,
)
from gameday.stages.clocks import ClockReading, judge, not_applicable
from gameday.stages.load import LoadLag
from gameday.units import range_text, span_text

__all__ = [
    "CLIENT_STALL_LIMIT",
    "CPU_BUSY_LIMIT",
    "CPU_PRESSURE_LIMIT",
    "NOT_SENT_LIMIT",
    "Check",
    "Grade",
    "HostStrain",
    "Measurements",
    "grade",
    "host_record",
    "host_strain",
]

# Past this share of time with tasks waiting for a CPU (Linux PSI, averaged over the
# drill), the host, not the system, may have decided a failure. Measured on the 2-core
# reference machine: the bundled replica's own drills run at 54-65% on a quiet host, and
# at 90-93% beside stress-ng on both cores (or other drills at once).
CPU_PRESSURE_LIMIT = 0.85
# CPUs this busy over the whole drill leave the system no headroom (and are the sign where
# the kernel has no pressure figures).
CPU_BUSY_LIMIT = 0.95
# Past this share of the time with the load generator's own event loop stalled (see
# gameday.stages.load.HEARTBEAT_S) its latencies are partly the host's: over the drill, any
# failure may be the host's; over the steady state before the fault (seconds long, which
# one long stall can fill), only that steady state's own figures. This holds where the
# kernel's figures say little (a virtual machine whose CPUs its neighbours take).
# Measured on the 2-core reference machine: the bundled drills stall it 0.4-1.2% of the
# drill and at most 1.1% of the steady state on a quiet host, 16-18% (8-18%) beside
# stress-ng on both cores, and 52-88% (27-40%) beside eight stress-ng workers.
CLIENT_STALL_LIMIT = 0.25
# Past this share of its requests not sent, the load was not the scenario's load.
NOT_SENT_LIMIT = 0.01


@dataclass(frozen=True)
class Measurements:
    """What one drill measured; None where the thing never happened."""

    alert_mttd_s: dict[str, float | None]  # per expected alert: injection -> firing
    mttr_s: float | None  # injection -> steady state back
    p95_ms: float | None
    error_rate: float
    availability: float | None
    lost_writes: int
    noise: tuple[str, ...] = ()  # alerts that fired, neither expected nor allowed
    steady_problems: tuple[str, ...] = ()  # why the steady state did not come back
    not_run: str = ""  # why the fault was never injected (then nothing else is graded)
    mtta_s: float | None = None  # injection -> acknowledged (human responders)
    acknowledgement_expected: bool = False  # people responded, so MTTA is graded
    # A project without a load or a data check measures neither: those checks are left
    # out, not failed.
    load_measured: bool = True
    data_checked: bool = True
    # What the drill means in production (gameday.stages.production) and what it saw
    # that no target named.
    timings: tuple[AlertTiming, ...] = ()
    production_mttr_s: tuple[float, float] | None = None
    error_budget: ErrorBudget | None = None
    gaps: tuple[DetectionGap, ...] = ()
    steady_p95_ms: float | None = None  # requests of the steady state before the fault
    # The latencies that p95 is taken from (the successful requests of that steady state).
    steady_latencies_ms: tuple[float, ...] = ()
    steady_error_rate: float | None = None
    host: HostRecord | None = None
    # The project's communication and escalation clocks as the responders marked them.
    clocks: tuple[ClockReading, ...] = ()
    # The time the lost acknowledged writes cover (gameday.stages.data_loss): how long
    # before the fault the oldest was acknowledged (the RPO achieved), and first to last.
    rpo_s: float | None = None
    lost_writes_span_s: float | None = None

    @property
    def mttd_s(self) -> float | None:
        """Time until every expected alert fired; None if any never did."""
        values = list(self.alert_mttd_s.values())
        if not values or any(v is None for v in values):
            return None
        return max(v for v in values if v is not None)


# A graded check is the journal's own record (gameday.record): grading writes what the
# report reads, with an id for programs and a label for people.
Check = CheckRecord


@dataclass(frozen=True)
class Grade:
    checks: tuple[Check, ...] = field(default_factory=tuple)
    # Why the measurements cannot be trusted to judge the system (the host's doing).
    inconclusive: tuple[str, ...] = ()
    # Why the host was busy, when that did not decide anything (a pass on a busy host).
    host_notes: tuple[str, ...] = ()

    @property
    def checks_passed(self) -> bool:
        return all(check.passed for check in self.checks if check.applicable)

    @property
    def verdict(self) -> str:
        if self.inconclusive:
            return "inconclusive"
        return "passed" if self.checks_passed else "failed"

    @property
    def passed(self) -> bool:
        return self.verdict == "passed"

    @property
    def reasons(self) -> list[str]:
        return [c.reason for c in self.checks if c.applicable and not c.passed]

    def failed_scopes(self) -> list[str]:
        """Which kinds of target failed: "KPIs", "regression budgets" (in that order)."""
        return list(failed_scopes(self.checks))


def _check(
    check_id: str,
    label: str,
    passed: bool,
    measured: str,
    target: str,
    reason: str = "",
    limit: float | None = None,
) -> Check:
    return Check(
        id=check_id,
        label=label,
        passed=passed,
        measured=measured,
        target=target,
        reason=reason,
        limit=limit,
    )


def _seconds(value: float) -> str:
    return f"{value:.1f} s" if value < 10 else f"{value:.0f} s"


_span = span_text
_range = range_text


def _detection(scenario: Scenario, m: Measurements) -> list[Check]:
    budget = min(scenario.detection.within_s, scenario.targets.mttd_s)
    checks = []
    for alert, mttd in m.alert_mttd_s.items():
        if mttd is None:
            checks.append(
                Check(
                    id=f"mttd:{alert}",
                    label=f"{alert} fired",
                    passed=False,
                    measured="never",
                    target=f"≤ {_seconds(budget)}",
                    reason=f"{alert} never fired",
                    subject=alert,
                    limit=budget,
                )
            )
        else:
            ok = mttd <= budget
            reason = (
                ""
                if ok
                else f"{alert} fired after {_seconds(mttd)}, over the {_seconds(budget)} budget"
            )
            checks.append(
                Check(
                    id=f"mttd:{alert}",
                    label=f"MTTD {alert}",
                    passed=ok,
                    measured=_seconds(mttd),
                    target=f"≤ {_seconds(budget)}",
                    reason=reason,
                    subject=alert,
                    limit=budget,
                )
            )
    return checks


def _recovery(scenario: Scenario, m: Measurements) -> list[Check]:
    budget = scenario.targets.mttr_s
    if m.mttr_s is None:
        why = "; ".join(m.steady_problems) or "no recovery was observed"
        return [
            _check(
                "mttr",
                "MTTR",
                False,
                "never",
                f"≤ {_seconds(budget)}",
                f"steady state never came back ({why})",
                budget,
            )
        ]
    ok = m.mttr_s <= budget
    reason = "" if ok else f"MTTR {_seconds(m.mttr_s)} over the {_seconds(budget)} budget"
    return [_check("mttr", "MTTR", ok, _seconds(m.mttr_s), f"≤ {_seconds(budget)}", reason, budget)]


def _acknowledgement(scenario: Scenario, m: Measurements) -> list[Check]:
    if not m.acknowledgement_expected:
        return []
    budget = scenario.targets.mtta_s
    if m.mtta_s is None:
        return [
            _check(
                "mtta",
                "MTTA",
                False,
                "never",
                f"≤ {_seconds(budget)}",
                "the incident was never acknowledged",
                budget,
            )
        ]
    ok = m.mtta_s <= budget
    reason = "" if ok else f"MTTA {_seconds(m.mtta_s)} over the {_seconds(budget)} budget"
    return [_check("mtta", "MTTA", ok, _seconds(m.mtta_s), f"≤ {_seconds(budget)}", reason, budget)]


def _clocks(scenario: Scenario, m: Measurements) -> list[Check]:
    # Only people keep a communication clock: without them each is not applicable.
    if not m.acknowledgement_expected:
        return [
            not_applicable(r.clock, "no people responded, so nobody kept this clock")
            for r in m.clocks
        ]
    return [judge(reading) for reading in m.clocks]


def _latency(scenario: Scenario, m: Measurements) -> list[Check]:
    target = scenario.targets.p95_ms
    if not m.load_measured:
        return []
    if m.p95_ms is None:
        return [
            _check(
                "p95",
                "p95 latency",
                False,
                "no requests",
                f"≤ {target:.0f} ms",
                "no request completed during the drill",
                target,
            )
        ]
    ok = m.p95_ms <= target
    reason = "" if ok else f"p95 latency {m.p95_ms:.0f} ms over the {target:.0f} ms target"
    return [
        _check("p95", "p95 latency", ok, f"{m.p95_ms:.0f} ms", f"≤ {target:.0f} ms", reason, target)
    ]


def _errors(scenario: Scenario, m: Measurements) -> list[Check]:
    target = scenario.targets.error_rate
    if not m.load_measured:
        return []
    ok = m.error_rate <= target
    reason = "" if ok else f"error rate {m.error_rate:.1%} over the {target:.1%} target"
    return [
        _check(
            "error_rate", "error rate", ok, f"{m.error_rate:.1%}", f"≤ {target:.1%}", reason, target
        )
    ]


def _availability(scenario: Scenario, m: Measurements) -> list[Check]:
    target = scenario.targets.availability
    if target is None or not m.load_measured:
        return []
    if m.availability is None:
        return [
            _check(
                "availability",
                "availability",
                False,
                "unknown",
                f"≥ {target:.1%}",
                "availability could not be measured (no load)",
                target,
            )
        ]
    ok = m.availability >= target
    reason = "" if ok else f"availability {m.availability:.1%} under the {target:.1%} target"
    return [
        _check(
            "availability",
            "availability",
            ok,
            f"{m.availability:.1%}",
            f"≥ {target:.1%}",
            reason,
            target,
        )
    ]


def _data(scenario: Scenario, m: Measurements) -> list[Check]:
    allowed = scenario.targets.lost_writes
    if not m.data_checked:
        return []
    ok = m.lost_writes <= allowed
    noun = "write" if m.lost_writes == 1 else "writes"
    return [
        _check(
            "data",
            "acknowledged writes kept",
            ok,
            f"{m.lost_writes} lost",
            f"≤ {allowed} lost",
            "" if ok else f"{m.lost_writes} acknowledged {noun} lost",
            allowed,
        )
    ]


def _rto(scenario: Scenario, m: Measurements) -> list[Check]:
    """A disaster-recovery drill's RTO: the MTTR (fault to service back) against the
    recovery time objective, when the scenario sets one."""
    objective = scenario.targets.rto_s
    if objective is None:
        return []
    target = f"≤ {_seconds(objective)}"
    if m.mttr_s is None:
        why = "; ".join(m.steady_problems) or "no recovery was observed"
        return [_check("rto", "RTO", False, "never", target, f"service never back ({why})")]
    ok = m.mttr_s <= objective
    reason = "" if ok else f"RTO {_seconds(m.mttr_s)} over the {_seconds(objective)} objective"
    return [_check("rto", "RTO", ok, _seconds(m.mttr_s), target, reason, objective)]


def _rpo(scenario: Scenario, m: Measurements) -> list[Check]:
    """A disaster-recovery drill's RPO: how far before the fault the lost acknowledged
    writes go back, against the recovery point objective, when the scenario sets one."""
    objective = scenario.targets.rpo_s
    if objective is None or not m.data_checked:
        return []
    target = f"≤ {_seconds(objective)}"
    if m.rpo_s is None:
        return [
            _check(
                "rpo",
                "RPO",
                False,
                "unknown",
                target,
                "the lost writes' acknowledgement times are unknown",
                objective,
            )
        ]
    ok = m.rpo_s <= objective
    measured = _seconds(m.rpo_s)
    if m.lost_writes_span_s is not None:
        measured += f" ({m.lost_writes} lost over {_seconds(m.lost_writes_span_s)})"
    reason = (
        ""
        if ok
        else (
            f"acknowledged writes lost back to {_seconds(m.rpo_s)} before the fault, over the "
            f"{_seconds(objective)} RPO"
        )
    )
    return [_check("rpo", "RPO", ok, measured, target, reason, objective)]


def _noise(scenario: Scenario, m: Measurements) -> list[Check]:
    # By default noise is a finding, not a broken playbook; a scenario can make it fail.
    measured = ", ".join(m.noise) or "none"
    if scenario.detection.noise == "report":
        return [_check("noise", "unexpected alerts", True, measured, "reported")]
    ok = not m.noise
    reason = "" if ok else f"unexpected alerts fired: {measured}"
    return [_check("noise", "unexpected alerts", ok, measured, "none", reason)]


def _silent(scenario: Scenario, m: Measurements) -> list[Check]:
    if not m.load_measured:
        return []
    worst = max(m.gaps, key=lambda g: g.seconds, default=None)
    measured = "none" if worst is None else f"{len(m.gaps)}, longest {_seconds(worst.seconds)}"
    fail = scenario.detection.silent_failures == "fail"
    ok = not fail or not m.gaps
    reason = "" if ok or worst is None else f"detection gap: {worst.detail}"
    return [
        Check(
            id="silent",
            label="users broken with no alert",
            passed=ok,
            measured=measured,
            target="none" if fail else "reported",
            reason=reason,
            scope="budget" if fail else "finding",
        )
    ]


def _kpi(
    check_id: str, label: str, ok: bool, measured: str, target: str, reason: str, limit: float
) -> Check:
    return Check(
        id=f"kpi:{check_id}",
        label=label,
        passed=ok,
        measured=measured,
        target=target,
        reason="" if ok else reason,
        limit=limit,
        scope="kpi",
    )


# A steady state before a fault lasts seconds: tens of requests, where one request that
# waited for a busy CPU moves the p95. The p95 objective fails only when the requests show
# it beyond chance, at this confidence.
P95_CONFIDENCE = 0.95


def over_quantile_beyond_chance(
    latencies_ms: Sequence[float], target_ms: float, quantile: float = 0.95
) -> bool:
    """Whether ``latencies_ms`` show their ``quantile`` above ``target_ms`` beyond chance.

    A service whose quantile is exactly the target answers each request over it with
    probability 1 - quantile, so the count over it is binomial; the sample shows the
    quantile above the target when a count this large would come less than
    1 - P95_CONFIDENCE of the time. With thousands of requests this is the plain
    percentile; with fifty it takes six slow requests, not three."""
    n = len(latencies_ms)
    over = sum(1 for latency in latencies_ms if latency > target_ms)
    p = 1.0 - quantile
    if over == 0:
        return False

    def log_pmf(k: int) -> float:  # in logs: a long drill's binomials overflow a float
        return lgamma(n + 1) - lgamma(k + 1) - lgamma(n - k + 1) + k * log(p) + (n - k) * log(1 - p)

    chance = sum(exp(log_pmf(k)) for k in range(over, n + 1))
    return chance < 1.0 - P95_CONFIDENCE


def _kpi_p95(p95_ms: float, latencies_ms: Sequence[float], target: float) -> Check:
    over = sum(1 for latency in latencies_ms if latency > target)
    counted = f"{over} of {len(latencies_ms)} requests over {target:.0f} ms"
    by_chance = (
        p95_ms > target
        and bool(latencies_ms)
        and not over_quantile_beyond_chance(latencies_ms, target)
    )
    measured = f"{p95_ms:.0f} ms"
    if by_chance:
        measured += f" ({counted}: within chance for a p95 of {target:.0f} ms)"
    return _kpi(
        "p95",
        "p95 in the steady state (KPI)",
        p95_ms <= target or by_chance,
        measured,
        f"< {target:.0f} ms",
        f"p95 latency in the steady state {p95_ms:.0f} ms, over the playbook's "
        f"{target:.0f} ms ({counted}, more than chance)",
        target,
    )


def _kpi_checks(
    scenario: Scenario, m: Measurements, objectives: ObjectivesSpec | None
) -> list[Check]:
    """The playbook's objectives, judged on what they mean in production."""
    if objectives is None:
        return []
    checks: list[Check] = []
    if objectives.mttd is not None:
        checks.append(_kpi_mttd(m, objectives.mttd))
    if objectives.mttr is not None:
        checks.append(_kpi_mttr(m, objectives.mttr))
    if m.load_measured and objectives.p95_ms is not None and m.steady_p95_ms is not None:
        checks.append(_kpi_p95(m.steady_p95_ms, m.steady_latencies_ms, objectives.p95_ms))
    if m.load_measured and objectives.error_rate is not None and m.steady_error_rate is not None:
        target = objectives.error_rate
        ok = m.steady_error_rate <= target
        checks.append(
            _kpi(
                "error_rate",
                "errors in the steady state (KPI)",
                ok,
                f"{m.steady_error_rate:.2%}",
                f"< {target:.0%}",
                f"error rate in the steady state {m.steady_error_rate:.2%}, over the "
                f"playbook's {target:.0%}",
                target,
            )
        )
    budget = m.error_budget
    if m.load_measured and budget is not None and budget.budget_s:
        burned = budget.projected_most_s if budget.projected_most_s is not None else budget.burned_s
        if burned is not None:
            projected = budget.projected_most_s is not None
            share = burned / budget.budget_s
            ok = burned <= budget.budget_s
            what = "projected for production" if projected else "measured in the drill"
            checks.append(
                _kpi(
                    "availability",
                    "error budget (KPI)",
                    ok,
                    f"{_span(burned)} ({share:.0%} of {_span(budget.budget_s)})",
                    f"≤ {_span(budget.budget_s)} a window",
                    f"the incident burns {_span(burned)} of unavailability ({what}), "
                    f"{share:.0%} of the {_span(budget.budget_s)} the "
                    f"{(budget.objective or 0):.1%} objective allows",
                    budget.budget_s,
                )
            )
    return checks


def _kpi_mttd(m: Measurements, target: float) -> Check:
    projected = [t for t in m.timings if t.production_most_s is not None]
    if m.timings and len(projected) == len(m.timings):
        least = max(t.production_least_s or 0.0 for t in projected)
        most = max(t.production_most_s or 0.0 for t in projected)
        slowest = max(projected, key=lambda t: t.production_most_s or 0.0).alert
        return _kpi(
            "mttd",
            "MTTD in production (KPI)",
            most <= target,
            f"{_range(least, most)} projected",
            f"< {_span(target)}",
            f"{slowest} would notify {_range(least, most)} after the fault in production, "
            f"which can be over the playbook's {_span(target)}",
            target,
        )
    notified = [t.notify_s for t in m.timings]
    if not m.timings or any(v is None for v in notified):
        never = [t.alert for t in m.timings if t.notify_s is None] or list(m.alert_mttd_s)
        return _kpi(
            "mttd",
            "MTTD (KPI)",
            False,
            "never",
            f"< {_span(target)}",
            f"{', '.join(never)} never fired: no notification to meet the playbook's "
            f"{_span(target)}",
            target,
        )
    most = max(v for v in notified if v is not None)
    return _kpi(
        "mttd",
        "MTTD, drill settings (KPI)",
        most <= target,
        f"{_span(most)} (no production settings)",
        f"< {_span(target)}",
        f"notification {_span(most)} after the fault, over the playbook's {_span(target)}",
        target,
    )


def _kpi_mttr(m: Measurements, target: float) -> Check:
    if m.production_mttr_s is not None:
        least, most = m.production_mttr_s
        return _kpi(
            "mttr",
            "MTTR in production (KPI)",
            most <= target,
            f"{_range(least, most)} projected",
            f"< {_span(target)}",
            f"recovery would take {_range(least, most)} in production, which can be over "
            f"the playbook's {_span(target)}",
            target,
        )
    if m.mttr_s is None:
        return _kpi(
            "mttr",
            "MTTR (KPI)",
            False,
            "never",
            f"< {_span(target)}",
            f"the service never recovered: no MTTR to meet the playbook's {_span(target)}",
            target,
        )
    return _kpi(
        "mttr",
        "MTTR, drill settings (KPI)",
        m.mttr_s <= target,
        _span(m.mttr_s),
        f"< {_span(target)}",
        f"MTTR {_span(m.mttr_s)}, over the playbook's {_span(target)}",
        target,
    )


@dataclass(frozen=True)
class HostStrain:
    """What in a host record crosses the limits no verdict may depend on ("" for within)."""

    fell_behind: str
    saturated: str
    # The steady state before the fault alone: it decides only the checks that judge it.
    steady_stalled: str = ""


def host_strain(host: HostRecord) -> HostStrain:
    """The one rule for a host that may have decided an outcome: the load generator fell
    behind its schedule, or the CPUs were saturated. The drill's grade and the campaign's
    invariants both judge by it."""
    fell_behind = ""
    scheduled = host.requests_scheduled or 0
    not_sent = host.requests_not_sent or 0
    if scheduled and not_sent / scheduled > NOT_SENT_LIMIT:
        fell_behind = (
            f"the load generator fell behind its schedule ({not_sent} of {scheduled} "
            f"requests, {not_sent / scheduled:.1%}, not sent; up to "
            f"{host.load_lag_max_s or 0:.1f} s late)"
        )
    pressure, busy = host.cpu_pressure, host.cpu_busy
    saturated = ""
    if pressure is not None and pressure >= CPU_PRESSURE_LIMIT:
        also = f"; CPUs {busy:.0%} busy" if busy is not None else ""
        saturated = (
            f"the host was saturated: tasks waited for a CPU {pressure:.0%} of the time{also}"
        )
    elif busy is not None and busy >= CPU_BUSY_LIMIT:
        # No idle CPU at all (also where the kernel has no pressure figures).
        saturated = f"the host was saturated: its CPUs were {busy:.0%} busy"
    else:
        longest = host.client_stall_max_s
        saturated = _stalled(
            host.client_stalled,
            "the drill" + (f", the longest {longest * 1000:.0f} ms" if longest else ""),
        )
    steady_stalled = _stalled(host.steady_client_stalled, "the steady state before the fault")
    return HostStrain(fell_behind, saturated, steady_stalled)


def _stalled(share: float | None, of_what: str) -> str:
    """Why a load generator stalled ``share`` of ``of_what`` measured the host ("" if not)."""
    if share is None or share < CLIENT_STALL_LIMIT:
        return ""
    return (
        f"the host was too slow to measure on: the load generator itself was stalled "
        f"{share:.0%} of {of_what}"
    )


# The checks that judge only the steady state before the fault: a stalled load generator
# there may decide them, and nothing else (a drill that also failed on another check failed).
STEADY_STATE_CHECKS = frozenset({"kpi:p95", "kpi:error_rate"})


def _host(m: Measurements, checks: Sequence[Check]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(why the drill is inconclusive, notes on a busy host that did not decide it)."""
    if m.host is None:
        return (), ()
    strain = host_strain(m.host)
    failed = [c for c in checks if c.applicable and not c.passed]
    inconclusive: list[str] = []
    notes: list[str] = []
    if strain.fell_behind:
        inconclusive.append(f"{strain.fell_behind}: the drill did not apply its load")
    if strain.saturated:
        if not failed:
            notes.append(f"{strain.saturated}; the drill passed regardless")
        else:
            inconclusive.append(
                f"{strain.saturated}, so the failures may be the host's, not the system's"
            )
    elif strain.steady_stalled:
        steady = [c for c in failed if c.id in STEADY_STATE_CHECKS]
        if steady and len(steady) == len(failed):
            inconclusive.append(
                f"{strain.steady_stalled}, so its figures may be the host's, not the system's"
            )
        elif steady:
            notes.append(f"{strain.steady_stalled}: its figures may be the host's")
        else:
            notes.append(f"{strain.steady_stalled}; no steady-state figure failed")
    return tuple(inconclusive), tuple(notes)


CHECKS: tuple[Callable[[Scenario, Measurements], list[Check]], ...] = (
    _detection,
    _acknowledgement,
    _clocks,
    _recovery,
    _latency,
    _errors,
    _availability,
    _data,
    _rto,
    _rpo,
    _noise,
    _silent,
)


def grade(
    scenario: Scenario, measurements: Measurements, objectives: ObjectivesSpec | None = None
) -> Grade:
    """Grade one drill against its scenario's budgets and the playbook's ``objectives``."""
    if measurements.not_run:
        ran = _check(
            "ran",
            "drill ran",
            False,
            "not run",
            "fault injected",
            f"the drill did not run: {measurements.not_run}",
        )
        inconclusive, _ = _host(measurements, [ran])
        return Grade((ran,), inconclusive=inconclusive)
    checks = [check for rule in CHECKS for check in rule(scenario, measurements)]
    checks += _kpi_checks(scenario, measurements, objectives)
    inconclusive, notes = _host(measurements, checks)
    return Grade(tuple(checks), inconclusive=inconclusive, host_notes=notes)


def _rounded(share: float | None) -> float | None:
    return None if share is None else round(share, 3)


def host_record(
    usage: HostUsage, lag: LoadLag | None, steady: tuple[datetime, datetime] | None = None
) -> HostRecord:
    """What the journal keeps of the host's load and the load generator's lag, the facts
    the inconclusive rule reads; ``steady`` is the steady state's window, if there was one."""
    stalled = steady_stalled = longest = None
    if lag is not None:
        stalled = round(min(sum(s for _, s in lag.stalls) / max(usage.seconds, 1e-9), 1.0), 3)
        longest = round(max((s for _, s in lag.stalls), default=0.0), 3)
        if steady is not None:
            steady_stalled = round(lag.stalled_share(*steady), 3)
    return HostRecord(
        cpus=usage.cpus,
        cpu_pressure=_rounded(usage.cpu_pressure),
        cpu_busy=_rounded(usage.cpu_busy),
        io_pressure=_rounded(usage.io_pressure),
        cpu_steal=_rounded(usage.cpu_steal),
        load_lag_max_s=None if lag is None else round(lag.max_lag_s, 3),
        requests_not_sent=None if lag is None else lag.not_sent,
        requests_scheduled=None if lag is None else lag.scheduled,
        client_stalled=stalled,
        client_stall_max_s=longest,
        steady_client_stalled=steady_stalled,
    )
