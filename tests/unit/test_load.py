"""The load generator against a FakeGateway on 127.0.0.1, and LoadReport's statistics."""

from __future__ import annotations

import itertools
import json
import math
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from drill_fakes import FakeGateway
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gameday.errors import InputError, ReplicaError
from gameday.infra.replica import Endpoint, Replica
from gameday.inputs.project import DataCheck, LoadRequest, LoadSpec, Project, load_project
from gameday.inputs.scenario import Load
from gameday.stages.load import (
    LoadGenerator,
    LoadReport,
    RequestRecord,
    load_for,
    lost_writes,
    percentile,
)
from gameday.timeline import EventKind, Timeline, utcnow

BUNDLED_PROJECT_FILE = Path(__file__).resolve().parents[2] / "gameday.yml"


def _bundled_load() -> LoadSpec:
    load = load_project(BUNDLED_PROJECT_FILE).spec.load
    assert load is not None
    return load


# The bundled project's load (docs/project.md): create-task (POST /tasks, weight 3,
# returns_id: id), read-task (GET /tasks/{id}, weight 7) and pay-task (POST
# /tasks/{id}/pay, weight 1) on the gateway.
TASKS = _bundled_load()


@pytest.fixture
def gateway() -> Iterator[FakeGateway]:
    with FakeGateway() as fake:
        yield fake


def generator_for(url: str, scenario: Load, timeline: Timeline | None = None) -> LoadGenerator:
    return LoadGenerator(url, load_for(TASKS, scenario), timeline or Timeline())


def run_load(url: str, seconds: float, spec: Load, timeline: Timeline | None = None) -> LoadReport:
    generator = generator_for(url, spec, timeline)
    generator.start()
    time.sleep(seconds)
    return generator.stop()


def test_load_creates_tasks_then_reads_only_acknowledged_ones(gateway: FakeGateway) -> None:
    report = run_load(
        gateway.url, 1.0, Load(rate_per_s=60, weights={"create-task": 3, "read-task": 7})
    )
    creates = [r for r in report.requests if r.kind == "create-task"]
    reads = [r for r in report.requests if r.kind == "read-task"]
    assert 30 <= len(report.requests) <= 75  # 60 offered; a busy test machine sends fewer
    assert creates and reads
    assert all(r.status == 201 and not r.error and r.write for r in creates)
    assert all(r.status == 200 and not r.error and not r.write for r in reads)
    assert sorted(report.acknowledged) == sorted(gateway.tasks)
    assert {r.record_id for r in reads} <= set(report.acknowledged)
    assert report.error_rate() == 0.0
    # The body's {seq} is filled in: every title differs.
    assert len(set(gateway.tasks.values())) == len(gateway.tasks)
    assert all(title.startswith("gameday load ") for title in gateway.tasks.values())


def test_offered_load_does_not_fall_when_the_service_slows_down(gateway: FakeGateway) -> None:
    gateway.delay_s = 0.5  # a closed loop of one client would send two requests a second
    report = run_load(gateway.url, 1.0, Load(rate_per_s=40, weights={"read-task": 0}))
    assert gateway.requests_for("POST", "/tasks") >= 30
    assert all(r.latency_ms >= 490 for r in report.requests)


def test_5xx_404_and_transport_errors_are_failures(gateway: FakeGateway) -> None:
    gateway.fail_with = 503
    report = run_load(gateway.url, 0.3, Load(rate_per_s=30))
    assert report.requests and all(r.failed and r.status == 503 for r in report.requests)
    assert all(r.error == "HTTP 503" for r in report.requests)
    assert report.acknowledged == ()

    # Any answer that is not one of the request's success statuses is a failure.
    gateway.fail_with = 404
    report = run_load(gateway.url, 0.3, Load(rate_per_s=30))
    assert report.requests and all(r.failed and r.error == "HTTP 404" for r in report.requests)

    gateway.__exit__(None, None, None)  # nothing listens on the port any more
    report = run_load(gateway.url, 0.3, Load(rate_per_s=30))
    assert report.requests and all(r.failed and r.status is None for r in report.requests)
    assert all("ConnectError" in r.error for r in report.requests)


