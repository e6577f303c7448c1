"""Verdicts that mean something: detection gaps, KPIs apart from budgets, the host's load
deciding nothing, and the symptom's onset read from Prometheus."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from drill_fakes import FakePrometheus
from hypothesis import given
from hypothesis import strategies as st

from gameday.infra.host import HostMonitor, HostSample, usage_between
from gameday.inputs.monitoring import ObjectivesSpec
from gameday.inputs.scenario import Scenario, load_scenario
from gameday.record import AlertSpan, AlertTiming, DetectionGap, ErrorBudget, HostRecord
from gameday.stages.detection import symptom_onset
from gameday.stages.gaps import GapLimits, detection_gaps
from gameday.stages.grading import Measurements, grade, over_quantile_beyond_chance
from gameday.stages.load import RequestRecord

T0 = datetime(2026, 1, 5, 9, 0, 0, tzinfo=UTC)
DATABASE_OUTAGE = Path(__file__).parents[2] / "scenarios" / "database-outage.yml"
LIMITS = GapLimits(max_error_rate=0.01, max_p95_ms=None, window_s=3.0, min_gap_s=10.0)
QUIET_HOST = HostRecord(
    cpus=2,
    cpu_pressure=0.05,
    cpu_busy=0.3,
    load_lag_max_s=0.01,
    requests_not_sent=0,
    requests_scheduled=600,
)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def requests(seconds: int, failing: range, rate: int = 10) -> list[RequestRecord]:
    """``rate`` requests a second for ``seconds``; those in the ``failing`` seconds fail."""
    out = []
    for second in range(seconds):
        for i in range(rate):
            failed = second in failing
            out.append(
                RequestRecord(
                    at(second + i / rate),
                    "read",
                    None if failed else 200,
                    5.0,
                    "Server disconnected" if failed else "",
                )
            )
    return out


def firing(start: float, end: float | None) -> AlertSpan:
    return AlertSpan(
        name="ServiceDown",
        firing_at=at(start),
        resolved_at=None if end is None else at(end),
    )


# -- detection gaps -------------------------------------------------------------------------


def test_users_failing_with_no_alert_is_a_gap() -> None:
    gaps = detection_gaps(requests(60, range(6, 36)), [], T0, at(60), LIMITS)
    (gap,) = gaps
    assert (gap.start_s, gap.end_s) == (6.0, 36.0)
    assert gap.error_rate == 1.0
    assert gap.detail == "users saw 100% errors for 30 s (T+6 s); no alert was firing"


def test_an_alert_firing_covers_the_failure() -> None:
    alerts = [firing(7.0, 40.0)]
    # users fail from 6 s to 36 s; the alert fires at 7 s: only the first window is silent,
    # shorter than the 10 s a detection may take
    assert detection_gaps(requests(60, range(6, 36)), alerts, T0, at(60), LIMITS) == ()


def test_failure_after_the_alert_resolved_is_a_gap() -> None:
    alerts = [firing(2.0, 12.0)]
    (gap,) = detection_gaps(requests(60, range(3, 45)), alerts, T0, at(60), LIMITS)
    assert (gap.start_s, gap.end_s) == (12.0, 45.0)


def test_a_short_failure_is_detection_latency_not_a_gap() -> None:
    assert detection_gaps(requests(30, range(3, 9)), [], T0, at(30), LIMITS) == ()


def test_slow_answers_are_a_gap_only_when_the_steady_state_limits_latency() -> None:
    slow = [
        RequestRecord(r.at, r.kind, 200, 900.0 if 10 <= (r.at - T0).total_seconds() < 40 else 5, "")
        for r in requests(60, range(0))
    ]
    assert detection_gaps(slow, [], T0, at(60), LIMITS) == ()
    limited = GapLimits(0.01, 200.0, 3.0, 10.0)
    (gap,) = detection_gaps(slow, [], T0, at(60), limited)
    assert "a p95 of 900 ms" in gap.detail


# -- the host -------------------------------------------------------------------------------


def test_host_usage_is_the_share_of_time_between_two_samples() -> None:
    first = HostSample(at=100.0, stalled_us=1_000_000, busy_ticks=1000, total_ticks=4000)
    last = HostSample(at=110.0, stalled_us=7_000_000, busy_ticks=2800, total_ticks=6000)
    usage = usage_between(first, last)
    assert usage.cpu_pressure == pytest.approx(0.6)
    assert usage.cpu_busy == pytest.approx(0.9)


def test_a_host_without_pressure_files_says_nothing(tmp_path: Path) -> None:
    monitor = HostMonitor(pressure_file=tmp_path / "none", stat_file=tmp_path / "none")
    monitor.start()
    usage = monitor.stop()
    assert usage.cpu_pressure is None and usage.cpu_busy is None


def test_the_host_monitor_reads_linux_files(tmp_path: Path) -> None:
    pressure, stat = tmp_path / "pressure", tmp_path / "stat"
    io = tmp_path / "io"
    pressure.write_text("some avg10=0.00 avg60=0.00 avg300=0.00 total=5000\nfull total=0\n")
    io.write_text("some avg10=0.00 avg60=0.00 avg300=0.00 total=700\nfull total=300\n")
    stat.write_text("cpu  100 0 100 700 60 0 0 40 0 0\ncpu0 1 2 3\n")
    monitor = HostMonitor(pressure_file=pressure, stat_file=stat, io_pressure_file=io)
    sample = monitor.sample()
    assert (sample.stalled_us, sample.busy_ticks, sample.total_ticks) == (5000, 240, 1000)
    assert (sample.io_stalled_us, sample.steal_ticks) == (700, 40)


def test_io_pressure_and_steal_are_shares_of_the_time_between_two_samples() -> None:
    first = HostSample(100.0, None, 1000, 4000, io_stalled_us=0, steal_ticks=100)
    last = HostSample(110.0, None, 2000, 6000, io_stalled_us=2_500_000, steal_ticks=600)
    usage = usage_between(first, last)
    assert usage.io_pressure == pytest.approx(0.25)
    assert usage.cpu_steal == pytest.approx(0.25)  # 500 of the 2000 ticks
    assert usage.cpu_pressure is None


# -- grading --------------------------------------------------------------------------------


@pytest.fixture
def scenario() -> Scenario:
    return load_scenario(DATABASE_OUTAGE)


def measured(**changes: object) -> Measurements:
    values: dict[str, object] = {
        "alert_mttd_s": {"DatabaseDown": 4.0},
        "mttr_s": 20.0,
        "p95_ms": 120.0,
        "error_rate": 0.05,
        "availability": 0.8,
        "lost_writes": 0,
        "host": QUIET_HOST,
    }
    values.update(changes)
    return Measurements(**values)  # type: ignore[arg-type]


def test_a_failure_on_a_saturated_host_is_inconclusive(scenario: Scenario) -> None:
    busy = QUIET_HOST.model_copy(update={"cpu_pressure": 0.85, "cpu_busy": 1.0})
    graded = grade(scenario, measured(mttr_s=None, steady_problems=("error rate 40%",), host=busy))
    assert graded.verdict == "inconclusive" and not graded.passed
    (why,) = graded.inconclusive
    assert "tasks waited for a CPU 85% of the time" in why
    assert "the host's, not the system's" in why
    # What was measured is kept, for the report.
    assert any("steady state never came back" in r for r in graded.reasons)


def test_a_pass_on_a_saturated_host_stands_with_a_note(scenario: Scenario) -> None:
    busy = QUIET_HOST.model_copy(update={"cpu_pressure": 0.85})
    graded = grade(scenario, measured(host=busy))
    assert graded.verdict == "passed"
    assert graded.host_notes and "passed regardless" in graded.host_notes[0]


def test_a_load_that_fell_behind_is_inconclusive_even_when_it_passed(scenario: Scenario) -> None:
    behind = QUIET_HOST.model_copy(
        update={"requests_not_sent": 34, "requests_scheduled": 600, "load_lag_max_s": 1.2}
    )
    graded = grade(scenario, measured(host=behind))
    assert graded.verdict == "inconclusive"
    assert "34 of 600 requests, 5.7%, not sent" in graded.inconclusive[0]


def test_a_failure_on_a_quiet_host_is_a_failure(scenario: Scenario) -> None:
    graded = grade(scenario, measured(mttr_s=None))
    assert graded.verdict == "failed" and graded.inconclusive == ()


def test_a_gap_is_a_finding_unless_the_scenario_fails_on_it(scenario: Scenario) -> None:
    gap = DetectionGap(start_s=30, end_s=120, error_rate=0.42, detail="users saw 42% errors")
    graded = grade(scenario, measured(gaps=(gap,)))
    check = next(c for c in graded.checks if c.id == "silent")
    assert graded.passed and check.scope == "finding" and check.measured == "1, longest 90 s"
    strict = scenario.model_copy(
        update={"detection": scenario.detection.model_copy(update={"silent_failures": "fail"})}
    )
    graded = grade(strict, measured(gaps=(gap,)))
    assert not graded.passed
    assert "detection gap: users saw 42% errors" in graded.reasons


OBJECTIVES = ObjectivesSpec(mttd=300, mttr=3600, p95_ms=200, error_rate=0.01, availability=0.999)


def kpis(**changes: object) -> Measurements:
    values: dict[str, object] = {
        "timings": (
            AlertTiming(
                alert="DatabaseDown",
                firing_s=4.0,
                notify_s=5.0,
                production_least_s=90.0,
                production_most_s=150.0,
            ),
        ),
        "production_mttr_s": (106.0, 166.0),
        "steady_p95_ms": 40.0,
        "steady_error_rate": 0.0,
        "error_budget": ErrorBudget(
            objective=0.999,
            window_s=2_592_000,
            budget_s=2592,
            burned_s=15,
            projected_least_s=80,
            projected_most_s=125,
        ),
    }
    values.update(changes)
    return measured(**values)


def test_the_playbooks_kpis_are_judged_on_production(scenario: Scenario) -> None:
    graded = grade(scenario, kpis(), OBJECTIVES)
    by_id = {c.id: c for c in graded.checks if c.scope == "kpi"}
    assert set(by_id) == {
        "kpi:mttd",
        "kpi:mttr",
        "kpi:p95",
        "kpi:error_rate",
        "kpi:availability",
    }
    assert all(c.passed for c in by_id.values())
    assert by_id["kpi:mttd"].measured == "1.5 to 2.5 min projected"
    assert by_id["kpi:availability"].measured == "2.1 min (5% of 43.2 min)"
    # The regression budgets are graded apart.
    assert {c.scope for c in graded.checks} >= {"kpi", "budget"}


def test_a_slow_production_detection_fails_the_kpi_not_the_budget(scenario: Scenario) -> None:
    slow = (
        AlertTiming(
            alert="DatabaseDown",
            firing_s=4.0,
            notify_s=5.0,
            production_least_s=200.0,
            production_most_s=420.0,
        ),
    )
    graded = grade(scenario, kpis(timings=slow), OBJECTIVES)
    assert not graded.passed
    assert graded.failed_scopes() == ["KPIs"]
    assert (
        "DatabaseDown would notify 3.3 to 7.0 min after the fault in production, which can "
        "be over the playbook's 5.0 min" in graded.reasons
    )


def test_without_objectives_no_kpi_is_judged(scenario: Scenario) -> None:
    assert not [c for c in grade(scenario, kpis()).checks if c.scope == "kpi"]


# -- the symptom's onset ----------------------------------------------------------------------


def test_the_symptom_onset_is_the_first_point_where_the_expression_held() -> None:
    with FakePrometheus() as prometheus:
        prometheus.ranges["expr:DatabaseDown"] = [
            {"metric": {"job": "other"}, "values": [[at(0.25).timestamp(), "0"]]},
            {
                "metric": {"__name__": "up", "job": "postgres"},
                "values": [[at(1.5).timestamp(), "0"], [at(1.75).timestamp(), "0"]],
            },
        ]
        onset = symptom_onset(
            prometheus.url,
            ["expr:DatabaseDown"],
            {"alertname": "DatabaseDown", "job": "postgres", "severity": "critical"},
            T0,
            at(3),
        )
        (asked,) = prometheus.range_queries
    assert onset == at(1.5)  # the other job's series is not this alert's
    assert float(asked["step"]) == 0.25
    assert float(asked["start"]) == pytest.approx(T0.timestamp())


def test_no_onset_when_prometheus_cannot_tell() -> None:
    with FakePrometheus() as prometheus:
        assert symptom_onset(prometheus.url, ["expr:X"], {"job": "x"}, T0, at(3)) is None
        prometheus.broken = True
        assert symptom_onset(prometheus.url, ["expr:X"], {"job": "x"}, T0, at(3)) is None
    assert symptom_onset("http://127.0.0.1:9", [""], {}, T0, T0) is None


def test_cpus_always_busy_mean_saturated_with_or_without_pressure(scenario: Scenario) -> None:
    no_psi = QUIET_HOST.model_copy(update={"cpu_pressure": None, "cpu_busy": 0.99})
    graded = grade(scenario, measured(mttr_s=None, host=no_psi))
    assert graded.verdict == "inconclusive"
    assert "its CPUs were 99% busy" in graded.inconclusive[0]
    calm = QUIET_HOST.model_copy(update={"cpu_pressure": None, "cpu_busy": 0.6})
    assert grade(scenario, measured(mttr_s=None, host=calm)).verdict == "failed"
    hog = QUIET_HOST.model_copy(update={"cpu_pressure": 0.1, "cpu_busy": 1.0})
    assert grade(scenario, measured(mttr_s=None, host=hog)).verdict == "inconclusive"


def test_a_failure_while_the_load_generator_was_stalled_is_inconclusive(
    scenario: Scenario,
) -> None:
    # The kernel's figures look calm (a virtual machine's stolen time is not in them), but
    # the load generator's own loop woke late 30% of the drill.
    stalled = QUIET_HOST.model_copy(update={"client_stalled": 0.3, "client_stall_max_s": 0.31})
    graded = grade(scenario, measured(mttr_s=None, host=stalled))
    assert graded.verdict == "inconclusive"
    (why,) = graded.inconclusive
    assert "load generator itself was stalled 30% of the drill, the longest 310 ms" in why
    assert "not the system's" in why
    # The same stalls below the limit decide nothing.
    calm = stalled.model_copy(update={"client_stalled": 0.11})
    assert grade(scenario, measured(mttr_s=None, host=calm)).verdict == "failed"
    # And a pass on a stalled client stands, with a note.
    passed = grade(scenario, measured(host=stalled))
    assert passed.verdict == "passed" and "passed regardless" in passed.host_notes[0]


def test_a_stalled_steady_state_decides_only_the_steady_state_figures(scenario: Scenario) -> None:
    # 40% of the short steady state before the fault, 5% of the drill.
    host = QUIET_HOST.model_copy(update={"client_stalled": 0.05, "steady_client_stalled": 0.4})
    eight_slow = (40.0,) * 42 + (300.0,) * 8
    slow = kpis(steady_p95_ms=300.0, steady_latencies_ms=eight_slow, host=host)
    graded = grade(scenario, slow, OBJECTIVES)
    assert graded.verdict == "inconclusive"
    (why,) = graded.inconclusive
    assert "stalled 40% of the steady state before the fault" in why
    # A failure the steady state did not measure (recovery) is the system's, alone or
    # beside a failed steady-state figure.
    unrecovered = grade(scenario, measured(mttr_s=None, host=host))
    assert unrecovered.verdict == "failed"
    assert "no steady-state figure failed" in unrecovered.host_notes[0]
    both = dataclasses.replace(slow, mttr_s=None, steady_problems=("error rate 40%",))
    graded = grade(scenario, both, OBJECTIVES)
    assert graded.verdict == "failed" and not graded.inconclusive
    assert "its figures may be the host's" in graded.host_notes[0]


def test_the_stalled_share_counts_only_the_window_asked_for() -> None:
    from gameday.stages.load import LoadLag

    # Stalls of 0.5 s ending at 2 s, and of 1 s ending at 10 s.
    lag = LoadLag(100, 0, 0.0, stalls=((at(2), 0.5), (at(10), 1.0)), started_at=T0)
    assert lag.stalled_share(T0, at(10)) == pytest.approx(0.15)
    assert lag.stalled_share(at(1.75), at(2)) == pytest.approx(1.0)
    assert lag.stalled_share(at(9.5), at(12)) == pytest.approx(0.2)
    assert lag.stalled_share(at(3), at(8)) == 0.0
    assert lag.stalled_share(at(5), at(5)) == 0.0


def test_the_host_record_keeps_the_stalls_of_the_drill_and_of_its_steady_state() -> None:
    from gameday.infra.host import HostUsage
    from gameday.stages.grading import host_record
    from gameday.stages.load import LoadLag

    lag = LoadLag(100, 0, 0.0, stalls=((at(2), 0.5), (at(30), 1.5)), started_at=T0)
    record = host_record(HostUsage(40.0, 2, 0.3, 0.5), lag, (T0, at(5)))
    assert record.client_stalled == 0.05  # 2 s of 40
    assert record.client_stall_max_s == 1.5
    assert record.steady_client_stalled == 0.1  # 0.5 s of the first 5


def test_pytest_says_inconclusive_rather_than_failed() -> None:
    import dataclasses
    import sys

    sys.path.insert(0, str(Path(__file__).parent / "report"))
    from reportjournals import real_result

    from gameday.adapters.pytest_plugin import failure_message
    from gameday.stages.grading import Grade

    result = real_result()
    busy = dataclasses.replace(
        result,
        grade=Grade(
            result.grade.checks,
            inconclusive=("the host was saturated: tasks waited for a CPU 90% of the drill",),
        ),
    )
    message = failure_message(busy)
    assert message.startswith("drill database-outage (Database outage) was inconclusive")
    assert "  - the host was saturated: tasks waited for a CPU 90% of the drill" in message
    assert "failed its grade" not in message


def test_the_steady_state_kpis_judge_only_the_requests_sent_once_it_held() -> None:
    from datetime import UTC, datetime, timedelta

    from gameday.stages.load import LoadReport, RequestRecord
    from gameday.stages.run import _outside_incident

    t0 = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)

    def sent(s: float, ms: float) -> RequestRecord:
        return RequestRecord(t0 + timedelta(seconds=s), "read", 200, ms, "")

    # A previous drill's tail (500 ms reads, alerts still active) until 3 s, steady after.
    load = LoadReport(
        requests=(sent(0, 500), sent(1, 520), sent(3.5, 9), sent(4, 11), sent(9, 7)),
        acknowledged=(),
    )
    fault = t0 + timedelta(seconds=8)
    judged = _outside_incident(load, fault, t0 + timedelta(seconds=3))
    assert [r.latency_ms for r in judged.requests] == [9, 11]
    everything = _outside_incident(load, fault, None)  # steady from the start
    assert [r.latency_ms for r in everything.requests] == [500, 520, 9, 11]


def test_a_few_slow_requests_in_a_short_steady_state_do_not_fail_the_p95_objective(
    scenario: Scenario,
) -> None:
    # 50 requests, 3 over 200 ms: the percentile is over, but a service whose p95 is 200 ms
    # gives 3 of 50 nearly half the time.
    three_slow = (40.0,) * 47 + (230.0, 240.0, 250.0)
    graded = grade(scenario, kpis(steady_p95_ms=230.0, steady_latencies_ms=three_slow), OBJECTIVES)
    p95 = next(c for c in graded.checks if c.id == "kpi:p95")
    assert p95.passed
    assert "3 of 50 requests over 200 ms: within chance" in p95.measured


def test_a_steady_state_that_is_slow_beyond_chance_fails_the_p95_objective(
    scenario: Scenario,
) -> None:
    eight_slow = (40.0,) * 42 + (300.0,) * 8
    graded = grade(scenario, kpis(steady_p95_ms=300.0, steady_latencies_ms=eight_slow), OBJECTIVES)
    p95 = next(c for c in graded.checks if c.id == "kpi:p95")
    assert not p95.passed
    assert "8 of 50 requests over 200 ms, more than chance" in p95.reason


@given(n=st.integers(min_value=1, max_value=400), over=st.integers(min_value=0, max_value=400))
def test_the_p95_test_needs_more_slow_requests_than_chance_gives(n: int, over: int) -> None:
    over = min(over, n)
    latencies = [300.0] * over + [10.0] * (n - over)
    shown = over_quantile_beyond_chance(latencies, 200.0)
    # Never with a share of slow requests at or under 5%, and always once more than 5% are
    # slow by a margin that chance cannot reach (binomial: mean 5%, well past 3 sigma).
    if over <= 0.05 * n:
        assert not shown
    sigma = (n * 0.05 * 0.95) ** 0.5
    if over > 0.05 * n + 4 * sigma + 1:
        assert shown
    # One more slow request never turns a shown failure into none.
    if shown and over < n:
        assert over_quantile_beyond_chance([300.0] * (over + 1) + [10.0] * (n - over - 1), 200.0)


def test_the_p95_test_takes_a_long_drills_requests() -> None:
    # 20,000 requests (a long drill): 6% slow is beyond chance, 5% is not; no overflow.
    assert over_quantile_beyond_chance([300.0] * 1200 + [10.0] * 18800, 200.0)
    assert not over_quantile_beyond_chance([300.0] * 1000 + [10.0] * 19000, 200.0)
