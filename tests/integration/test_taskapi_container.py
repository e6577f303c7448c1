"""taskapi in its real image, beside a real PostgreSQL and Redis on a private Docker network.

The three images are built here: the backend from its own Dockerfile, PostgreSQL and Redis from
the throwaway Dockerfiles in fixtures/, all FROM gameday-base:bookworm (waited for if another
process is still making it). The test talks to the backend only through its port published on
127.0.0.1, and to PostgreSQL and Redis only through ``docker exec``. Everything it creates
carries ``io.gameday.test=taskapi`` and this run's id, and is removed at the end, also on
failure. The tests share one stack; each one that stops a dependency starts it again.
"""

from __future__ import annotations

import contextlib
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import docker
import docker.errors
import httpx
import pytest

pytestmark = pytest.mark.docker

BASE_IMAGE = "gameday-base:bookworm"
BASE_IMAGE_WAIT_S = 600.0
BACKEND_DIR = Path(__file__).resolve().parents[2] / "src/gameday/stack/images/backend"
FIXTURES_DIR = Path(__file__).resolve().parent / "fixtures"
APP_VERSION = "it-1"
BACKEND_NAME = "backend-it"
DB_PASSWORD = "gameday"  # the fixture image's; the cluster is reachable only on its network

T = TypeVar("T")


def _wait_for(what: str, check: Callable[[], T | None], timeout_s: float = 60.0) -> T:
    """Poll ``check`` until it returns something truthy; its exceptions count as not yet."""
    deadline = time.monotonic() + timeout_s
    last: object = None
    while time.monotonic() < deadline:
        try:
            result = check()
        except (httpx.HTTPError, KeyError) as exc:
            last = exc
        else:
            if result:
                return result
            last = result
        time.sleep(0.25)
    raise AssertionError(f"{what}: not within {timeout_s:g}s (last: {last!r})")


def parse_metric(text: str, name: str, **labels: str) -> float:
    """The value of the first sample of ``name`` whose labels include ``labels``."""
    for line in text.splitlines():
        sample = re.fullmatch(r"([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)", line)
        if sample is None or sample[1] != name:
            continue
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', sample[2] or ""))
        if labels.items() <= found.items():
            return float(sample[3])
    raise KeyError(f"no sample {name}{labels or ''}")


@dataclass
class Stack:
    """The running containers and an HTTP client bound to the backend's published port."""

    backend: Any
    postgres: Any
    redis: Any
    http: httpx.Client

    def metric(self, name: str, **labels: str) -> float:
        return parse_metric(self.http.get("/metrics").text, name, **labels)

    def create_task(self, title: str, payload: object = None) -> dict[str, Any]:
        response = self.http.post("/tasks", json={"title": title, "payload": payload})
        assert response.status_code == 201, response.text
        task: dict[str, Any] = response.json()
        return task

    def psql(self, sql: str) -> str:
        code, output = self.postgres.exec_run(
            ["psql", "--username=postgres", "--dbname=labelmint", "-At", "-c", sql]
        )
        assert code == 0, output.decode()
        return str(output.decode().strip())

    def redis_cli(self, *args: str) -> str:
        code, output = self.redis.exec_run(["redis-cli", *args])
        assert code == 0, output.decode()
        return str(output.decode().strip())

    def wait_healthy(self, status: str = "ok") -> dict[str, Any]:
        def health() -> dict[str, Any] | None:
            report: dict[str, Any] = self.http.get("/health").json()
            return report if report["status"] == status else None

        try:
            return _wait_for(f"/health status {status}", health)
        except AssertionError as exc:
            tail = self.backend.logs(tail=20).decode(errors="replace")
            raise AssertionError(f"{exc}\nbackend's last log lines:\n{tail}") from None

    def started_at(self) -> str:
        self.backend.reload()
        return str(self.backend.attrs["State"]["StartedAt"])


def _client() -> Any:
    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as exc:
        pytest.skip(f"no Docker engine answers: {exc}")
    return client


def _wait_for_base_image(client: Any) -> None:
    def present() -> bool:
        try:
            client.images.get(BASE_IMAGE)
        except docker.errors.ImageNotFound:
            return False
        return True

    try:
        _wait_for(f"image {BASE_IMAGE}", present, BASE_IMAGE_WAIT_S)
    except AssertionError:
        pytest.fail(f"{BASE_IMAGE} never appeared: build the replica's base image first")