def test_a_read_of_an_acknowledged_write_that_is_gone_is_a_lost_write(
    gateway: FakeGateway,
) -> None:
    generator = generator_for(gateway.url, Load(rate_per_s=50))
    generator.start()
    try:
        time.sleep(0.4)
        gateway.tasks.clear()  # the stack forgets every acknowledged task
        gateway.fail_with = 503  # and creates nothing new, so every later read misses
        time.sleep(0.2)
        gateway.fail_with = None
        gateway.tasks.clear()
        time.sleep(0.4)
    finally:
        report = generator.stop()
    missing = [r for r in report.requests if r.error == "an acknowledged write was not found"]
    assert missing
    # Every request that names an acknowledged task sees it gone: reads and payments.
    assert {r.kind for r in missing} <= {"read-task", "pay-task"}
    assert all(r.status == 404 and r.failed for r in missing)
    assert {r.record_id for r in missing} <= set(report.acknowledged)


def test_a_request_slower_than_the_timeout_fails_at_the_timeout(gateway: FakeGateway) -> None:
    gateway.delay_s = 1.0
    report = run_load(gateway.url, 0.6, Load(rate_per_s=20, timeout_s=0.2))
    assert report.requests
    assert all(r.status is None and r.error == "no answer within 0.2 s" for r in report.requests)
    assert all(180 <= r.latency_ms <= 600 for r in report.requests)


def test_only_the_first_failure_after_arming_goes_on_the_timeline(gateway: FakeGateway) -> None:
    timeline = Timeline()
    generator = generator_for(gateway.url, Load(rate_per_s=50), timeline)
    gateway.fail_with = 500
    generator.start()
    time.sleep(0.3)
    assert timeline.first(EventKind.FIRST_FAILED_REQUEST) is None  # not armed yet
    armed_at = datetime.now(UTC)
    generator.arm()
    time.sleep(0.3)
    report = generator.stop()
    events = [e for e in timeline.events if e.kind == EventKind.FIRST_FAILED_REQUEST]
    assert len(events) == 1
    assert events[0].at >= armed_at - timedelta(milliseconds=50)
    assert events[0].subject == "load"
    assert events[0].detail == "POST /tasks: HTTP 500"
    assert sum(1 for r in report.requests if r.failed) > 10


def test_window_counts_requests_that_finished_recently(gateway: FakeGateway) -> None:
    generator = generator_for(gateway.url, Load(rate_per_s=50))
    generator.start()
    try:
        time.sleep(0.6)
        healthy = generator.window(0.5)
        gateway.fail_with = 503
        time.sleep(0.8)
        failing = generator.window(0.4)
        everything = generator.window(60)
    finally:
        report = generator.stop()
    assert healthy.total >= 15 and healthy.failed == 0 and healthy.error_rate == 0.0
    assert failing.total >= 10 and failing.error_rate == 1.0
    assert everything.total <= len(report.requests)  # some finished after the window
    time.sleep(0.3)
    assert generator.window(0.2).total == 0  # stopped: nothing finishes any more


def test_stop_is_bounded_while_requests_hang(gateway: FakeGateway) -> None:
    gateway.delay_s = 10.0
    generator = generator_for(gateway.url, Load(rate_per_s=50, timeout_s=5))
    generator.start()
    time.sleep(0.5)
    started = time.monotonic()
    report = generator.stop()
    assert time.monotonic() - started < 1.5
    assert report.requests == ()  # cut short by the drill, not answered: not recorded
    assert generator.stop() is report


@pytest.mark.parametrize("url", ["http://10.0.0.1:8080", "http://example.com", "http://[::2]:1"])
def test_load_goes_only_to_loopback(url: str) -> None:
    with pytest.raises(InputError, match=r"127\.0\.0\.1"):
        LoadGenerator(url, TASKS, Timeline())


def test_the_scenario_changes_the_projects_rate_timeout_and_weights() -> None:
    changed = load_for(TASKS, Load(rate_per_s=5, timeout_s=0.5, weights={"read-task": 0}))
    assert (changed.rate_per_s, changed.timeout_s, changed.target) == (5, 0.5, "gateway")
    assert {r.name: r.weight for r in changed.requests} == {
        "create-task": 3,
        "read-task": 0,
        "pay-task": 1,
    }
    assert load_for(TASKS, Load()) == TASKS
    assert TASKS.requests[1].weight == 7  # the project's own spec is not changed


