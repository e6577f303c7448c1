"""Fakes of the replica's HTTP services for unit tests: a gateway, Prometheus and Alertmanager.

Each is a small ``http.server`` on 127.0.0.1 that answers only what the drill code asks, from
state a test sets directly. They are stand-ins, not simulations: nothing here scrapes,
evaluates or groups anything.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

Route = Callable[[str, bytes], tuple[int, Any]]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a fake that holds a request must not hold up the test's end


class FakeHttpService:
    """A JSON-over-HTTP fake: ``route`` maps (method, path) to (status, JSON body)."""

    def __init__(self) -> None:
        self.delay_s = 0.0
        self.received: list[tuple[float, str, str]] = []  # (monotonic time, method, path)
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                self._answer()

            do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

            def _answer(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with fake._lock:
                    fake.received.append((time.monotonic(), self.command, self.path))
                if fake.delay_s:
                    time.sleep(fake.delay_s)
                status, data = fake.route(self.command, self.path, body)
                raw = json.dumps(data).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(raw)))
                    self.end_headers()
                    self.wfile.write(raw)
                except OSError:
                    self.close_connection = True  # the client gave up (a timeout under test)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def route(self, method: str, path: str, body: bytes) -> tuple[int, Any]:
        return 404, {"error": f"the fake has no route {method} {path}"}

    def requests_for(self, method: str, prefix: str) -> int:
        with self._lock:
            return sum(1 for _, m, p in self.received if m == method and p.startswith(prefix))

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()


class FakeGateway(FakeHttpService):
    """The task API as the gateway shows it: POST /tasks, GET /tasks/{id},
    POST /tasks/{id}/pay (always paid at once), GET /health.

    ``fail_with`` makes every task request answer that status; ``health_status`` is what
    /health answers.
    """

    def __init__(self) -> None:
        super().__init__()
        self.fail_with: int | None = None
        self.health_status = 200
        self.tasks: dict[int, str] = {}
        self._next_id = 1

    def route(self, method: str, path: str, body: bytes) -> tuple[int, Any]:
        if path == "/health":
            return self.health_status, {"status": "fake"}
        if self.fail_with is not None:
            return self.fail_with, {"error": "the fake is failing on purpose"}
        if method == "POST" and path == "/tasks":
            title = json.loads(body)["title"]
            with self._lock:
                task_id, self._next_id = self._next_id, self._next_id + 1
                self.tasks[task_id] = title
            return 201, {"id": task_id, "title": title, "served_by": "fake-gateway"}
        match = re.fullmatch(r"/tasks/(\d+)", path)
        if method == "GET" and match:
            task_id = int(match.group(1))
            if task_id in self.tasks:
                return 200, {"id": task_id, "title": self.tasks[task_id]}
            return 404, {"error": "no such task"}
        match = re.fullmatch(r"/tasks/(\d+)/pay", path)
        if method == "POST" and match:
            task_id = int(match.group(1))
            if task_id in self.tasks:
                return 200, {"task_id": task_id, "status": "paid"}
            return 404, {"error": "no such task"}
        return super().route(method, path, body)


def _stamp(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


class FakePrometheus(FakeHttpService):
    """Prometheus' alerts, rules and config APIs, answered from ``alerts`` and ``rules``."""

    def __init__(self, config_yaml: str = "global:\n  scrape_interval: 1s\n") -> None:
        super().__init__()
        self.config_yaml = config_yaml
        self.rules: dict[str, float] = {"DatabaseDown": 2.0}  # alert name -> `for` in seconds
        self.alerts: list[dict[str, Any]] = []
        # query_range answers by expression (each rule's expression is "expr:<name>")
        self.ranges: dict[str, list[dict[str, Any]]] = {}
        self.range_queries: list[dict[str, str]] = []
        self.broken = False

    def set_alert(self, name: str, state: str, active_at: datetime, **labels: str) -> None:
        self.alerts = [a for a in self.alerts if a["labels"] != {"alertname": name, **labels}]
        self.alerts.append(
            {"labels": {"alertname": name, **labels}, "state": state, "activeAt": _stamp(active_at)}
        )

    def clear(self) -> None:
        self.alerts = []

    def route(self, method: str, path: str, body: bytes) -> tuple[int, Any]:
        if self.broken:
            return 503, {"error": "the fake is down on purpose"}
        if path == "/api/v1/alerts":
            return 200, {"status": "success", "data": {"alerts": list(self.alerts)}}
        if path.startswith("/api/v1/rules"):
            rules = [
                {"name": name, "type": "alerting", "duration": seconds, "query": f"expr:{name}"}
                for name, seconds in self.rules.items()
            ]
            return 200, {"status": "success", "data": {"groups": [{"name": "g", "rules": rules}]}}
        if path.startswith("/api/v1/query_range"):
            params = {k: v[0] for k, v in parse_qs(urlsplit(path).query).items()}
            self.range_queries.append(params)
            result = self.ranges.get(params.get("query", ""), [])
            return 200, {"status": "success", "data": {"resultType": "matrix", "result": result}}
        if path == "/api/v1/status/config":
            return 200, {"status": "success", "data": {"yaml": self.config_yaml}}
        return super().route(method, path, body)


class FakeAlertmanager(FakeHttpService):
    """Alertmanager's alerts and status APIs, answered from ``alerts``."""

    def __init__(self, config_yaml: str = "route:\n  receiver: drill\n  group_wait: 1s\n") -> None:
        super().__init__()
        self.config_yaml = config_yaml
        self.alerts: list[dict[str, Any]] = []
        self.broken = False

    def fire(
        self, name: str, starts_at: datetime, ends_at: datetime | None = None, **labels: str
    ) -> None:
        self.alerts = [a for a in self.alerts if a["labels"] != {"alertname": name, **labels}]
        self.alerts.append(
            {
                "labels": {"alertname": name, **labels},
                "startsAt": _stamp(starts_at),
                "endsAt": _stamp(ends_at) if ends_at else "0001-01-01T00:00:00.000Z",
                "status": {"state": "active"},
            }
        )

    def clear(self) -> None:
        self.alerts = []

    def route(self, method: str, path: str, body: bytes) -> tuple[int, Any]:
        if self.broken:
            return 503, {"error": "the fake is down on purpose"}
        if path.startswith("/api/v2/alerts"):
            return 200, list(self.alerts)
        if path == "/api/v2/status":
            return 200, {"config": {"original": self.config_yaml}}
        return super().route(method, path, body)


class FakeDrillReplica:
    """The little of a replica the human responder and the console read: its project and
    run id (the commands they show name it)."""

    def __init__(self, project: Any) -> None:
        self.project = project
        self.run_id = "fake-run"
        self.compose = type("FakeCompose", (), {"name": "gameday-fake-run"})()

    def containers(self) -> dict[str, object]:
        return {}


class FakeAlertWatch:
    """An alert watch that reports the episodes a test sets (none by default)."""

    def __init__(self) -> None:
        self.observed: list[Any] = []

    def active(self) -> set[str]:
        return {o.name for o in self.observed if o.firing_at and not o.resolved_at}

    def episodes(self) -> tuple[Any, ...]:
        return tuple(self.observed)
