"""The alert watch against a FakePrometheus and a FakeAlertmanager on 127.0.0.1."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from drill_fakes import FakeAlertmanager, FakePrometheus

from gameday.errors import ReplicaError
from gameday.inputs.monitoring import MonitoringSettings
from gameday.stages.detection import AlertWatch, parse_duration_s
from gameday.timeline import EventKind, Timeline

POLL_S = 0.02


@pytest.fixture
def prometheus() -> Iterator[FakePrometheus]:
    with FakePrometheus() as fake:
        yield fake


@pytest.fixture
def alertmanager() -> Iterator[FakeAlertmanager]:
    with FakeAlertmanager() as fake:
        yield fake


@pytest.fixture
def timeline() -> Timeline:
    return Timeline()


@pytest.fixture
def watch(
    prometheus: FakePrometheus, alertmanager: FakeAlertmanager, timeline: Timeline
) -> Iterator[AlertWatch]:
    alert_watch = AlertWatch(prometheus.url, alertmanager.url, timeline, poll_s=POLL_S)
    yield alert_watch
    alert_watch.stop()


def eventually(condition: Callable[[], bool], timeout_s: float = 2.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.01)


def kinds(timeline: Timeline, subject: str) -> list[EventKind]:
    return [e.kind for e in timeline.sorted() if e.subject == subject]


def ago(seconds: float) -> datetime:
    return datetime.now(UTC) - timedelta(seconds=seconds)


def test_each_transition_goes_on_the_timeline_once_at_the_services_own_time(
    watch: AlertWatch,
    prometheus: FakePrometheus,
    alertmanager: FakeAlertmanager,
    timeline: Timeline,
) -> None:
    watch.start()
    pending_at, firing_at = ago(3), ago(1)
    prometheus.set_alert("DatabaseDown", "pending", pending_at, instance="db")
    eventually(lambda: timeline.first(EventKind.ALERT_PENDING) is not None)
    prometheus.set_alert("DatabaseDown", "firing", pending_at, instance="db")
    alertmanager.fire("DatabaseDown", firing_at, instance="db")
    assert watch.wait_firing({"DatabaseDown"}, timeout_s=2)
    assert watch.active() == {"DatabaseDown"}
    time.sleep(5 * POLL_S)  # more polls that see the same state add nothing
    prometheus.clear()
    alertmanager.clear()
    assert watch.wait_resolved({"DatabaseDown"}, timeout_s=2)
    report = watch.stop()

    assert kinds(timeline, "DatabaseDown") == [
        EventKind.ALERT_PENDING,
        EventKind.ALERT_FIRING,
        EventKind.ALERT_RESOLVED,
    ]
    firing = timeline.first(EventKind.ALERT_FIRING)
    assert firing is not None and firing.at == firing_at and firing.detail == "instance=db"
    (observation,) = report.observations
    assert observation.labels == {"alertname": "DatabaseDown", "instance": "db"}
    assert (observation.pending_at, observation.firing_at) == (pending_at, firing_at)
    assert observation.resolved_at is not None and observation.resolved_at > firing_at
    assert not observation.already_active
    assert report.first_firing("DatabaseDown") == firing_at
    assert report.first_firing("RedisDown") is None


def test_alerts_active_before_the_watch_are_recorded_but_not_detected(
    watch: AlertWatch,
    prometheus: FakePrometheus,
    alertmanager: FakeAlertmanager,
    timeline: Timeline,
) -> None:
    prometheus.set_alert("RedisDown", "firing", ago(60))
    alertmanager.fire("RedisDown", ago(58))
    watch.start()
    assert watch.active() == {"RedisDown"}
    assert not watch.wait_firing({"RedisDown"}, timeout_s=0.2)
    alertmanager.clear()
    prometheus.clear()
    assert watch.wait_resolved(None, timeout_s=2)
    report = watch.stop()

    (observation,) = report.observations
    assert observation.already_active and observation.resolved_at is not None
    assert report.first_firing("RedisDown") is None
    assert report.noise(expected=["DatabaseDown"], allowed=[]) == []
    assert kinds(timeline, "RedisDown") == [EventKind.ALERT_RESOLVED]
    note = timeline.first(EventKind.NOTE)
    assert note is not None and "RedisDown" in note.detail


def test_noise_is_what_fired_unexpected_and_unallowed(
    watch: AlertWatch, alertmanager: FakeAlertmanager
) -> None:
    watch.start()
    for name in ("DatabaseDown", "ServiceDown", "LowRedisHitRate"):
        alertmanager.fire(name, ago(1))
    assert watch.wait_firing({"DatabaseDown", "ServiceDown", "LowRedisHitRate"}, timeout_s=2)
    report = watch.stop()
    assert report.noise(expected=["DatabaseDown"], allowed=["ServiceDown"]) == ["LowRedisHitRate"]


def test_each_labelled_instance_and_each_episode_is_its_own_observation(
    watch: AlertWatch, alertmanager: FakeAlertmanager, timeline: Timeline
) -> None:
    watch.start()
    first = ago(5)
    alertmanager.fire("ServiceDown", first, instance="backend-1")
    alertmanager.fire("ServiceDown", ago(4), instance="backend-2")
    eventually(lambda: len(kinds(timeline, "ServiceDown")) == 2)
    alertmanager.clear()
    assert watch.wait_resolved(None, timeout_s=2)
    alertmanager.fire("ServiceDown", ago(0.5), instance="backend-1")  # it flaps back
    eventually(lambda: len(kinds(timeline, "ServiceDown")) == 5)
    report = watch.stop()
    assert len(report.observations) == 3
    assert report.first_firing("ServiceDown") == first
    assert kinds(timeline, "ServiceDown").count(EventKind.ALERT_FIRING) == 3


def test_an_alert_whose_end_has_passed_is_resolved(
    watch: AlertWatch, alertmanager: FakeAlertmanager
) -> None:
    watch.start()
    alertmanager.fire("RedisDown", ago(3))
    assert watch.wait_firing({"RedisDown"}, timeout_s=2)
    alertmanager.fire("RedisDown", ago(3), ends_at=ago(0.1))
    assert watch.wait_resolved({"RedisDown"}, timeout_s=2)
    assert watch.stop().observations[0].resolved_at is not None


def test_a_pending_alert_that_clears_without_firing_is_not_resolved_on_the_timeline(
    watch: AlertWatch, prometheus: FakePrometheus, timeline: Timeline
) -> None:
    watch.start()
    prometheus.set_alert("HighResponseTime", "pending", ago(1))
    eventually(lambda: timeline.first(EventKind.ALERT_PENDING) is not None)
    prometheus.clear()
    assert watch.wait_resolved(None, timeout_s=2)  # a poll after the clear has been made
    (observation,) = watch.stop().observations
    assert observation.resolved_at is not None and observation.firing_at is None
    assert kinds(timeline, "HighResponseTime") == [EventKind.ALERT_PENDING]


def test_a_failed_poll_resolves_nothing_and_is_noted(
    watch: AlertWatch, alertmanager: FakeAlertmanager, timeline: Timeline
) -> None:
    watch.start()
    alertmanager.fire("DatabaseDown", ago(1))
    assert watch.wait_firing({"DatabaseDown"}, timeout_s=2)
    alertmanager.broken = True
    time.sleep(10 * POLL_S)
    assert watch.active() == {"DatabaseDown"}
    alertmanager.broken = False
    report = watch.stop()
    assert report.observations[0].resolved_at is None
    notes = [e.detail for e in timeline.events if e.kind == EventKind.NOTE]
    assert any("alert polls failed" in n and "503" in n for n in notes)


def test_waits_are_bounded(watch: AlertWatch, alertmanager: FakeAlertmanager) -> None:
    alertmanager.fire("RedisDown", ago(1))
    watch.start()
    started = time.monotonic()
    assert not watch.wait_firing({"DatabaseDown"}, timeout_s=0.2)
    assert not watch.wait_resolved(None, timeout_s=0.2)
    assert time.monotonic() - started < 1.0


def test_start_says_which_service_does_not_answer(
    prometheus: FakePrometheus, timeline: Timeline
) -> None:
    with FakeAlertmanager() as gone:
        url = gone.url
    watch = AlertWatch(prometheus.url, url, timeline)
    with pytest.raises(ReplicaError, match=url):
        watch.start()
    with pytest.raises(ReplicaError, match=url):
        watch.stop()  # with no configuration read there is no report to give


def test_settings_read_both_configurations(timeline: Timeline) -> None:
    config = "global:\n  scrape_interval: 15s\n  evaluation_interval: 1m30s\n"
    with (
        FakePrometheus(config) as prometheus,
        FakeAlertmanager("route:\n  group_wait: 500ms\n") as alertmanager,
    ):
        prometheus.rules = {"DatabaseDown": 120.0, "RedisDown": 2.0}
        floor = AlertWatch(prometheus.url, alertmanager.url, timeline).settings()
    assert floor == MonitoringSettings(15.0, 90.0, 0.5, {"DatabaseDown": 120.0, "RedisDown": 2.0})
    # The least the configuration adds is `for` and group_wait; the most, a scrape and an
    # evaluation missed as well.
    assert floor.least_s("DatabaseDown") == 120 + 0.5
    assert floor.most_s("DatabaseDown") == 15 + 90 + 120 + 0.5
    assert floor.least_s("Unknown") == 0.5


def test_settings_fall_back_to_the_documented_defaults(timeline: Timeline) -> None:
    with FakePrometheus("global: {}\n") as prometheus, FakeAlertmanager("route: {}\n") as am:
        floor = AlertWatch(prometheus.url, am.url, timeline).settings()
    assert (floor.scrape_interval_s, floor.evaluation_interval_s, floor.group_wait_s) == (
        60.0,
        60.0,
        30.0,
    )


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1s", 1.0), ("500ms", 0.5), ("1m30s", 90.0), ("2h", 7200.0), ("1d", 86400.0), (None, 7.0)],
)
def test_parse_duration(text: str | None, seconds: float) -> None:
    assert parse_duration_s(text, default=7.0) == seconds


@pytest.mark.parametrize("text", ["1", "1 s", "s", "1x", "-1s"])
def test_parse_duration_refuses_what_prometheus_would(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration_s(text, default=0)
