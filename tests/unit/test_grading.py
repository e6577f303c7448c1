"""Grading: each target passes or fails on its own, with the reason in words."""

from __future__ import annotations

from pathlib import Path

import pytest

from gameday.inputs.scenario import Scenario, load_scenario
from gameday.stages.grading import Measurements, grade

DATABASE_OUTAGE = Path(__file__).parents[2] / "scenarios" / "database-outage.yml"


@pytest.fixture
def scenario() -> Scenario:
    return load_scenario(DATABASE_OUTAGE).model_copy(
        update={
            "targets": load_scenario(DATABASE_OUTAGE).targets.model_copy(
                update={
                    "mttd_s": 15,
                    "mttr_s": 60,
                    "p95_ms": 500,
                    "error_rate": 0.2,
                    "availability": 0.5,
                }
            )
        }
    )


def measured(**changes: object) -> Measurements:
    values: dict[str, object] = {
        "alert_mttd_s": {"DatabaseDown": 4.0},
        "mttr_s": 30.0,
        "p95_ms": 120.0,
        "error_rate": 0.05,
        "availability": 0.8,
        "lost_writes": 0,
    }
    values.update(changes)
    return Measurements(**values)  # type: ignore[arg-type]


def test_a_drill_within_every_target_passes(scenario: Scenario) -> None:
    result = grade(scenario, measured())
    assert result.passed
    assert result.reasons == []
    assert {c.label for c in result.checks} >= {
        "MTTD DatabaseDown",
        "MTTR",
        "p95 latency",
        "error rate",
        "availability",
        "acknowledged writes kept",
    }
    # Programs find a check by its id, not by the label people read.
    assert {c.id for c in result.checks} >= {
        "mttd:DatabaseDown",
        "mttr",
        "p95",
        "error_rate",
        "availability",
        "data",
        "noise",
    }


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"alert_mttd_s": {"DatabaseDown": None}}, "DatabaseDown never fired"),
        (
            {"alert_mttd_s": {"DatabaseDown": 20.0}},
            "DatabaseDown fired after 20 s, over the 15 s budget",
        ),
        ({"mttr_s": 74.0}, "MTTR 74 s over the 60 s budget"),
        (
            {"mttr_s": None, "steady_problems": ("backend-1 /health answered 503",)},
            "steady state never came back (backend-1 /health answered 503)",
        ),
        ({"lost_writes": 3}, "3 acknowledged writes lost"),
        ({"lost_writes": 1}, "1 acknowledged write lost"),
        ({"p95_ms": 812.0}, "p95 latency 812 ms over the 500 ms target"),
        ({"error_rate": 0.25}, "error rate 25.0% over the 20.0% target"),
        ({"availability": 0.4}, "availability 40.0% under the 50.0% target"),
    ],
)
def test_each_missed_target_fails_with_its_reason(
    scenario: Scenario, changes: dict[str, object], reason: str
) -> None:
    result = grade(scenario, measured(**changes))
    assert not result.passed
    assert result.reasons == [reason]


def test_mttd_is_the_slowest_expected_alert_and_none_if_one_never_fired() -> None:
    assert measured(alert_mttd_s={"A": 3.0, "B": 7.5}).mttd_s == 7.5
    assert measured(alert_mttd_s={"A": 3.0, "B": None}).mttd_s is None


def test_unexpected_alerts_are_reported_but_do_not_fail(scenario: Scenario) -> None:
    result = grade(scenario, measured(noise=("RedisDown",)))
    assert result.passed
    noise = next(c for c in result.checks if c.label == "unexpected alerts")
    assert noise.measured == "RedisDown"


def test_a_scenario_can_make_unexpected_alerts_fail_the_drill(scenario: Scenario) -> None:
    strict = scenario.model_copy(
        update={"detection": scenario.detection.model_copy(update={"noise": "fail"})}
    )
    assert grade(strict, measured()).passed
    result = grade(strict, measured(noise=("RedisDown", "NetworkLatency")))
    assert result.reasons == ["unexpected alerts fired: RedisDown, NetworkLatency"]


DISASTER_RECOVERY = Path(__file__).parents[2] / "scenarios" / "disaster-recovery.yml"


def test_a_disaster_recovery_drill_grades_rto_and_rpo() -> None:
    scenario = load_scenario(DISASTER_RECOVERY)
    targets = scenario.targets
    assert targets.rto_s is not None and targets.rpo_s is not None
    result = grade(
        scenario, measured(mttr_s=20.0, lost_writes=12, rpo_s=1.5, lost_writes_span_s=4.0)
    )
    checks = {c.id: c for c in result.checks}
    assert checks["rto"].label == "RTO" and checks["rto"].passed
    assert checks["rto"].measured == "20 s"
    assert checks["rpo"].label == "RPO" and checks["rpo"].passed
    assert checks["rpo"].measured == "1.5 s (12 lost over 4.0 s)"
    assert checks["data"].passed  # 12 within the scenario's allowance


def test_an_rpo_over_its_objective_fails_with_the_reason() -> None:
    scenario = load_scenario(DISASTER_RECOVERY)
    over = (scenario.targets.rpo_s or 0) + 4
    result = grade(scenario, measured(mttr_s=20.0, lost_writes=30, rpo_s=over))
    assert not result.passed
    assert (
        f"acknowledged writes lost back to {over:.0f} s before the fault, over the "
        f"{scenario.targets.rpo_s:.1f} s RPO" in result.reasons
    )


def test_an_rto_over_its_objective_fails_and_a_recovery_that_never_came_says_why() -> None:
    scenario = load_scenario(DISASTER_RECOVERY)
    rto = scenario.targets.rto_s or 0
    late = grade(scenario, measured(mttr_s=rto + 10, rpo_s=0.0))
    assert f"RTO {rto + 10:.0f} s over the {rto:.0f} s objective" in late.reasons
    never = grade(scenario, measured(mttr_s=None, rpo_s=0.0, steady_problems=("restore failed",)))
    assert "service never back (restore failed)" in never.reasons


def test_rto_and_rpo_are_graded_only_where_a_scenario_sets_them(scenario: Scenario) -> None:
    result = grade(scenario, measured(rpo_s=100.0))
    assert not {"rto", "rpo"} & {c.id for c in result.checks}
    assert result.passed
