"""Unit tests of taskapi, the replica's backend, without Docker, PostgreSQL or Redis.

taskapi.py is a single file copied into its image, not part of the gameday package, so it is
imported by path. It imports psycopg2, redis and prometheus_client only inside its adapters,
so everything here runs on a host that has none of them; the fakes stand in for the store,
the cache and the metrics.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import image_modules
import pytest

taskapi = image_modules.load("taskapi.py", "taskapi")

CREATED_AT = "2024-05-01T12:00:00+00:00"


# --- fakes ------------------------------------------------------------------------------------


class FakeTaskStore:
    """An in-memory TaskStore; ``down`` makes every call fail as PostgreSQL being away would."""

    def __init__(self) -> None:
        self.tasks: dict[int, Any] = {}
        self.down = False
        self.gets = 0

    def _check(self) -> None:
        if self.down:
            raise taskapi.DatabaseUnavailable("connection refused")

    def create(self, new: Any) -> Any:
        self._check()
        task = taskapi.Task(len(self.tasks) + 1, new.title, new.payload, CREATED_AT)
        self.tasks[task.id] = task
        return task

    def get(self, task_id: int) -> Any:
        self._check()
        self.gets += 1
        return self.tasks.get(task_id)

    def latest_ids(self, limit: int) -> list[int]:
        self._check()
        return sorted(self.tasks, reverse=True)[:limit]

    def ping(self) -> None:
        self._check()


class FakeTaskCache:
    """An in-memory TaskCache recording TTLs; ``down`` or ``set_fails`` make calls fail."""

    def __init__(self) -> None:
        self.values: dict[str, bytes] = {}
        self.ttls: dict[str, int] = {}
        self.down = False
        self.set_fails = False
        self.sets = 0

    def get(self, key: str) -> bytes | None:
        if self.down:
            raise taskapi.CacheUnavailable("timed out")
        return self.values.get(key)

    def set(self, key: str, value: bytes, ttl_s: int) -> None:
        self.sets += 1
        if self.down or self.set_fails:
            raise taskapi.CacheUnavailable("timed out")
        self.values[key] = value
        self.ttls[key] = ttl_s

    def ping(self) -> None:
        if self.down:
            raise taskapi.CacheUnavailable("timed out")


@dataclass
class FakeCacheStats:
    hits: int = 0
    misses: int = 0
    errors: int = 0

    def cache_hit(self) -> None:
        self.hits += 1

    def cache_miss(self) -> None:
        self.misses += 1

    def cache_error(self) -> None:
        self.errors += 1


@dataclass
class Wiring:
    store: FakeTaskStore = field(default_factory=FakeTaskStore)
    cache: FakeTaskCache = field(default_factory=FakeTaskCache)
    stats: FakeCacheStats = field(default_factory=FakeCacheStats)

    def reader(self) -> Any:
        return taskapi.CachedTaskReader(self.store, self.cache, self.stats, ttl_s=300)

    def app(self, cashier: Any = None) -> Any:
        return taskapi.TaskApi(
            backend="backend-1",
            version="7",
            store=self.store,
            cache=self.cache,
            reader=self.reader(),
            render_metrics=lambda: (b"taskapi_db_up 1.0\n", "text/plain; version=0.0.4"),
            cashier=cashier,
        )


@pytest.fixture
def wiring() -> Wiring:
    return Wiring()


# --- configuration ----------------------------------------------------------------------------


def test_config_defaults_when_environment_is_empty() -> None:
    config = taskapi.Config.from_env({})
    assert (config.port, config.db_name, config.cache_ttl_s) == (8000, "labelmint", 300)
    assert (config.db_timeout_s, config.cache_timeout_s, config.db_pool_size) == (2.0, 0.5, 10)
    assert config.version == "1"


def test_config_reads_every_variable() -> None:
    env = {
        "TASKAPI_PORT": "9000",
        "BACKEND_NAME": "backend-2",
        "APP_VERSION": "42",
        "DB_HOST": "proxy",
        "DB_PORT": "15432",
        "DB_STANDBY_HOST": "replica",
        "DB_STANDBY_PORT": "15433",
        "DB_NAME": "tasks",
        "DB_USER": "app",
        "DB_PASSWORD": "secret",
        "REDIS_HOST": "cache",
        "REDIS_PORT": "16379",
        "CACHE_TTL_S": "60",
        "DB_TIMEOUT_S": "1.5",
        "CACHE_TIMEOUT_S": "0.25",
        "DB_POOL_SIZE": "4",
    }
    assert taskapi.Config.from_env(env) == taskapi.Config(
        port=9000,
        backend_name="backend-2",
        version="42",
        db_host="proxy",
        db_port=15432,
        db_standby_host="replica",
        db_standby_port=15433,
        db_name="tasks",
        db_user="app",
        db_password="secret",
        redis_host="cache",
        redis_port=16379,
        cache_ttl_s=60,
        db_timeout_s=1.5,
        cache_timeout_s=0.25,
        db_pool_size=4,
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DB_PORT", "five"),
        ("DB_STANDBY_PORT", "-1"),
        ("DB_POOL_SIZE", "0"),
        ("DB_TIMEOUT_S", "nan"),
        ("CACHE_TTL_S", "1.5"),
    ],
)
def test_config_names_the_variable_that_is_not_a_positive_number(name: str, value: str) -> None:
    with pytest.raises(ValueError, match=name):
        taskapi.Config.from_env({name: value})


def test_without_a_standby_the_backend_connects_to_the_primary_alone() -> None:
    config = taskapi.Config.from_env({"DB_HOST": "proxy", "DB_PORT": "15432"})
    assert taskapi.postgres_servers(config) == [{"host": "proxy", "port": "15432"}]


def test_with_a_standby_the_backend_asks_primary_then_standby_for_a_writable_server() -> None:
    config = taskapi.Config.from_env(
        {"DB_HOST": "proxy", "DB_PORT": "15432", "DB_STANDBY_PORT": "15433"}
    )
    writable = {"target_session_attrs": "read-write"}
    assert taskapi.postgres_servers(config) == [
        {"host": "proxy", "port": "15432", **writable},
        {"host": "proxy", "port": "15433", **writable},
    ]
    config = taskapi.Config.from_env(
        {"DB_HOST": "db-a", "DB_STANDBY_HOST": "db-b", "DB_STANDBY_PORT": "5432"}
    )
    assert [s["host"] for s in taskapi.postgres_servers(config)] == ["db-a", "db-b"]


# --- request validation -----------------------------------------------------------------------


def test_new_task_takes_title_and_any_json_payload() -> None:
    body = json.dumps({"title": "label cats", "payload": {"images": [1, 2], "k": None}}).encode()
    assert taskapi.parse_new_task(body) == taskapi.NewTask(
        "label cats", {"images": [1, 2], "k": None}
    )
    assert taskapi.parse_new_task(b'{"title": "t"}') == taskapi.NewTask("t", None)


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        (b"", "not valid JSON"),
        (b"{", "not valid JSON"),
        (b"\xff", "not valid JSON"),
        (b'["title"]', "must be a JSON object"),
        (b"{}", "title must be a string"),
        (b'{"title": 5}', "title must be a string"),
        (b'{"title": ""}', "1 to 200"),
        (json.dumps({"title": "x" * 201}).encode(), "1 to 200"),
        (b'{"title": "t", "owner": "me"}', "unknown field"),
        (b'{"title": "t", "payload": NaN}', "not valid JSON"),
        (b'{"title": "a\\u0000b"}', r"U\+0000"),
        (b'{"title": "t", "payload": {"deep": ["\\u0000"]}}', r"U\+0000"),
        (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
    ],
)
def test_invalid_new_task_is_rejected_with_the_reason(body: bytes, complaint: str) -> None:
    with pytest.raises(taskapi.RequestRejected, match=complaint) as caught:
        taskapi.parse_new_task(body)
    assert caught.value.status == 400


def test_title_of_exactly_200_characters_is_accepted() -> None:
    assert taskapi.parse_new_task(json.dumps({"title": "x" * 200}).encode()).title == "x" * 200


# --- routing ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "route", "task_id"),
    [
        ("/health", "/health", None),
        ("/metrics", "/metrics", None),
        ("/tasks", "/tasks", None),
        ("/tasks?limit=5", "/tasks", None),
        ("/tasks/42", "/tasks/{id}", 42),
        ("/tasks/9223372036854775807", "/tasks/{id}", 2**63 - 1),
        ("/tasks/9223372036854775808", "unmatched", None),
        ("/tasks/abc", "unmatched", None),
        ("/tasks/", "unmatched", None),
        ("/tasks/1/extra", "unmatched", None),
        ("/wp-login.php", "unmatched", None),
        ("//tasks", "unmatched", None),
    ],
)
def test_route_is_the_template_never_the_raw_path(
    target: str, route: str, task_id: int | None
) -> None:
    match = taskapi.match_route(target)
    assert (match.route, match.task_id) == (route, task_id)


def test_limit_defaults_and_bounds() -> None:
    assert taskapi.parse_limit({}) == 20
    assert taskapi.parse_limit(taskapi.match_route("/tasks?limit=1000").query) == 1000
    for bad in ("0", "1001", "-1", "abc", "1.5"):
        with pytest.raises(taskapi.RequestRejected):
            taskapi.parse_limit({"limit": [bad]})


# --- cache-aside ------------------------------------------------------------------------------


def _stored(wiring: Wiring, title: str = "t") -> Any:
    return wiring.store.create(taskapi.NewTask(title, {"n": 1}))


def test_first_read_misses_and_fills_the_cache_with_the_ttl(wiring: Wiring) -> None:
    task = _stored(wiring)
    assert wiring.reader().get(task.id) == task
    assert wiring.stats == FakeCacheStats(hits=0, misses=1, errors=0)
    assert json.loads(wiring.cache.values["task:1"]) == task.to_json()
    assert wiring.cache.ttls["task:1"] == 300


def test_second_read_is_a_hit_that_does_not_touch_the_store(wiring: Wiring) -> None:
    task = _stored(wiring)
    reader = wiring.reader()
    reader.get(task.id)
    assert reader.get(task.id) == task
    assert wiring.stats == FakeCacheStats(hits=1, misses=1, errors=0)
    assert wiring.store.gets == 1


def test_cache_down_falls_through_to_the_store_without_a_second_cache_call(
    wiring: Wiring,
) -> None:
    task = _stored(wiring)
    wiring.cache.down = True
    assert wiring.reader().get(task.id) == task
    assert wiring.stats == FakeCacheStats(hits=0, misses=0, errors=1)
    assert wiring.cache.sets == 0


def test_failed_cache_fill_is_counted_and_the_task_still_returned(wiring: Wiring) -> None:
    task = _stored(wiring)
    wiring.cache.set_fails = True
    assert wiring.reader().get(task.id) == task
    assert wiring.stats == FakeCacheStats(hits=0, misses=1, errors=1)


@pytest.mark.parametrize("junk", [b"not json", b"[]", b'{"id": "1", "title": "t"}', b'{"id": 1}'])
def test_unreadable_cache_value_is_an_error_and_is_overwritten(wiring: Wiring, junk: bytes) -> None:
    task = _stored(wiring)
    wiring.cache.values["task:1"] = junk
    assert wiring.reader().get(task.id) == task
    assert wiring.stats == FakeCacheStats(hits=0, misses=0, errors=1)
    assert json.loads(wiring.cache.values["task:1"]) == task.to_json()


def test_absent_task_is_none_and_not_cached(wiring: Wiring) -> None:
    assert wiring.reader().get(99) is None
    assert wiring.cache.values == {}
    assert wiring.stats.misses == 1


def test_miss_with_the_database_down_raises_database_unavailable(wiring: Wiring) -> None:
    wiring.store.down = True
    with pytest.raises(taskapi.DatabaseUnavailable):
        wiring.reader().get(1)


# --- health report ----------------------------------------------------------------------------


def test_health_ok_when_both_answer() -> None:
    assert taskapi.compose_health("backend-1", "7", None, None) == (
        200,
        {"status": "ok", "backend": "backend-1", "version": "7", "database": "ok", "cache": "ok"},
    )


def test_health_degraded_but_200_when_only_the_cache_is_down() -> None:
    code, report = taskapi.compose_health("b", "1", None, "timed out")
    assert code == 200
    assert (report["status"], report["database"], report["cache"]) == (
        "degraded",
        "ok",
        "down: timed out",
    )


@pytest.mark.parametrize("cache_problem", [None, "timed out"])
def test_health_503_whenever_the_database_is_down(cache_problem: str | None) -> None:
    code, report = taskapi.compose_health("b", "1", "refused", cache_problem)
    assert code == 503
    assert (report["status"], report["database"]) == ("down", "down: refused")


# --- request dispatch -------------------------------------------------------------------------


def _handle(app: Any, method: str, target: str, body: bytes = b"") -> tuple[int, Any]:
    response = app.handle(method, taskapi.match_route(target), body)
    data = json.loads(response.body) if response.content_type == "application/json" else None
    return response.status, data


def test_create_answers_201_with_the_stored_task_and_who_served_it(wiring: Wiring) -> None:
    status, data = _handle(wiring.app(), "POST", "/tasks", b'{"title": "t", "payload": [1]}')
    assert status == 201
    assert data == {
        "id": 1,
        "title": "t",
        "payload": [1],
        "created_at": CREATED_AT,
        "served_by": "backend-1",
    }
    assert wiring.store.tasks[1].title == "t"


def test_create_with_a_bad_body_is_400_and_stores_nothing(wiring: Wiring) -> None:
    status, data = _handle(wiring.app(), "POST", "/tasks", b'{"title": ""}')
    assert status == 400
    assert "title" in data["error"]
    assert wiring.store.tasks == {}


def test_get_list_and_not_found(wiring: Wiring) -> None:
    app = wiring.app()
    for title in ("a", "b", "c"):
        _handle(app, "POST", "/tasks", json.dumps({"title": title}).encode())
    assert _handle(app, "GET", "/tasks/2")[1]["title"] == "b"
    assert _handle(app, "GET", "/tasks?limit=2") == (200, {"ids": [3, 2], "served_by": "backend-1"})
    assert _handle(app, "GET", "/tasks/7") == (404, {"error": "task 7 not found"})
    assert _handle(app, "GET", "/tasks?limit=0")[0] == 400


def test_database_down_is_503_with_a_fixed_message(wiring: Wiring) -> None:
    wiring.store.down = True
    app = wiring.app()
    assert _handle(app, "POST", "/tasks", b'{"title": "t"}') == (
        503,
        {"error": "database unavailable"},
    )
    assert _handle(app, "GET", "/tasks/1") == (503, {"error": "database unavailable"})
    status, report = _handle(app, "GET", "/health")
    assert (status, report["database"]) == (503, "down: connection refused")


def test_cache_down_reads_still_succeed_and_health_is_degraded(wiring: Wiring) -> None:
    app = wiring.app()
    _handle(app, "POST", "/tasks", b'{"title": "t"}')
    wiring.cache.down = True
    assert _handle(app, "GET", "/tasks/1")[0] == 200
    status, report = _handle(app, "GET", "/health")
    assert (status, report["status"], report["cache"]) == (200, "degraded", "down: timed out")


def test_unknown_path_is_404_and_wrong_method_is_405_with_allow(wiring: Wiring) -> None:
    app = wiring.app()
    assert _handle(app, "GET", "/nope")[0] == 404
    response = app.handle("DELETE", taskapi.match_route("/tasks"), b"")
    assert response.status == 405
    assert dict(response.headers) == {"Allow": "GET, POST"}


def test_metrics_route_serves_what_the_renderer_gives(wiring: Wiring) -> None:
    response = wiring.app().handle("GET", taskapi.match_route("/metrics"), b"")
    assert (response.status, response.body) == (200, b"taskapi_db_up 1.0\n")
    assert response.content_type.startswith("text/plain")


# --- connection pool (fake connections over socket pairs) -------------------------------------


class FakeConnection:
    """Enough of a psycopg2 connection for the pool: a socket whose peer plays the server."""

    def __init__(self) -> None:
        self.sock, self.server_side = socket.socketpair()
        self.closed = 0

    def fileno(self) -> int:
        return self.sock.fileno()

    def close(self) -> None:
        self.closed = 1
        self.sock.close()
        self.server_side.close()


@pytest.fixture
def opened() -> Iterator[list[FakeConnection]]:
    connections: list[FakeConnection] = []
    yield connections
    for conn in connections:
        conn.close()


def _pool(opened: list[FakeConnection], size: int = 2, wait_s: float = 0.05) -> Any:
    def connect() -> FakeConnection:
        opened.append(FakeConnection())
        return opened[-1]

    return taskapi.ConnectionPool(connect, size, wait_s)


def test_pool_reuses_an_idle_connection(opened: list[FakeConnection]) -> None:
    pool = _pool(opened)
    with pool.connection() as first:
        assert pool.in_use == 1
    with pool.connection() as second:
        assert second is first
    assert (len(opened), pool.in_use) == (1, 0)


def test_pool_drops_a_connection_whose_use_raised(opened: list[FakeConnection]) -> None:
    pool = _pool(opened)
    with pytest.raises(RuntimeError), pool.connection():
        raise RuntimeError("server closed the connection unexpectedly")
    assert opened[0].closed
    with pool.connection() as conn:
        assert conn is opened[1]


def test_pool_drops_an_idle_connection_the_server_closed(opened: list[FakeConnection]) -> None:
    pool = _pool(opened)
    with pool.connection():
        pass
    # What a PostgreSQL shutdown does to each client: a last message, then EOF.
    opened[0].server_side.sendall(b"E terminating connection due to administrator command")
    opened[0].server_side.close()
    with pool.connection() as conn:
        assert conn is opened[1]
    assert opened[0].closed


def test_pool_waits_then_refuses_when_every_connection_is_lent(
    opened: list[FakeConnection],
) -> None:
    pool = _pool(opened, size=1)
    lent = pool.connection()
    with lent, pytest.raises(taskapi.DatabaseUnavailable, match="no free"), pool.connection():
        pass
    assert pool.in_use == 0


def test_discard_idle_closes_every_idle_connection(opened: list[FakeConnection]) -> None:
    pool = _pool(opened)
    with pool.connection(), pool.connection():
        pass
    pool.discard_idle()
    assert all(conn.closed for conn in opened)
    with pool.connection() as conn:
        assert conn is opened[2]


# --- the HTTP layer, on loopback --------------------------------------------------------------


@dataclass
class FakeRequestLog:
    seen: list[tuple[str, str, int]] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def observe(self, route: str, method: str, status: int, duration_s: float) -> None:
        assert duration_s >= 0
        with self.changed:
            self.seen.append((route, method, status))
            self.changed.notify_all()

    def sorted_when(self, count: int) -> list[tuple[str, str, int]]:
        # A request is observed after its response is sent, on the server's thread: the client
        # may read the response first, and requests on separate connections may finish out of
        # order.
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.seen) >= count, timeout=5)
            return sorted(self.seen)


@pytest.fixture
def served(wiring: Wiring) -> Iterator[tuple[int, FakeRequestLog]]:
    requests = FakeRequestLog()
    handler = taskapi.make_handler(wiring.app(), requests.observe, taskapi.InFlight())
    server = taskapi.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], requests
    finally:
        server.shutdown()
        server.server_close()


def _request(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def test_http_round_trip_is_observed_under_the_route_template(
    served: tuple[int, FakeRequestLog],
) -> None:
    port, requests = served
    assert _request(port, "POST", "/tasks", b'{"title": "t"}')[0] == 201
    assert _request(port, "GET", "/tasks/1")[1]["title"] == "t"
    assert _request(port, "GET", "/tasks/1/../2")[0] == 404
    assert requests.sorted_when(3) == [
        ("/tasks", "POST", 201),
        ("/tasks/{id}", "GET", 200),
        ("unmatched", "GET", 404),
    ]


def test_http_keeps_the_connection_alive_between_requests(
    served: tuple[int, FakeRequestLog],
) -> None:
    port, _ = served
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        for _ in range(3):
            conn.request("GET", "/health")
            response = conn.getresponse()
            assert response.status == 200
            response.read()
    finally:
        conn.close()


def test_http_refuses_oversized_and_chunked_bodies(served: tuple[int, FakeRequestLog]) -> None:
    port, requests = served
    huge = {"Content-Length": str(2 << 20)}
    assert _request(port, "POST", "/tasks", headers=huge)[0] == 413
    chunked = {"Transfer-Encoding": "chunked"}
    assert _request(port, "POST", "/tasks", b'{"title": "t"}', chunked)[0] == 411
    bad_length = {"Content-Length": "ten"}
    assert _request(port, "POST", "/tasks", headers=bad_length)[0] == 400
    assert [status for _, _, status in requests.sorted_when(3)] == [400, 411, 413]


# --- payments ---------------------------------------------------------------------------------


class FakePaymentStore:
    """An in-memory PaymentStore over a FakeTaskStore's tasks; ``down`` fails every call."""

    def __init__(self, tasks: FakeTaskStore) -> None:
        self.tasks = tasks
        self.payments: dict[int, Any] = {}
        self.refs: dict[int, str] = {}
        self.down = False

    def _check(self) -> None:
        if self.down:
            raise taskapi.DatabaseUnavailable("connection refused")

    def record_payment(self, task_id: int, amount_cents: int) -> Any:
        self._check()
        if task_id not in self.tasks.tasks:
            return None
        return self.payments.setdefault(task_id, taskapi.Payment(task_id, amount_cents, "pending"))

    def mark_paid(self, task_id: int, provider_ref: str) -> None:
        self._check()
        payment = self.payments[task_id]
        if payment.status == "pending":
            self.payments[task_id] = taskapi.Payment(task_id, payment.amount_cents, "paid")
            self.refs[task_id] = provider_ref

    def queued_payments(self, limit: int) -> list[Any]:
        self._check()
        return [p for _, p in sorted(self.payments.items()) if p.status == "pending"][:limit]


