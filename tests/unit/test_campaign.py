"""Campaigns without Docker: the seeded draw, the shrinker, schedule files, the fault pool,
the invariants (on fake alert episodes), the minimal scenario file and the report page.

The project is the real examples/orders one; nothing here starts a container."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gameday.errors import ProjectError, ScenarioError
from gameday.inputs.campaign import (
    CampaignSpec,
    PlannedFault,
    Schedule,
    Wave,
    read_schedule,
    schedule_yaml,
)
from gameday.inputs.project import Project, load_project
from gameday.inputs.scenario import Scenario, load_all, load_scenario
from gameday.record import CampaignRecord, HostRecord, ViolationRecord, parse_campaign
from gameday.stages.campaign import invariants
from gameday.stages.campaign.minimal import write_minimal
from gameday.stages.campaign.runner import FaultRun
from gameday.stages.campaign.schedule import (
    FaultKind,
    draw_waves,
    fault_pool,
    hold_of,
)
from gameday.stages.campaign.shrink import (
    ShrinkLimit,
    ddmin,
    fault_ids,
    same_failure,
    subset_schedule,
)
from gameday.stages.detection import AlertObservation
from gameday.stages.report.campaign import read_campaign, write_campaign_report

ORDERS = Path(__file__).parents[2] / "examples" / "orders"
T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def orders() -> tuple[Project, list[Scenario]]:
    project = load_project(ORDERS / "gameday.yml")
    return project, load_all([project.scenarios_dir], project)


@pytest.fixture(scope="module")
def pool(orders: tuple[Project, list[Scenario]]) -> dict[str, FaultKind]:
    return fault_pool(*orders)


def first_waves(pool: dict[str, FaultKind], spec: CampaignSpec, seed: int, n: int) -> list[Wave]:
    waves = draw_waves(pool, spec, seed)
    return [next(waves) for _ in range(n)]


# -- the draw ----------------------------------------------------------------------------


def test_the_pool_is_the_projects_automatic_scenarios_in_name_order(
    pool: dict[str, FaultKind],
) -> None:
    assert list(pool) == sorted(pool)
    assert set(pool) == {
        "api-crash",
        "database-outage",
        "queue-outage",
        "worker-frozen",
        "worker-partition",
    }
    assert pool["worker-partition"].targets >= {"service:worker", "network:back"}


def test_the_same_seed_draws_the_same_waves_and_another_seed_others(
    pool: dict[str, FaultKind],
) -> None:
    spec = CampaignSpec()
    assert first_waves(pool, spec, 7, 30) == first_waves(pool, spec, 7, 30)
    assert first_waves(pool, spec, 7, 30) != first_waves(pool, spec, 8, 30)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    most=st.integers(1, 3),
    hold=st.tuples(st.floats(5, 60), st.floats(0, 30)).map(lambda t: [t[0], t[0] + t[1]]),
    recovery=st.sampled_from(["playbook", "revert", "either"]),
)
def test_every_drawn_wave_keeps_the_projects_limits(
    pool: dict[str, FaultKind], seed: int, most: int, hold: list[float], recovery: str
) -> None:
    spec = CampaignSpec.model_validate(
        {
            "max_concurrent": most,
            "hold_s": hold,
            "stagger_s": [0.0, hold[0] / 2],
            "recovery": recovery,
        }
    )
    for wave in first_waves(pool, spec, seed, 15):
        assert 1 <= len(wave.faults) <= most
        assert wave.faults[0].start_s == 0
        seen: set[str] = set()
        for fault in wave.faults:
            assert not (pool[fault.scenario].targets & seen), "two faults on one target"
            seen |= pool[fault.scenario].targets
            assert hold[0] - 0.05 <= fault.hold_s <= hold[1] + 0.05
            assert fault.start_s <= hold[0] / 2 + 0.05  # in while the first is still in
            if recovery != "either":
                assert fault.recovery == recovery


def test_a_fault_is_held_at_least_as_long_as_its_alerts_have_to_fire(
    pool: dict[str, FaultKind],
) -> None:
    kind = pool["worker-frozen"]  # within_s 20, mttd_s 20
    assert hold_of(PlannedFault(scenario=kind.name, hold_s=5), kind) == 20
    assert hold_of(PlannedFault(scenario=kind.name, hold_s=33), kind) == 33


# -- the project's limits ------------------------------------------------------------------


def test_limits_that_cannot_overlap_are_refused() -> None:
    with pytest.raises(ValueError, match="stagger_s"):
        CampaignSpec.model_validate({"hold_s": [10, 20], "stagger_s": [0, 15]})
    with pytest.raises(ValueError, match=r"\[least, most\]"):
        CampaignSpec.model_validate({"hold_s": [30, 20]})


def copy_orders(tmp_path: Path, campaign: str) -> Path:
    import shutil

    shutil.copytree(ORDERS, tmp_path / "orders", ignore=shutil.ignore_patterns("reports"))
    project_file = tmp_path / "orders" / "gameday.yml"
    project_file.write_text(project_file.read_text() + campaign)
    return project_file


def test_an_unknown_scenario_in_the_campaign_limits_names_its_line(tmp_path: Path) -> None:
    project_file = copy_orders(tmp_path, "campaign:\n  scenarios: [api-crash, api-krash]\n")
    project = load_project(project_file)
    with pytest.raises(ProjectError) as caught:
        fault_pool(project, load_all([project.scenarios_dir], project))
    message = str(caught.value)
    lines = project_file.read_text().splitlines()
    line = next(i for i, text in enumerate(lines, start=1) if "api-krash" in text)
    assert f"gameday.yml:{line}" in message
    assert "campaign.scenarios[1]" in message or "campaign.scenarios.1" in message
    assert "'api-krash'" in message and "api-crash" in message


def test_services_limit_the_pool_to_faults_on_them_only(tmp_path: Path) -> None:
    project_file = copy_orders(tmp_path, "campaign:\n  services: [queue, worker]\n")
    project = load_project(project_file)
    pool = fault_pool(project, load_all([project.scenarios_dir], project))
    assert set(pool) == {"queue-outage", "worker-frozen", "worker-partition"}


# -- shrinking -----------------------------------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(
    n=st.integers(1, 24),
    data=st.data(),
)
def test_ddmin_finds_exactly_the_planted_faults(n: int, data: st.DataObject) -> None:
    items = list(range(n))
    planted = set(data.draw(st.sets(st.sampled_from(items), min_size=1, max_size=min(3, n))))
    tested: set[tuple[int, ...]] = set()

    def fails(candidate: list[int]) -> bool:
        tested.add(tuple(sorted(candidate)))  # the campaign remembers what it ran
        return planted <= set(candidate)

    assert set(ddmin(items, fails)) == planted
    # Few tests: each is a real campaign run.
    assert len(tested) <= 4 * len(planted) * max(1, n.bit_length()) + 4


def test_ddmin_that_runs_out_of_tests_returns_a_failing_superset() -> None:
    planted = {3, 11}
    budget = [10]

    def fails(candidate: list[int]) -> bool:
        if budget[0] == 0:
            raise ShrinkLimit
        budget[0] -= 1
        return planted <= set(candidate)

    found = ddmin(list(range(16)), fails)
    assert planted <= set(found) and len(found) < 16


def test_a_subset_drops_empty_waves_and_starts_a_wave_at_its_first_kept_fault() -> None:
    schedule = Schedule(
        seed=3,
        waves=[
            Wave(faults=[PlannedFault(scenario="a", hold_s=20)]),
            Wave(
                faults=[
                    PlannedFault(scenario="b", hold_s=20),
                    PlannedFault(scenario="c", start_s=4.5, hold_s=25),
                ]
            ),
        ],
    )
    assert fault_ids(schedule) == [(0, 0), (1, 0), (1, 1)]
    smaller = subset_schedule(schedule, [(1, 1)])
    assert smaller.seed == 3
    assert smaller.waves == [Wave(faults=[PlannedFault(scenario="c", start_s=0, hold_s=25)])]


def test_only_the_same_invariant_on_the_same_fault_counts_as_the_failure_again() -> None:
    target = ViolationRecord(invariant="detection", wave=4, scenario="q", subject="QueueDown")
    again = target.model_copy(update={"wave": 1})
    other = target.model_copy(update={"subject": "WorkerStalled"})
    assert same_failure(target, [other, again]) == "broke"
    assert same_failure(target, [other]) == "held"
    assert same_failure(target, [again.model_copy(update={"inconclusive": True})]) == (
        "inconclusive"
    )


# -- schedule files ------------------------------------------------------------------------


def test_a_schedule_file_reads_back_as_written(tmp_path: Path, pool: dict[str, FaultKind]) -> None:
    schedule = Schedule(seed=11, waves=first_waves(pool, CampaignSpec(), 11, 6))
    path = tmp_path / "s.yml"
    path.write_text(schedule_yaml(schedule, "a header\nof two lines"))
    assert path.read_text().startswith("# a header\n# of two lines\n")
    assert read_schedule(path, list(pool)) == schedule


def test_a_schedule_names_the_line_of_an_unknown_scenario(tmp_path: Path) -> None:
    path = tmp_path / "s.yml"
    path.write_text(
        "seed: 1\nwaves:\n  - faults:\n      - {scenario: api-crash, hold_s: 20}\n"
        "      - {scenario: api-krash, hold_s: 20}\n"
    )
    with pytest.raises(ScenarioError) as caught:
        read_schedule(path, ["api-crash", "queue-outage"])
    message = str(caught.value)
    assert f"{path}:5" in message and "'api-krash'" in message


def test_a_schedule_with_a_bad_hold_names_the_field(tmp_path: Path) -> None:
    path = tmp_path / "s.yml"
    path.write_text("waves:\n  - faults:\n      - {scenario: api-crash, hold_s: -3}\n")
    with pytest.raises(ScenarioError, match=r"s\.yml:3.*hold_s"):
        read_schedule(path, ["api-crash"])


def test_a_campaign_journal_replays_its_schedule(tmp_path: Path) -> None:
    record = sample_record()
    path = tmp_path / "campaign.json"
    path.write_text(record.to_json())
    schedule = read_schedule(path, ["api-crash", "queue-outage"])
    assert schedule.seed == 42
    assert schedule.scenarios() == ["api-crash", "queue-outage"]
    assert read_campaign(path) == record


def test_a_run_journal_is_not_a_campaign_journal() -> None:
    from gameday.errors import ReportError

    with pytest.raises(ReportError, match="not a campaign journal"):
        parse_campaign({"run_id": "x", "scenarios": []}, "journal.json")


# -- invariants ----------------------------------------------------------------------------


def fault_run(pool: dict[str, FaultKind], name: str, at: datetime) -> FaultRun:
    planned = PlannedFault(scenario=name, hold_s=20)
    return FaultRun(1, planned, pool[name], hold_of(planned, pool[name]), injected_at=at)


def episode(name: str, firing_s: float | None, resolved_s: float | None = None) -> AlertObservation:
    def at(s: float | None) -> datetime | None:
        return None if s is None else T0 + timedelta(seconds=s)

    return AlertObservation(name, {}, at(firing_s), at(firing_s), at(resolved_s))


def test_an_alert_that_fires_in_time_holds_and_one_that_does_not_breaks(
    pool: dict[str, FaultKind],
) -> None:
    queue = fault_run(pool, "queue-outage", T0)  # QueueDown within 15 s
    api = fault_run(pool, "api-crash", T0 + timedelta(seconds=2))
    found = invariants.detection(1, [queue, api], [episode("OrdersApiDown", 5.0)])
    assert queue.detected_s == {"QueueDown": None}
    assert api.detected_s == {"OrdersApiDown": 3.0}
    [violation] = found
    assert violation.signature() == ("detection", "queue-outage", "QueueDown")
    assert "with api-crash in too" in violation.detail
    late = invariants.detection(
        1, [fault_run(pool, "queue-outage", T0)], [episode("QueueDown", 16)]
    )
    assert len(late) == 1


def test_an_alert_already_firing_when_the_fault_goes_in_counts(pool: dict[str, FaultKind]) -> None:
    run = fault_run(pool, "queue-outage", T0 + timedelta(seconds=10))
    assert invariants.detection(1, [run], [episode("QueueDown", 2.0)]) == []
    assert run.detected_s == {"QueueDown": 0.0}
    gone = fault_run(pool, "queue-outage", T0 + timedelta(seconds=10))
    assert invariants.detection(1, [gone], [episode("QueueDown", 2.0, resolved_s=4.0)])


def test_a_violation_on_a_saturated_host_is_inconclusive() -> None:
    broken = [ViolationRecord(invariant="steady_state", wave=2, detail="never came back")]
    quiet = HostRecord(cpus=2, cpu_pressure=0.5, cpu_busy=0.7, requests_scheduled=400)
    busy = HostRecord(cpus=2, cpu_pressure=0.91, cpu_busy=0.99, requests_scheduled=400)
    behind = HostRecord(cpus=2, cpu_pressure=0.2, requests_scheduled=400, requests_not_sent=9)
    assert invariants.judge_host(broken, quiet) == broken
    [judged] = invariants.judge_host(broken, busy)
    assert judged.inconclusive and "tasks waited for a CPU 91% of the time" in judged.detail
    [judged] = invariants.judge_host(broken, behind)
    assert judged.inconclusive and "load generator fell behind" in judged.detail


# -- what a person gets --------------------------------------------------------------------


def test_the_minimal_schedule_is_written_as_a_valid_scenario_and_a_schedule(
    tmp_path: Path, orders: tuple[Project, list[Scenario]], pool: dict[str, FaultKind]
) -> None:
    project, _ = orders
    minimal = Schedule(
        seed=42,
        waves=[
            Wave(
                faults=[
                    PlannedFault(scenario="api-crash", hold_s=20),
                    PlannedFault(scenario="queue-outage", start_s=3.2, hold_s=25),
                ]
            )
        ],
    )
    target = ViolationRecord(
        invariant="detection",
        wave=3,
        scenario="queue-outage",
        subject="QueueDown",
        detail="QueueDown did not fire within 15 s of queue-outage going in",
    )
    scenario_path, schedule_path = write_minimal(tmp_path, minimal, pool, target, project)
    scenario = load_scenario(scenario_path, project)
    assert scenario.name == "campaign-42-minimal"
    assert [f.type for f in scenario.faults] == ["kill_service", "kill_service"]
    assert set(scenario.detection.expect) == {"OrdersApiDown", "QueueDown"}
    assert "queue-outage at 3.2 s" in scenario.description
    assert scenario_path.read_text().startswith("# Written by `gameday campaign`")
    assert read_schedule(schedule_path, list(pool)) == minimal


def sample_record() -> CampaignRecord:
    later = T0 + timedelta(seconds=95)
    return CampaignRecord.model_validate(
        {
            "run_id": "gd-test",
            "project": "orders",
            "seed": 42,
            "verdict": "broken",
            "started_at": T0.isoformat(),
            "ended_at": later.isoformat(),
            "schedule": {
                "seed": 42,
                "waves": [
                    {
                        "faults": [
                            {"scenario": "api-crash", "start_s": 0, "hold_s": 20},
                            {"scenario": "queue-outage", "start_s": 3, "hold_s": 25},
                        ]
                    }
                ],
            },
            "faults": [
                {
                    "wave": 1,
                    "scenario": "queue-outage",
                    "injected_at": (T0 + timedelta(seconds=8)).isoformat(),
                    "reverted_at": (T0 + timedelta(seconds=40)).isoformat(),
                    "detected_s": {"QueueDown": None},
                    "budget_s": 15,
                }
            ],
            "waves": [{"index": 1, "started_at": T0.isoformat(), "ended_at": later.isoformat()}],
            "violations": [
                {
                    "invariant": "detection",
                    "wave": 1,
                    "scenario": "queue-outage",
                    "subject": "QueueDown",
                    "detail": "QueueDown <did not> fire",
                    "at": (T0 + timedelta(seconds=23)).isoformat(),
                }
            ],
            "load_series": [
                {"start": (T0 + timedelta(seconds=s)).isoformat(), "requests": 20, "errors": s % 3}
                for s in range(90)
            ],
            "overhead_s": {"faults": 3.0, "checks": 1.5, "slip": 0.5, "wall": 95.0},
            "requests": 1800,
            "acknowledged_writes": 540,
            "lost_writes": 0,
        }
    )


def test_the_report_page_draws_the_campaign_and_escapes_its_text(tmp_path: Path) -> None:
    record = sample_record()
    page = write_campaign_report(record, tmp_path).read_text()
    assert "Campaign report" in page and "broken" in page
    assert "QueueDown &lt;did not&gt; fire" in page and "<did not>" not in page
    assert page.count("<svg") == 4  # faults, alerts, error rate, latency
    assert "w1 queue-outage" in page
    assert "5.3%" in page  # gameday's own share: 5 s of 95 s
    json.loads(record.to_json())  # and the record is plain JSON


# -- the command's bad input ------------------------------------------------------------------


def campaign_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gameday", "campaign", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--duration", "5x"), "expected a duration such as 10m or 90s, got '5x'"),
        (("--replay", "nothere.yml"), "nothere.yml: cannot read the schedule file"),
        (("--replay", "campaign.json", "--seed", "3"), "--replay runs a recorded schedule"),
        (("--seed", "-3"), "Invalid value for '--seed'"),
    ],
)
def test_bad_campaign_options_are_one_clear_message_and_exit_2(
    tmp_path: Path, args: tuple[str, ...], expected: str
) -> None:
    project_file = copy_orders(tmp_path, "")
    done = campaign_cli(*args, cwd=project_file.parent)
    assert done.returncode == 2, done.stderr
    assert expected in done.stderr
    assert "Traceback" not in done.stderr


def test_a_campaign_without_scenarios_says_where_it_looked(tmp_path: Path) -> None:
    import shutil

    project_file = copy_orders(tmp_path, "")
    shutil.rmtree(project_file.parent / "scenarios")
    done = campaign_cli("--waves", "1", cwd=project_file.parent)
    assert done.returncode == 2
    assert f"{project_file.parent / 'scenarios'} (scenarios: in {project_file}) has none" in (
        done.stderr
    )
