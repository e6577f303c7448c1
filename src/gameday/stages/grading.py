"""Grading: a drill's measurements against its scenario's targets, with reasons in words.

Each target is one small check; a drill passes when every check that applies does (one
that does not, a communication clock with no people to keep it, counts neither way). The
reasons are written for the people reading the report ("ApiDown never fired", "MTTR 74 s
over the 60 s budget", "3 acknowledged writes lost"), not for a machine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from gameday.inputs.scenario import Scenario
from gameday.record import CheckRecord
from gameday.stages.clocks import ClockReading, judge, not_applicable

__all__ = ["Check", "Grade", "Measurements", "grade"]


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
    # The project's communication and escalation clocks as the responders marked them.
    clocks: tuple[ClockReading, ...] = ()

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

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks if check.applicable)

    @property
    def reasons(self) -> list[str]:
        return [check.reason for check in self.checks if check.applicable and not check.passed]


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


def _noise(scenario: Scenario, m: Measurements) -> list[Check]:
    # By default noise is a finding, not a broken playbook; a scenario can make it fail.
    measured = ", ".join(m.noise) or "none"
    if scenario.detection.noise == "report":
        return [_check("noise", "unexpected alerts", True, measured, "reported")]
    ok = not m.noise
    reason = "" if ok else f"unexpected alerts fired: {measured}"
    return [_check("noise", "unexpected alerts", ok, measured, "none", reason)]


CHECKS: tuple[Callable[[Scenario, Measurements], list[Check]], ...] = (
    _detection,
    _acknowledgement,
    _clocks,
    _recovery,
    _latency,
    _errors,
    _availability,
    _data,
    _noise,
)


def grade(scenario: Scenario, measurements: Measurements) -> Grade:
    """Grade one drill against its scenario's targets."""
    if measurements.not_run:
        return Grade(
            (
                _check(
                    "ran",
                    "drill ran",
                    False,
                    "not run",
                    "fault injected",
                    f"the drill did not run: {measurements.not_run}",
                ),
            )
        )
    return Grade(tuple(check for rule in CHECKS for check in rule(scenario, measurements)))