class FakePaymentProvider:
    """Charges by idempotency key, as a provider does; ``down`` refuses, ``fail_after`` N
    charges the rest fail."""

    def __init__(self) -> None:
        self.charges: dict[str, int] = {}
        self.calls = 0
        self.down = False
        self.fail_after: int | None = None

    def charge(self, idempotency_key: str, amount_cents: int) -> str:
        self.calls += 1
        if self.down or (self.fail_after is not None and len(self.charges) >= self.fail_after):
            raise taskapi.PaymentProviderUnavailable("connection refused")
        self.charges.setdefault(idempotency_key, amount_cents)
        return f"ch-{idempotency_key}"


@dataclass
class FakePaymentStats:
    results: list[str] = field(default_factory=list)

    def payment(self, result: str) -> None:
        self.results.append(result)


@dataclass
class Till:
    """A TaskApi with payments, over fakes."""

    wiring: Wiring = field(default_factory=Wiring)
    provider: FakePaymentProvider = field(default_factory=FakePaymentProvider)
    stats: FakePaymentStats = field(default_factory=FakePaymentStats)
    payments: FakePaymentStore = field(init=False)
    # What the cashier would run in the background, kept here to be run by the test.
    spawned: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.payments = FakePaymentStore(self.wiring.store)

    def cashier(self) -> Any:
        return taskapi.Cashier(self.payments, self.provider, self.stats, spawn=self.spawned.append)

    def app(self) -> Any:
        return self.wiring.app(cashier=self.cashier())


