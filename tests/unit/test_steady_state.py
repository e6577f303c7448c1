"""Steady-state checks against fakes: a FakeGateway stands in for each health-checked service,
a FakePrometheus and a FakeAlertmanager for monitoring."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
from drill_fakes import FakeAlertmanager, FakeGateway, FakePrometheus

from gameday.errors import ReplicaError
from gameday.infra.replica import Endpoint
from gameday.inputs.project import Project
from gameday.inputs.scenario import Load, SteadyState
from gameday.stages import steady_state
from gameday.stages.detection import AlertWatch
from gameday.stages.load import LoadGenerator, load_for
from gameday.stages.steady_state import check, wait_for
from gameday.timeline import Timeline

SERVICES = ("gateway", "backend-1", "backend-2")


class FakeReplica:
    """Addresses of fake services by name, as ``Replica.endpoint`` gives the real ones, and
    the project whose health endpoints the steady state checks."""

    def __init__(self, project: Project, services: dict[str, FakeGateway]) -> None:
        self.project = project
        self.urls = {name: fake.url for name, fake in services.items()}

    def endpoint(self, service: str) -> Endpoint:
        if service not in self.urls:
            raise ReplicaError(f"service {service!r} publishes no port for 8000/tcp")
        parts = urlsplit(self.urls[service])
        assert parts.hostname and parts.port
        return Endpoint(parts.hostname, parts.port)


class Stack:
    def __init__(self, stack: ExitStack, project: Project) -> None:
        self.project = project
        self.services = {name: stack.enter_context(FakeGateway()) for name in SERVICES}
        self.prometheus = stack.enter_context(FakePrometheus())
        self.alertmanager = stack.enter_context(FakeAlertmanager())
        self.replica = FakeReplica(project, self.services)
        self.timeline = Timeline()
        self.watch = AlertWatch(
            self.prometheus.url, self.alertmanager.url, self.timeline, poll_s=0.02
        )
        stack.callback(self.watch.stop)
        self.watch.start()


@pytest.fixture
def fakes(bundled_project: Project) -> Iterator[Stack]:
    # The bundled project checks the health of exactly these services.
    assert set(bundled_project.health()) == set(SERVICES)
    with ExitStack() as stack:
        yield Stack(stack, bundled_project)


@pytest.fixture
def load(fakes: Stack) -> Iterator[LoadGenerator]:
    assert fakes.project.spec.load is not None
    spec = load_for(fakes.project.spec.load, Load(rate_per_s=50))
    generator = LoadGenerator(fakes.services["gateway"].url, spec, fakes.timeline)
    generator.start()
    time.sleep(0.3)
    yield generator
    generator.stop()


def test_a_healthy_replica_is_steady(fakes: Stack, load: LoadGenerator) -> None:
    assert check(fakes.replica, SteadyState(window_s=0.3), fakes.watch, load) == []


def test_each_unhealthy_service_is_named(fakes: Stack) -> None:
    fakes.services["backend-1"].health_status = 503
    fakes.services["gateway"].health_status = 502
    problems = check(fakes.replica, SteadyState(), fakes.watch, None)
    assert problems == ["gateway /health answered 502", "backend-1 /health answered 503"]


def test_a_service_that_does_not_answer_is_named(fakes: Stack) -> None:
    fakes.services["backend-2"].__exit__(None, None, None)
    problems = check(fakes.replica, SteadyState(), fakes.watch, None)
    assert problems == ["backend-2 /health did not answer (ConnectError)"]


def test_a_service_without_an_address_is_a_problem(fakes: Stack) -> None:
    del fakes.replica.urls["backend-2"]
    (problem,) = check(fakes.replica, SteadyState(), fakes.watch, None)
    assert problem.startswith("backend-2: service 'backend-2' publishes no port")


def test_only_the_services_the_scenario_names_are_checked(fakes: Stack) -> None:
    fakes.services["backend-1"].health_status = 503
    assert check(fakes.replica, SteadyState(healthy=["gateway"]), fakes.watch, None) == []


def test_active_alerts_break_the_steady_state_unless_the_scenario_ignores_them(
    fakes: Stack,
) -> None:
    fakes.alertmanager.fire("DatabaseDown", datetime.now(UTC))
    fakes.alertmanager.fire("RedisDown", datetime.now(UTC))
    assert fakes.watch.wait_firing({"DatabaseDown", "RedisDown"}, timeout_s=2)
    problems = check(fakes.replica, SteadyState(), fakes.watch, None)
    assert problems == ["alerts still active: DatabaseDown, RedisDown"]
    assert check(fakes.replica, SteadyState(alerts_resolved=False), fakes.watch, None) == []


def test_the_loads_error_rate_over_the_window_is_checked(fakes: Stack, load: LoadGenerator) -> None:
    fakes.services["gateway"].fail_with = 503
    time.sleep(0.8)  # well past the window, so no answer from before the failure is in it
    problems = check(fakes.replica, SteadyState(window_s=0.3), fakes.watch, load)
    assert problems == ["error rate 100.0% over the last 0.3 s (target 1.0%)"]
    relaxed = SteadyState(window_s=0.3, max_error_rate=1.0)
    assert check(fakes.replica, relaxed, fakes.watch, load) == []


def test_a_load_that_finishes_nothing_is_not_steady(fakes: Stack, load: LoadGenerator) -> None:
    fakes.services["gateway"].delay_s = 5.0
    time.sleep(0.5)
    problems = check(fakes.replica, SteadyState(healthy=[], window_s=0.3), fakes.watch, load)
    assert problems == ["no request of the load finished in the last 0.3 s"]


def test_wait_for_says_when_the_steady_state_came_back(fakes: Stack) -> None:
    fakes.services["backend-1"].health_status = 503
    fixed_at: list[datetime] = []

    def fix() -> None:
        time.sleep(0.4)
        fixed_at.append(datetime.now(UTC))
        fakes.services["backend-1"].health_status = 200

    fixer = threading.Thread(target=fix)
    fixer.start()
    back, problems = wait_for(
        fakes.replica, SteadyState(), fakes.watch, None, timeout_s=5, poll_s=0.05
    )
    fixer.join()
    assert problems == []
    # The check that passed started at about the fix (it may start just before it).
    assert back is not None and abs((back - fixed_at[0]).total_seconds()) < 1.0


def test_wait_for_gives_up_with_the_last_problems(fakes: Stack) -> None:
    fakes.services["gateway"].health_status = 503
    started = time.monotonic()
    back, problems = wait_for(
        fakes.replica, SteadyState(), fakes.watch, None, timeout_s=0.5, poll_s=0.1
    )
    assert back is None and problems == ["gateway /health answered 503"]
    assert time.monotonic() - started < 1.5


def test_a_long_wait_says_what_it_is_still_waiting_for(
    fakes: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(steady_state, "REPORT_EVERY_S", 0.2)
    fakes.services["gateway"].health_status = 503
    said: list[str] = []
    back, _ = wait_for(
        fakes.replica,
        SteadyState(),
        fakes.watch,
        None,
        timeout_s=0.7,
        poll_s=0.05,
        progress=said.append,
    )
    assert back is None
    # Every 0.2 s, not at every look (14 of them), and never before the first 0.2 s.
    assert 2 <= len(said) <= 3, said
    assert all(line.startswith("  not steady yet after ") for line in said), said
    assert all(line.endswith(" s: gateway /health answered 503") for line in said), said