def _build(client: Any, context: Path, tag: str, labels: dict[str, str], **args: str) -> None:
    try:
        client.images.build(
            path=str(context),
            tag=tag,
            buildargs={"BASE_IMAGE": BASE_IMAGE, **args},
            labels=labels,
            rm=True,
            forcerm=True,
        )
    except docker.errors.BuildError as exc:
        log = "".join(str(chunk.get("stream", chunk.get("error", ""))) for chunk in exc.build_log)
        pytest.fail(f"building {context.name} failed: {exc}\n{log[-3000:]}")


def _remove_run(client: Any, labels: dict[str, str]) -> None:
    """Remove this run's containers, network and images; other runs' are left alone."""
    selector = {"label": [f"{key}={value}" for key, value in labels.items()]}
    for container in client.containers.list(all=True, filters=selector):
        container.remove(force=True, v=True)
    for network in client.networks.list(filters=selector):
        network.remove()
    for image in client.images.list(filters=selector):
        # The run label makes the image's id this run's alone, so this cannot untag another's
        # image; layers that another image shares stay.
        with contextlib.suppress(docker.errors.ImageNotFound):
            client.images.remove(image.id)


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    client = _client()
    run = uuid.uuid4().hex[:10]
    labels = {"io.gameday.test": "taskapi", "io.gameday.test.run": run}
    try:
        _wait_for_base_image(client)
        _build(
            client, BACKEND_DIR, f"gd-test-taskapi-backend:{run}", labels, APP_VERSION=APP_VERSION
        )
        _build(client, FIXTURES_DIR / "postgres", f"gd-test-taskapi-postgres:{run}", labels)
        _build(client, FIXTURES_DIR / "redis", f"gd-test-taskapi-redis:{run}", labels)
        network = client.networks.create(f"gd-test-taskapi-{run}", labels=labels)
        common = {"detach": True, "labels": labels, "network": network.name, "init": True}
        postgres = client.containers.run(
            f"gd-test-taskapi-postgres:{run}", name=f"gd-test-taskapi-pg-{run}", **common
        )
        redis = client.containers.run(
            f"gd-test-taskapi-redis:{run}", name=f"gd-test-taskapi-redis-{run}", **common
        )
        backend = client.containers.run(
            f"gd-test-taskapi-backend:{run}",
            name=f"gd-test-taskapi-backend-{run}",
            environment={
                "BACKEND_NAME": BACKEND_NAME,
                "DB_HOST": postgres.name,
                "DB_PORT": "5432",
                "DB_NAME": "labelmint",
                "DB_USER": "postgres",
                "DB_PASSWORD": DB_PASSWORD,
                "REDIS_HOST": redis.name,
                "REDIS_PORT": "6379",
            },
            # Docker picks a free host port, on loopback only.
            ports={"8000/tcp": ("127.0.0.1", None)},
            **common,
        )
        backend.reload()
        port = backend.ports["8000/tcp"][0]["HostPort"]
        # trust_env=False: no proxy from the environment may come between the test and loopback.
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}", timeout=10.0, trust_env=False
        ) as http:
            ready = Stack(backend=backend, postgres=postgres, redis=redis, http=http)
            ready.wait_healthy()
            yield ready
    finally:
        _remove_run(client, labels)


def test_health_reports_both_dependencies_and_the_build(stack: Stack) -> None:
    response = stack.http.get("/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "backend": BACKEND_NAME,
        "version": APP_VERSION,
        "database": "ok",
        "cache": "ok",
    }
    _wait_for("db_up and cache_up at 1", lambda: stack.metric("taskapi_db_up") == 1.0)
    assert stack.metric("taskapi_cache_up") == 1.0
    assert stack.metric("taskapi_build_info", backend=BACKEND_NAME, version=APP_VERSION) == 1.0
    # The background probe times SELECT 1 once a second.
    _wait_for(
        "probe round trips",
        lambda: stack.metric("taskapi_db_roundtrip_seconds_count", kind="probe") > 1,
    )


def test_created_task_is_committed_in_postgres(stack: Stack) -> None:
    task = stack.create_task("label 100 cats", {"batch": 7, "tags": ["cat"]})
    assert task["served_by"] == BACKEND_NAME
    row = stack.psql(
        f"SELECT title, payload->>'batch', payload->'tags' FROM tasks WHERE id = {task['id']}"
    )
    assert row == 'label 100 cats|7|["cat"]'
    listed = stack.http.get("/tasks", params={"limit": 1}).json()
    assert listed["ids"] == [task["id"]]