def test_weights_that_leave_only_reads_are_refused() -> None:
    with pytest.raises(InputError, match=r"load\.weights: .*needs no \{id\}"):
        load_for(TASKS, Load(weights={"create-task": 0}))


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ({"title": "no id"}, "201 without the id field 'id'"),
        ({"id": True}, "201 with an id that is not a number or a string"),
        ({"id": [1]}, "201 with an id that is not a number or a string"),
        ({"id": "x y/../z"}, "201 with an id gameday cannot check ('x y/../z')"),
    ],
)
def test_a_write_whose_answer_names_no_usable_id_is_a_failure(
    answer: dict[str, Any], error: str
) -> None:
    class OddGateway(FakeGateway):
        def route(self, method: str, path: str, body: bytes) -> tuple[int, Any]:
            return 201, answer

    write = LoadRequest(name="w", method="POST", path="/tasks", success=[201], returns_id="id")
    spec = LoadSpec(target="gateway", rate_per_s=40, timeout_s=1, requests=[write])
    with OddGateway() as gateway:
        generator = LoadGenerator(gateway.url, spec, Timeline())
        generator.start()
        time.sleep(0.3)
        report = generator.stop()
    assert report.requests and all(r.error == error for r in report.requests)
    assert report.acknowledged == ()


def test_the_heartbeat_measures_the_load_generators_own_stalls(gateway: FakeGateway) -> None:
    """A thread that keeps the interpreter's lock 300 ms (as a busy CPU would keep the
    process) stalls the load's loop: the stall is noted, about as long as it was."""
    generator = generator_for(gateway.url, Load(rate_per_s=20))
    generator.start()
    time.sleep(0.3)
    quiet = generator.lag().stalls
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1.0)  # hand the lock over only when asked for a second
    try:
        end = time.monotonic() + 0.3
        while time.monotonic() < end:
            sum(range(1000))
    finally:
        sys.setswitchinterval(switch)
    time.sleep(0.3)
    lag = generator.lag()
    generator.stop()
    longest = max(seconds for _, seconds in lag.stalls)
    assert len(lag.stalls) > len(quiet)
    assert 0.2 < longest < 0.6, lag.stalls
    assert lag.started_at is not None and lag.stalled_share(lag.started_at, utcnow()) > 0


def test_placeholders_fill_paths_and_json_bodies_keeping_numbers_numbers() -> None:
    seen: list[tuple[str, str, Any]] = []

    class Recorder(FakeGateway):
        def route(self, method: str, path: str, body: bytes) -> tuple[int, Any]:
            seen.append((method, path, json.loads(body) if body else None))
            if method == "PUT":
                return 200, {}
            return 201, {"key": f"k{len(seen)}"}

    create = LoadRequest(
        name="create",
        method="POST",
        path="/items?n={seq}",
        body={"seq": "{seq}", "label": "item {seq}", "tags": ["{seq}"]},
        success=[201],
        returns_id="key",
    )
    update = LoadRequest(
        name="update", method="PUT", path="/items/{id}", body={"of": "{id}"}, success=[200]
    )
    spec = LoadSpec(target="web", rate_per_s=40, timeout_s=1, requests=[create, update])
    with Recorder() as fake:
        generator = LoadGenerator(fake.url, spec, Timeline())
        generator.start()
        time.sleep(0.5)
        report = generator.stop()
    assert {r.error for r in report.requests} == {""}
    posts = [(path, body) for method, path, body in seen if method == "POST"]
    puts = [(path, body) for method, path, body in seen if method == "PUT"]
    assert posts and puts
    for path, body in posts:
        n = int(path.removeprefix("/items?n="))
        assert body == {"seq": n, "label": f"item {n}", "tags": [n]}
    for path, body in puts:
        key = path.removeprefix("/items/")
        assert key in report.acknowledged and body == {"of": key}


# -- statistics ------------------------------------------------------------------------------

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def record(
    offset_s: float, status: int | None = 200, latency_ms: float = 10.0, task_id: int | None = None
) -> RequestRecord:
    kind = "create-task" if status == 201 else "read-task"
    error = "" if status in (200, 201) else f"HTTP {status}"
    return RequestRecord(
        T0 + timedelta(seconds=offset_s), kind, status, latency_ms, error, task_id, status == 201
    )


def test_answers_count_what_users_got_by_request_the_most_frequent_first() -> None:
    records = (
        record(0, 201),
        record(1, 200),
        record(2, 503),
        record(3, 200),
        record(4, None),
        record(5, 201),
    )
    answers = LoadReport(requests=records, acknowledged=()).answers()
    assert [a.p95_ms for a in answers] == [10.0] * 4
    assert [(a.request, a.answer, a.count, a.failed) for a in answers] == [
        ("create-task", "HTTP 201", 2, False),
        ("read-task", "HTTP 200", 2, False),
        ("read-task", "HTTP 503", 1, True),
        ("read-task", "no answer", 1, True),
    ]
    assert LoadReport(requests=(), acknowledged=()).answers() == ()


