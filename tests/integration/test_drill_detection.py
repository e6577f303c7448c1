"""Load, detection and steady state on the real replica: requests really reach PostgreSQL, and
stopping PostgreSQL really fires DatabaseDown in the real Prometheus and Alertmanager.

(Not named test_detection.py: tests/unit has one, and test modules here share one namespace.)
Every test leaves the shared replica as it found it: PostgreSQL is started again in a
``finally`` and the test waits for the steady state before it ends.
"""

from __future__ import annotations

import time
from datetime import timedelta

import httpx
import pytest

from gameday.infra.replica import Replica
from gameday.inputs.project import LoadSpec
from gameday.inputs.scenario import Load, SteadyState
from gameday.stages.detection import AlertWatch, symptom_onset
from gameday.stages.load import LoadGenerator, load_for, lost_writes
from gameday.stages.steady_state import check, wait_for
from gameday.timeline import EventKind, Timeline, utcnow

pytestmark = pytest.mark.docker

DETECTION_BUDGET_S = 10.0
STOP_TIMEOUT_S = 1


def start_postgres(replica: Replica, timeout_s: float = 60.0) -> None:
    """Start PostgreSQL if it is not running, and wait for its own healthcheck."""
    container = replica.container("postgres")
    container.reload()
    if container.status != "running":
        container.start()
    deadline = time.monotonic() + timeout_s
    while Replica.health_of(container) != "healthy" and time.monotonic() < deadline:
        time.sleep(0.25)
        container.reload()


def prometheus_says(replica: Replica, query: str) -> str:
    """A query's current samples, for a failure message."""
    try:
        answer = httpx.get(
            f"{replica.endpoint('prometheus').url}/api/v1/query", params={"query": query}
        ).json()
    except (httpx.HTTPError, ValueError) as exc:
        return f"{query}: no answer ({exc})"
    samples = answer.get("data", {}).get("result", [])
    values = [f"{s['metric'].get('__name__', '')}={s['value'][1]}" for s in samples]
    return f"{query}: {', '.join(values) or 'no samples'}"


def project_load(replica: Replica, scenario: Load) -> LoadSpec:
    assert replica.project.spec.load is not None
    return load_for(replica.project.spec.load, scenario)


def test_load_through_the_gateway_is_recorded_and_stored(replica: Replica) -> None:
    timeline = Timeline()
    # Tasks only: payments are shown by the payment drills (test_drills.py).
    weights = {"read-task": 1, "create-task": 1, "pay-task": 0}
    spec = project_load(replica, Load(rate_per_s=20, weights=weights))
    generator = LoadGenerator(replica.endpoint("gateway").url, spec, timeline)
    generator.start()
    time.sleep(3)
    report = generator.stop()

    assert 45 <= len(report.requests) <= 70
    failed = [r for r in report.requests if r.failed]
    assert not failed, failed[:3]
    assert {r.kind for r in report.requests} == {"create-task", "read-task"}
    assert {r.status for r in report.requests} == {200, 201}
    assert len(report.acknowledged) == sum(1 for r in report.requests if r.kind == "create-task")
    assert len(set(report.acknowledged)) == len(report.acknowledged)
    reads = {r.record_id for r in report.requests if r.kind == "read-task"}
    assert reads <= set(report.acknowledged)
    assert report.availability() == 1.0
    p95 = report.p95_ms()
    assert p95 is not None and p95 < 1000

    check = replica.project.spec.data_check
    assert check is not None
    assert lost_writes(replica, check, spec, report.acknowledged) == []
    newest = max(int(i) for i in report.acknowledged)
    made_up = [newest + 10**9, newest + 10**9 + 1]
    assert lost_writes(replica, check, spec, [*report.acknowledged, *made_up]) == made_up


def test_stopping_postgres_fires_database_down_and_starting_it_resolves_it(
    replica: Replica,
) -> None:
    spec = SteadyState()
    timeline = Timeline()
    watch = AlertWatch(replica.prometheus_url(), replica.alertmanager_url(), timeline)
    load = LoadGenerator(
        replica.endpoint("gateway").url, project_load(replica, Load(rate_per_s=20)), timeline
    )
    watch.start()
    load.start()
    before: list[str] = ["the steady state was never checked"]
    during: list[str] = []
    monitoring_while_down = ""
    fired = False
    try:
        steady_at, before = wait_for(replica, spec, watch, load, timeout_s=60)
        if steady_at is not None:
            load.arm()
            stopped_at = utcnow()
            replica.container("postgres").stop(timeout=STOP_TIMEOUT_S)
            fired = watch.wait_firing({"DatabaseDown"}, timeout_s=DETECTION_BUDGET_S)
            during = check(replica, spec, watch, load)
            monitoring_while_down = "; ".join(
                prometheus_says(replica, q) for q in ("pg_up", 'up{job="postgres"}')
            )
    finally:
        start_postgres(replica)
        back_at, after = wait_for(replica, spec, watch, load, timeout_s=120)
        detection = watch.stop()
        load.stop()

    assert steady_at is not None, f"not steady before the fault: {before}"
    fired_instead = sorted({o.name for o in detection.observations if o.firing_at})
    assert fired, (
        f"DatabaseDown did not fire within {DETECTION_BUDGET_S:g} s of stopping postgres; "
        f"fired instead: {fired_instead}; Prometheus while it was down: {monitoring_while_down}"
    )
    firing_at = detection.first_firing("DatabaseDown")
    assert firing_at is not None and firing_at > stopped_at
    mttd_s = (firing_at - stopped_at).total_seconds()
    settings = detection.settings
    # startsAt is when the rule fired: after at least `for`, and before Alertmanager's
    # group_wait, so the configuration's most is an upper share, not a lower bound.
    assert settings.for_s["DatabaseDown"] <= mttd_s <= DETECTION_BUDGET_S, (mttd_s, settings)
    # Prometheus itself says when the symptom first showed: after the stop, no later than
    # the rule going pending.
    episode = detection.first_episode("DatabaseDown")
    assert episode is not None and episode.pending_at is not None
    onset = symptom_onset(
        replica.prometheus_url(),
        detection.queries["DatabaseDown"],
        episode.labels,
        stopped_at,
        episode.pending_at,
    )
    assert onset is not None, detection.queries
    assert stopped_at <= onset <= episode.pending_at + timedelta(seconds=0.25)
    event = timeline.first(EventKind.ALERT_FIRING, "DatabaseDown")
    assert event is not None and event.at == firing_at
    first_failure = timeline.first(EventKind.FIRST_FAILED_REQUEST)
    assert first_failure is not None and first_failure.at > stopped_at

    assert during, "the steady state check saw nothing wrong while postgres was down"
    assert any("alerts still active" in p and "DatabaseDown" in p for p in during), during
    assert back_at is not None and after == [], f"the steady state did not come back: {after}"
    # Only episodes that fired: a slow exporter scrape on a busy machine may leave a pending
    # one that cleared by itself.
    fired_episodes = [o for o in detection.observations if o.name == "DatabaseDown" and o.firing_at]
    assert fired_episodes
    assert all(o.resolved_at is not None and o.resolved_at > firing_at for o in fired_episodes)
