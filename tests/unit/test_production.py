"""What a drill means in production: settings, projections, error budget, the project's
``production:`` and ``objectives:``, and a scenario's changes to them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from smallproject import PROJECT, SCENARIO, write_small_project

from gameday.errors import ProjectError, ScenarioError
from gameday.inputs.monitoring import MonitoringSettings, ObjectivesSpec, parse_duration_s
from gameday.inputs.project import load_project
from gameday.inputs.scenario import parse_scenario
from gameday.record import AlertTiming, LoadPoint
from gameday.stages import production
from gameday.stages.detection import AlertObservation

T0 = datetime(2026, 1, 5, 9, 0, 0, tzinfo=UTC)
DRILL = MonitoringSettings(1.0, 1.0, 1.0, {"WebDown": 2.0})
PROD = MonitoringSettings(15.0, 30.0, 30.0, {"WebDown": 60.0})


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def episode(pending: float | None, firing: float | None) -> AlertObservation:
    return AlertObservation(
        "WebDown",
        {"alertname": "WebDown", "job": "web"},
        None if pending is None else at(pending),
        None if firing is None else at(firing),
        None,
    )


# -- settings -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"), [("15s", 15.0), ("1m30s", 90.0), ("500ms", 0.5), (2, 2.0), (None, 7.0)]
)
def test_durations_read_as_prometheus_writes_them(text: object, seconds: float) -> None:
    assert parse_duration_s(text, 7.0) == seconds


@pytest.mark.parametrize("text", ["15", "1 m", "1m 30s", "soon", True])
def test_a_duration_that_is_not_one_is_refused(text: object) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration_s(text, 0.0)


def test_the_configuration_adds_a_range_not_a_floor() -> None:
    # least: `for` + group_wait; most: a scrape and an evaluation missed as well
    assert PROD.least_s("WebDown") == 90.0
    assert PROD.most_s("WebDown") == 135.0
    assert PROD.parts("WebDown") == {
        "scrape": 15.0,
        "evaluation": 30.0,
        "for": 60.0,
        "group_wait": 30.0,
    }


def test_the_error_budget_of_three_nines_over_thirty_days_is_43_minutes() -> None:
    objectives = ObjectivesSpec(availability=0.999)
    assert objectives.error_budget_s == pytest.approx(43.2 * 60)
    assert ObjectivesSpec().error_budget_s is None


# -- projections --------------------------------------------------------------------------


def test_a_detection_splits_into_its_parts_and_projects_to_production() -> None:
    timing = production.alert_timing("WebDown", T0, episode(1.5, 3.5), at(0.8), DRILL, PROD)
    assert (timing.symptom_s, timing.pending_s, timing.firing_s, timing.notify_s) == (
        0.8,
        1.5,
        3.5,
        4.5,
    )
    assert (timing.config_least_s, timing.config_most_s) == (3.0, 5.0)
    # The system's part is 0 to 0.8 s (the first sample may have waited one drill scrape);
    # production adds its own 90 to 135 s.
    assert (timing.production_least_s, timing.production_most_s) == (90.0, 135.8)
    assert timing.production["for"] == 60.0


def test_without_the_symptom_the_system_part_is_bounded_by_pending() -> None:
    timing = production.alert_timing("WebDown", T0, episode(3.0, 5.0), None, DRILL, PROD)
    assert timing.symptom_s is None
    # pending at 3 s: the system took 1 to 3 s (a scrape and an evaluation may be in it)
    assert (timing.production_least_s, timing.production_most_s) == (91.0, 138.0)


def test_an_alert_that_never_fired_has_no_projection() -> None:
    timing = production.alert_timing("WebDown", T0, None, None, DRILL, PROD)
    assert timing.firing_s is None and timing.production_most_s is None


def test_no_production_settings_means_no_projection() -> None:
    timing = production.alert_timing("WebDown", T0, episode(1.5, 3.5), at(0.8), DRILL, None)
    assert timing.production_most_s is None and timing.production == {}
    assert timing.notify_s == 4.5


def test_production_mttr_replaces_the_drills_detection_with_productions() -> None:
    timings = [
        AlertTiming(alert="WebDown", firing_s=3.5, production_least_s=90, production_most_s=135)
    ]
    # 20 s MTTR, detected at 3.5 s: 16.5 s of response, after production's notification
    assert production.production_mttr(20.0, timings) == (106.5, 151.5)
    assert production.production_mttr(None, timings) is None
    assert production.production_mttr(20.0, [AlertTiming(alert="WebDown")]) is None


def test_unavailable_seconds_count_the_buckets_over_the_steady_state_limit() -> None:
    points = [
        LoadPoint(start=at(i), requests=20, errors=errors)
        for i, errors in enumerate([0, 10, 20, 1, 0, 5])
    ]
    assert production.unavailable_s(points, 0.01) == 4.0
    assert production.unavailable_s(points, 0.01, start=at(3)) == 2.0


def test_the_error_budget_projects_the_share_of_the_incident_users_suffered() -> None:
    objectives = ObjectivesSpec(availability=0.999)
    budget = production.error_budget(objectives, 10.0, 20.0, (100.0, 150.0))
    assert budget is not None
    assert budget.budget_s == pytest.approx(2592.0)
    # users suffered half the drill's incident: half of production's MTTR
    assert (budget.burned_s, budget.projected_least_s, budget.projected_most_s) == (
        10.0,
        50.0,
        75.0,
    )
    assert production.error_budget(None, 10.0, 20.0, (1.0, 2.0)) is None


# -- the project and the scenario ------------------------------------------------------------

PRODUCTION = """\
production:
  prometheus_config: prod/prometheus.yml
  alertmanager_config: prod/alertmanager.yml
  rules: prod/rules/*.yml
  group_wait: 45s
  for: {DatabaseDown: 2m}
objectives:
  mttd: 5m
  mttr: 1h
  p95_ms: 200
  error_rate: 0.01
  availability: 0.999
"""

PROD_FILES = {
    "prod/prometheus.yml": "global:\n  scrape_interval: 30s\n  evaluation_interval: 1m\n",
    "prod/alertmanager.yml": "route:\n  receiver: pager\n  group_wait: 10s\n",
    "prod/rules/alerts.yml": (
        "groups:\n  - name: shop\n    rules:\n"
        "      - alert: WebDown\n        expr: up == 0\n        for: 5m\n"
        "      - alert: DatabaseDown\n        expr: up == 0\n        for: 10m\n"
    ),
}


def test_production_settings_are_read_from_the_teams_files(tmp_path: Path) -> None:
    project = load_project(write_small_project(tmp_path, PROJECT + PRODUCTION, PROD_FILES))
    settings = project.production
    assert settings is not None
    assert (settings.scrape_interval_s, settings.evaluation_interval_s) == (30.0, 60.0)
    # given values win over the files'
    assert settings.group_wait_s == 45.0
    assert settings.for_s == {"WebDown": 300.0, "DatabaseDown": 120.0}
    assert project.spec.objectives is not None
    assert project.spec.objectives.mttd == 300.0


def test_a_missing_production_file_is_named(tmp_path: Path) -> None:
    files = {k: v for k, v in PROD_FILES.items() if k != "prod/alertmanager.yml"}
    with pytest.raises(ProjectError) as error:
        load_project(write_small_project(tmp_path, PROJECT + PRODUCTION, files))
    # The line of the field that names the file, and the file
    assert str(error.value) == (
        f"{tmp_path / 'gameday.yml'}:29: field 'production.alertmanager_config': expected an "
        f"Alertmanager configuration, {tmp_path / 'prod/alertmanager.yml'} does not exist"
    )


def test_a_bad_duration_names_the_field_and_what_was_expected(tmp_path: Path) -> None:
    text = PROJECT + "objectives:\n  mttd: five minutes\n"
    with pytest.raises(ProjectError) as error:
        load_project(write_small_project(tmp_path, text))
    assert str(error.value).endswith(
        "field 'objectives.mttd': expected a duration such as 15s, 1m or 1h30m (or a number "
        "of seconds), got 'five minutes'"
    )


def test_a_scenario_changes_production_settings_for_itself(tmp_path: Path) -> None:
    project = load_project(write_small_project(tmp_path, PROJECT + PRODUCTION, PROD_FILES))
    text = SCENARIO + "production:\n  for: {WebDown: 30s}\n  scrape_interval: 5s\n"
    scenario = parse_scenario(text, tmp_path / "s.yml", project)
    assert scenario.production is not None
    settings = scenario.production.applied_to(project.production)
    assert settings.for_s["WebDown"] == 30.0 and settings.for_s["DatabaseDown"] == 120.0
    assert settings.scrape_interval_s == 5.0 and settings.evaluation_interval_s == 60.0


def test_a_scenario_production_alert_must_be_the_projects(tmp_path: Path) -> None:
    project = load_project(write_small_project(tmp_path, PROJECT + PRODUCTION, PROD_FILES))
    text = SCENARIO + "production:\n  for: {WebDwn: 30s}\n"
    with pytest.raises(ScenarioError, match=r"production\.for\.WebDwn.*an alert of the rule"):
        parse_scenario(text, tmp_path / "s.yml", project)