@pytest.fixture
def till() -> Till:
    return Till()


def _pay(app: Any, task_id: int, body: bytes = b'{"amount_cents": 250}') -> tuple[int, Any]:
    return _handle(app, "POST", f"/tasks/{task_id}/pay", body)


def test_pay_route_is_its_own_template() -> None:
    match = taskapi.match_route("/tasks/42/pay")
    assert (match.route, match.task_id) == ("/tasks/{id}/pay", 42)
    assert taskapi.match_route("/tasks/42/pay/x").route == "unmatched"


def test_config_reads_the_payment_provider() -> None:
    config = taskapi.Config.from_env(
        {"PAYMENT_URL": "http://proxy:18080/", "PAYMENT_TIMEOUT_S": "1"}
    )
    assert (config.payment_url, config.payment_timeout_s) == ("http://proxy:18080", 1.0)
    assert taskapi.Config.from_env({}).payment_url == ""


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"[]",
        b'{"amount_cents": 0}',
        b'{"amount_cents": 1.5}',
        b'{"amount_cents": true}',
        b'{"amount_cents": 1, "to": "x"}',
        b'{"amount_cents": 1000000001}',
    ],
)
def test_a_bad_payment_body_is_400_and_nothing_is_kept(till: Till, body: bytes) -> None:
    app = till.app()
    _handle(app, "POST", "/tasks", b'{"title": "t"}')
    status, data = _pay(app, 1, body)
    assert (status, "amount_cents" in data["error"]) == (400, True)
    assert till.payments.payments == {}
    assert till.provider.calls == 0