def test_second_read_is_a_cache_hit(stack: Stack) -> None:
    task = stack.create_task("read me twice")
    hits, misses = (
        stack.metric("taskapi_cache_hits_total"),
        stack.metric("taskapi_cache_misses_total"),
    )

    first = stack.http.get(f"/tasks/{task['id']}")
    assert first.status_code == 200
    assert stack.metric("taskapi_cache_misses_total") == misses + 1
    assert 0 < int(stack.redis_cli("TTL", f"task:{task['id']}")) <= 300

    second = stack.http.get(f"/tasks/{task['id']}")
    assert second.json() == first.json()
    assert stack.metric("taskapi_cache_hits_total") == hits + 1
    assert stack.metric("taskapi_cache_misses_total") == misses + 1
    # A request is counted just after its response is sent.
    reads = {"route": "/tasks/{id}", "method": "GET", "status": "200"}
    _wait_for("reads counted", lambda: stack.metric("taskapi_http_requests_total", **reads) >= 2)


def test_redis_outage_degrades_and_the_cache_comes_back_without_a_restart(stack: Stack) -> None:
    task = stack.create_task("survive the cache")
    started_at = stack.started_at()
    try:
        stack.redis.stop(timeout=5)
        errors = stack.metric("taskapi_cache_errors_total")
        read = stack.http.get(f"/tasks/{task['id']}")
        assert read.status_code == 200
        assert read.json()["title"] == "survive the cache"
        assert stack.metric("taskapi_cache_errors_total") > errors
        report = stack.wait_healthy("degraded")
        assert report["database"] == "ok"
        assert report["cache"].startswith("down: ")
        _wait_for("cache_up at 0", lambda: stack.metric("taskapi_cache_up") == 0.0)
    finally:
        stack.redis.start()
    stack.wait_healthy("ok")
    _wait_for("cache_up at 1", lambda: stack.metric("taskapi_cache_up") == 1.0)
    hits = stack.metric("taskapi_cache_hits_total")
    for _ in range(2):  # a restarted Redis is empty: the first read fills it again
        assert stack.http.get(f"/tasks/{task['id']}").status_code == 200
    assert stack.metric("taskapi_cache_hits_total") == hits + 1
    assert stack.started_at() == started_at


def test_database_outage_is_503_and_the_backend_recovers_by_itself(stack: Stack) -> None:
    cached = stack.create_task("cached before the outage")
    stack.http.get(f"/tasks/{cached['id']}")
    started_at = stack.started_at()
    db_errors = stack.metric("taskapi_db_errors_total")
    try:
        stack.postgres.stop(timeout=10)
        _wait_for("db_up at 0", lambda: stack.metric("taskapi_db_up") == 0.0)
        refused = stack.http.post("/tasks", json={"title": "lost?"})
        assert (refused.status_code, refused.json()) == (503, {"error": "database unavailable"})
        assert stack.http.get(f"/tasks/{cached['id'] + 1000}").status_code == 503
        health = stack.http.get("/health")
        assert health.status_code == 503
        assert health.json()["database"].startswith("down: ")
        # Cache-aside keeps serving what the cache holds while the database is away.
        assert stack.http.get(f"/tasks/{cached['id']}").status_code == 200
        assert stack.metric("taskapi_db_errors_total") > db_errors
        assert stack.metric("taskapi_http_errors_total", route="/tasks") >= 1
    finally:
        stack.postgres.start()
    stack.wait_healthy("ok")
    _wait_for("db_up at 1", lambda: stack.metric("taskapi_db_up") == 1.0)
    after = stack.create_task("after the outage")
    assert stack.http.get(f"/tasks/{after['id']}").status_code == 200
    assert stack.psql("SELECT count(*) FROM tasks WHERE title = 'lost?'") == "0"
    assert stack.started_at() == started_at


def test_frozen_database_times_out_instead_of_hanging(stack: Stack) -> None:
    # A paused container's kernel still acknowledges packets, so only taskapi's own deadline
    # (DB_TIMEOUT_S, 2 s) ends the wait.
    stack.postgres.pause()
    try:
        started = time.monotonic()
        health = stack.http.get("/health")
        elapsed_s = time.monotonic() - started
        assert health.status_code == 503
        assert "no answer within 2s" in health.json()["database"]
        assert 1.5 < elapsed_s < 4.0
    finally:
        stack.postgres.unpause()
    stack.wait_healthy("ok")
    assert stack.create_task("after the freeze")["title"] == "after the freeze"