def test_percentile_is_the_nearest_rank() -> None:
    assert percentile([], 0.95) is None
    assert percentile([5.0], 0.95) == 5.0
    assert percentile([float(v) for v in range(1, 101)], 0.95) == 95.0
    assert percentile([float(v) for v in range(1, 101)], 0.5) == 50.0


def test_statistics_of_a_known_report() -> None:
    requests = (
        record(0.1, 201, 10, task_id=1),
        record(0.5, 200, 30),
        record(1.2, 503, 5),
        record(1.3, None, 2000),
        record(3.1, 201, 20, task_id=2),
    )
    report = LoadReport(requests, acknowledged=(1, 2))
    assert report.error_rate() == pytest.approx(0.4)
    assert report.p95_ms() == 30  # failures do not count in the latency percentile
    buckets = report.series()
    assert [(b.requests, b.errors) for b in buckets] == [(2, 0), (2, 2), (0, 0), (1, 0)]
    assert buckets[0].start == T0 and buckets[3].start == T0 + timedelta(seconds=3)
    assert buckets[1].p95_ms is None
    assert report.availability() == pytest.approx(2 / 3)  # the empty second is left out
    later = report.between(T0 + timedelta(seconds=1), T0 + timedelta(seconds=10))
    assert len(later.requests) == 3 and later.acknowledged == (2,)
    assert LoadReport((), ()).availability() is None
    assert LoadReport((), ()).p95_ms() is None and LoadReport((), ()).series() == ()


statuses = st.sampled_from([200, 201, 404, 500, 503, None])
records = st.builds(
    record,
    offset_s=st.floats(0, 20, allow_nan=False),
    status=statuses,
    latency_ms=st.floats(0, 5000, allow_nan=False),
    task_id=st.integers(1, 10**6),
)
reports = st.lists(records, max_size=80).map(
    lambda rs: LoadReport(tuple(sorted(rs, key=lambda r: r.at)), ())
)
FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(reports, st.sampled_from([0.25, 0.5, 1.0, 2.0, 3.0]))
def test_series_adds_up_to_the_report(report: LoadReport, bucket_s: float) -> None:
    buckets = report.series(bucket_s)
    assert sum(b.requests for b in buckets) == len(report.requests)
    assert sum(b.errors for b in buckets) == sum(1 for r in report.requests if r.failed)
    for before, after in itertools.pairwise(buckets):
        assert (after.start - before.start).total_seconds() == pytest.approx(bucket_s)
    for bucket in buckets:
        assert bucket.errors <= bucket.requests
        assert (bucket.p50_ms is None) == (bucket.p95_ms is None)
        if bucket.p50_ms is not None and bucket.p95_ms is not None:
            assert bucket.p50_ms <= bucket.p95_ms


@FAST
@given(reports)
def test_error_rate_and_p95_agree_with_the_records(report: LoadReport) -> None:
    failed = [r for r in report.requests if r.failed]
    ok = sorted(r.latency_ms for r in report.requests if not r.failed)
    rate = report.error_rate()
    assert 0.0 <= rate <= 1.0
    assert rate == (len(failed) / len(report.requests) if report.requests else 0.0)
    p95 = report.p95_ms()
    if not ok:
        assert p95 is None
        return
    assert p95 in ok
    # Nearest rank: at least 95% of the latencies are at most p95, fewer are below it.
    assert sum(1 for v in ok if v <= p95) >= math.ceil(0.95 * len(ok))
    assert sum(1 for v in ok if v < p95) < math.ceil(0.95 * len(ok))


@FAST
@given(reports)
def test_availability_is_a_share_of_buckets_with_requests(report: LoadReport) -> None:
    availability = report.availability()
    busy = [b for b in report.series() if b.requests]
    if not busy:
        assert availability is None
        return
    assert availability is not None and 0.0 <= availability <= 1.0
    assert availability * len(busy) == pytest.approx(round(availability * len(busy)))
    if not any(r.failed for r in report.requests):
        assert availability == 1.0
    if all(r.failed for r in report.requests):
        assert availability == 0.0


@FAST
@given(reports, st.floats(-1, 21, allow_nan=False))
def test_between_splits_a_report_without_losing_requests(report: LoadReport, cut_s: float) -> None:
    cut = T0 + timedelta(seconds=cut_s)
    start, end = T0 - timedelta(seconds=1), T0 + timedelta(seconds=30)
    before, after = report.between(start, cut), report.between(cut, end)
    assert before.requests + after.requests == report.requests
    assert report.between(start, end).requests == report.requests
    failed = sum(1 for r in report.requests if r.failed)
    assert sum(1 for r in before.requests + after.requests if r.failed) == failed