def test_payment_with_the_provider_up_is_200_paid_and_charged_once(till: Till) -> None:
    app = till.app()
    _handle(app, "POST", "/tasks", b'{"title": "t"}')
    assert _pay(app, 1) == (
        200,
        {"task_id": 1, "amount_cents": 250, "status": "paid", "served_by": "backend-1"},
    )
    assert till.payments.payments[1].status == "paid"
    assert till.payments.refs == {1: "ch-task-1"}
    # Paying again is the same payment: no second charge.
    assert _pay(app, 1)[0] == 200
    assert (till.provider.calls, till.stats.results) == (1, ["paid"])


def test_payment_with_the_provider_down_is_kept_and_answered_202_queued(till: Till) -> None:
    app = till.app()
    _handle(app, "POST", "/tasks", b'{"title": "t"}')
    till.provider.down = True
    status, data = _pay(app, 1)
    assert (status, data["status"]) == (202, "queued")
    assert till.payments.payments[1].status == "pending"
    assert till.stats.results == ["queued"]


def test_the_rest_of_the_service_is_unharmed_while_the_provider_is_down(till: Till) -> None:
    app = till.app()
    till.provider.down = True
    assert _handle(app, "POST", "/tasks", b'{"title": "t"}')[0] == 201
    assert _handle(app, "GET", "/tasks/1")[0] == 200
    assert _handle(app, "GET", "/health")[0] == 200
    assert till.provider.calls == 0


def test_payment_of_an_unknown_task_is_404(till: Till) -> None:
    assert _pay(till.app(), 9) == (404, {"error": "task 9 not found"})
    assert till.provider.calls == 0


def test_payment_the_database_cannot_keep_is_refused_with_503_never_charged(till: Till) -> None:
    app = till.app()
    _handle(app, "POST", "/tasks", b'{"title": "t"}')
    till.payments.down = True
    assert _pay(app, 1) == (503, {"error": "database unavailable"})
    assert till.provider.calls == 0


def test_payments_are_not_configured_without_a_cashier(wiring: Wiring) -> None:
    app = wiring.app()
    _handle(app, "POST", "/tasks", b'{"title": "t"}')
    assert _pay(app, 1) == (503, {"error": "payments are not configured"})


def _queue_three(till: Till, app: Any) -> None:
    for title in ("a", "b", "c"):
        _handle(app, "POST", "/tasks", json.dumps({"title": title}).encode())
    till.provider.down = True
    for task_id in (1, 2, 3):
        assert _pay(app, task_id)[0] == 202


def test_the_queue_is_settled_once_the_provider_answers_again(till: Till) -> None:
    app = till.app()
    _queue_three(till, app)
    cashier = till.cashier()
    assert cashier.settle_queue() == 0
    till.provider.down = False
    assert cashier.settle_queue() == 3
    assert {p.status for p in till.payments.payments.values()} == {"paid"}
    assert till.provider.charges == {"task-1": 250, "task-2": 250, "task-3": 250}
    assert till.stats.results == ["queued"] * 3 + ["settled"] * 3