# -- lost writes ------------------------------------------------------------------------------


class FakePostgresContainer:
    """Answers psql's `-c "SELECT id ... = ANY('{...}')"` from ``ids``; remembers each query.
    The first ``busy`` calls answer as a server that turns clients away."""

    def __init__(self, ids: set[int], exit_code: int = 0, busy: int = 0) -> None:
        self.ids = ids
        self.exit_code = exit_code
        self.busy = busy
        self.queries: list[str] = []

    def exec_run(self, command: list[str]) -> tuple[int, bytes]:
        assert command[0] == "psql" and "-c" in command
        query = command[command.index("-c") + 1]
        self.queries.append(query)
        if self.busy:
            self.busy -= 1
            return 2, b"psql: error: FATAL: sorry, too many clients already"
        if self.exit_code:
            return self.exit_code, b'psql: error: relation "tasks" does not exist'
        asked = [int(i) for i in query.split("'{")[1].split("}'")[0].split(",")]
        return 0, "".join(f"{i}\n" for i in asked if i in self.ids).encode()


class FakeReplica:
    def __init__(self, postgres: FakePostgresContainer | None = None, url: str = "") -> None:
        self.postgres = postgres
        self.url = url

    def container(self, service: str) -> Any:
        assert service == "backup"  # where the bundled project's data check asks
        return self.postgres

    def endpoint(self, service: str) -> Endpoint:
        assert service == "gateway"
        host, port = self.url.removeprefix("http://").split(":")
        return Endpoint(host, int(port))

    # The real command runner, over the fake container.
    exec = Replica.exec


def lost(replica: FakeReplica, check: DataCheck, ids: list[Any]) -> list[Any]:
    return lost_writes(replica, check, TASKS, ids)  # type: ignore[arg-type]


def test_lost_writes_asks_in_batches_and_keeps_the_order(bundled_project: Project) -> None:
    check = bundled_project.spec.data_check
    assert check is not None and check.query is not None
    postgres = FakePostgresContainer(set(range(1, 2001)))
    asked = [*range(2500, 0, -1), 7, 2**63, -3]
    assert lost(FakeReplica(postgres), check, asked) == [*range(2500, 2000, -1), 2**63, -3]
    assert len(postgres.queries) == math.ceil(len(set(asked)) / check.query.batch)
    assert lost(FakeReplica(postgres), check, []) == []


def test_lost_writes_waits_out_a_server_that_turns_clients_away(
    bundled_project: Project,
) -> None:
    check = bundled_project.spec.data_check
    assert check is not None
    postgres = FakePostgresContainer({1}, busy=2)
    assert lost(FakeReplica(postgres), check, [1, 2]) == [2]
    assert len(postgres.queries) == 3


def test_lost_writes_says_when_the_query_fails(bundled_project: Project) -> None:
    check = bundled_project.spec.data_check
    assert check is not None
    postgres = FakePostgresContainer(set(), exit_code=1)
    with pytest.raises(ReplicaError, match="relation"):
        lost(FakeReplica(postgres), check, [1])


def test_lost_writes_can_read_each_acknowledged_write_back(gateway: FakeGateway) -> None:
    gateway.tasks.update({1: "kept", 3: "kept"})
    check = DataCheck(read_back="read-task")
    assert lost(FakeReplica(url=gateway.url), check, [1, 2, 3, 4, 2]) == [2, 4]
    gateway.fail_with = 503
    with pytest.raises(ReplicaError, match="HTTP 503"):
        lost(FakeReplica(url=gateway.url), check, [1])


def test_a_write_found_gone_is_not_read_again(gateway: FakeGateway) -> None:
    generator = generator_for(gateway.url, Load(rate_per_s=50))
    generator.start()
    try:
        time.sleep(0.4)
        gateway.tasks.clear()  # a restore from an older backup: these are lost for good
        time.sleep(0.8)
    finally:
        report = generator.stop()
    missing = [r for r in report.requests if r.error == "an acknowledged write was not found"]
    assert missing
    # Each lost task is found gone once (the data check counts it): no read of it is sent
    # after the first answer that it is gone (reads already in flight may still miss).
    gone_at: dict[object, datetime] = {}
    for record in sorted(missing, key=lambda r: r.finished_at):
        gone_at.setdefault(record.record_id, record.finished_at)
    later = [r for r in report.requests if r.kind == "read-task" and r.record_id in gone_at]
    assert all(r.at <= gone_at[r.record_id] for r in later)