def test_settling_goes_on_past_one_batch(till: Till, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(taskapi, "PAYMENT_RETRY_BATCH", 2)
    app = till.app()
    _queue_three(till, app)
    till.provider.down = False
    assert till.cashier().settle_queue() == 3


def test_settling_stops_at_the_first_failure_and_keeps_the_rest_queued(till: Till) -> None:
    app = till.app()
    _queue_three(till, app)
    till.provider.down = False
    till.provider.fail_after = 1
    calls_before = till.provider.calls
    assert till.cashier().settle_queue() == 1
    assert till.provider.calls - calls_before == 2  # one charged, one refused, then it stops
    assert [p.status for _, p in sorted(till.payments.payments.items())] == [
        "paid",
        "pending",
        "pending",
    ]


def test_the_first_payment_the_provider_takes_again_settles_the_queue(till: Till) -> None:
    """The queue is settled in the background as soon as a payment goes through, by one
    settling run at a time, and a drained queue costs the next payments nothing."""
    app = till.app()
    _queue_three(till, app)
    assert till.spawned == []  # nothing is tried while the provider refuses
    _handle(app, "POST", "/tasks", b'{"title": "d"}')
    till.provider.down = False
    assert _pay(app, 4)[0] == 200
    _handle(app, "POST", "/tasks", b'{"title": "e"}')
    assert _pay(app, 5)[0] == 200  # one settling run at a time: no second one
    assert len(till.spawned) == 1
    till.spawned.pop()()
    assert [p.status for _, p in sorted(till.payments.payments.items())] == ["paid"] * 5
    _handle(app, "POST", "/tasks", b'{"title": "f"}')
    assert _pay(app, 6)[0] == 200
    assert till.spawned == []  # the queue is known to be empty


def test_a_new_backend_settles_a_queue_left_from_before_it_started(till: Till) -> None:
    app = till.app()
    _queue_three(till, app)
    till.provider.down = False
    restarted = till.app()  # a new process: it cannot know whether a queue is left
    _handle(restarted, "POST", "/tasks", b'{"title": "d"}')
    assert _pay(restarted, 4)[0] == 200
    till.spawned.pop()()
    assert {p.status for p in till.payments.payments.values()} == {"paid"}


def test_a_settling_run_the_database_interrupts_ends_and_a_later_one_may_start(
    till: Till,
) -> None:
    app = till.app()
    _queue_three(till, app)
    till.provider.down = False
    _handle(app, "POST", "/tasks", b'{"title": "d"}')
    _pay(app, 4)
    till.payments.down = True
    till.spawned.pop()()  # DatabaseUnavailable is the probe's to report: no exception here
    till.payments.down = False
    _handle(app, "POST", "/tasks", b'{"title": "e"}')
    _pay(app, 5)
    till.spawned.pop()()
    assert {p.status for p in till.payments.payments.values()} == {"paid"}


def test_a_charge_retried_by_both_backends_is_one_charge(till: Till) -> None:
    app = till.app()
    _handle(app, "POST", "/tasks", b'{"title": "t"}')
    till.provider.down = True
    _pay(app, 1)
    till.provider.down = False
    # Both backends read the same queue before either marks the payment paid.
    queued = till.payments.queued_payments(50)
    for payment in queued + queued:
        till.provider.charge(taskapi.idempotency_key(payment.task_id), payment.amount_cents)
    assert till.provider.charges == {"task-1": 250}


def test_the_retry_settles_a_queue_that_no_payment_follows(till: Till) -> None:
    """The retry worker's part: no payment comes after the outage (or a restore from backup
    brought pending payments back), and the queue is settled all the same."""
    app = till.app()
    _queue_three(till, app)
    cashier = till.cashier()
    till.provider.down = False
    cashier.retry()
    cashier.retry()  # one settling run at a time
    assert len(till.spawned) == 1
    till.spawned.pop()()
    assert {p.status for p in till.payments.payments.values()} == {"paid"}
    cashier.retry()  # the run ended: the next retry may start one
    assert len(till.spawned) == 1


def test_a_payment_that_fails_after_it_was_stored_is_settled_later(till: Till) -> None:
    """Charged, then the database went before the payment was marked paid: the client heard
    a 503, the payment stayed pending, and the next payment that goes through settles it."""
    cashier = till.cashier()
    app = till.wiring.app(cashier=cashier)
    _handle(app, "POST", "/tasks", b'{"title": "t"}')
    _handle(app, "POST", "/tasks", b'{"title": "u"}')
    assert _pay(app, 1)[0] == 200
    till.spawned.pop()()  # a new backend's first payment settles what may be left: nothing
    marking = till.payments.mark_paid

    def database_gone(task_id: int, provider_ref: str) -> None:
        raise taskapi.DatabaseUnavailable("server closed the connection")

    till.payments.mark_paid = database_gone  # type: ignore[method-assign]
    assert _pay(app, 2)[0] == 503
    till.payments.mark_paid = marking  # type: ignore[method-assign]
    assert till.payments.payments[2].status == "pending"
    _handle(app, "POST", "/tasks", b'{"title": "v"}')
    assert _pay(app, 3)[0] == 200
    assert len(till.spawned) == 1
    till.spawned.pop()()
    assert {p.status for p in till.payments.payments.values()} == {"paid"}


def test_the_retry_worker_retries_until_it_is_stopped() -> None:
    class FakeStop:
        def __init__(self, waits_before_stop: int) -> None:
            self.left = waits_before_stop
            self.waited: list[float] = []

        def wait(self, timeout: float) -> bool:
            self.waited.append(timeout)
            self.left -= 1
            return self.left < 0

    class CountingCashier:
        retries = 0

        def retry(self) -> None:
            self.retries += 1

    stop, cashier = FakeStop(waits_before_stop=3), CountingCashier()
    taskapi.retry_queue_every(cashier, stop, 5.0)  # type: ignore[arg-type]
    assert (cashier.retries, stop.waited) == (3, [5.0] * 4)


def test_a_broken_answer_from_the_provider_is_the_provider_unavailable() -> None:
    """An answer that is not HTTP (a bad status line) is the provider failing, as a refused
    connection is: the payment is queued, not failed with a 500."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)

        def answer_garbage() -> None:
            conn, _ = server.accept()
            with conn:
                conn.recv(65536)
                conn.sendall(b"NOT-HTTP garbage\r\n\r\n")

        thread = threading.Thread(target=answer_garbage, daemon=True)
        thread.start()
        provider = taskapi.HttpPaymentProvider(f"http://127.0.0.1:{server.getsockname()[1]}", 2.0)
        with pytest.raises(taskapi.PaymentProviderUnavailable):
            provider.charge("task-1", 250)
        thread.join(timeout=5)
