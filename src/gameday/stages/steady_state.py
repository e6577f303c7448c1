"""The steady state: is the replica serving as it should, right now?

:func:`check` answers in words (an empty list means steady): the health endpoints the
scenario names answer 200, no alert is active in Alertmanager, and the drill's own load
fails no more often than the scenario allows. :func:`wait_for` polls it until it holds.
Both only read; neither fixes anything.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Protocol

import httpx

from gameday.errors import ReplicaError
from gameday.infra.replica import Endpoint
from gameday.inputs import scenario
from gameday.inputs.project import Project
from gameday.stages.detection import AlertWatch
from gameday.stages.load import LoadGenerator
from gameday.timeline import utcnow
from gameday.waiting import poll

__all__ = ["ServiceAddresses", "check", "health_problems", "wait_for"]

# A health endpoint slower than this is not steady, whatever it would have answered.
HEALTH_TIMEOUT_S = 3.0
# How often a long wait for the steady state says what it is still waiting for.
REPORT_EVERY_S = 15.0


class ServiceAddresses(Protocol):
    """What the steady state needs of a replica (``Replica`` has it)."""

    @property
    def project(self) -> Project: ...

    def endpoint(self, service: str) -> Endpoint: ...


def check(
    replica: ServiceAddresses,
    spec: scenario.SteadyState,
    watch: AlertWatch,
    load: LoadGenerator | None,
) -> list[str]:
    """The ways the replica is not in its steady state now; [] when it is."""
    problems = health_problems(replica, spec.healthy)
    if spec.alerts_resolved:
        active = watch.active()
        if active:
            problems.append(f"alerts still active: {', '.join(sorted(active))}")
    if load is not None:
        window = load.window(spec.window_s)
        if window.total == 0:
            problems.append(f"no request of the load finished in the last {spec.window_s:g} s")
        elif window.error_rate > spec.max_error_rate:
            problems.append(
                f"error rate {window.error_rate:.1%} over the last {spec.window_s:g} s "
                f"(target {spec.max_error_rate:.1%})"
            )
    return problems


def health_problems(replica: ServiceAddresses, services: list[str] | None = None) -> list[str]:
    """The health endpoints among ``services`` (None: all the project names) that do not
    answer 200 now, in words; [] when all do."""
    paths = replica.project.health()
    healthy = list(paths) if services is None else services
    if not healthy:
        return []
    # One client for all, and no TLS set-up: the endpoints are plain HTTP on 127.0.0.1, and
    # loading the CA bundle for each request took the interpreter's lock 40 ms a time,
    # which stalled the load generator's loop (its heartbeat showed it) twice a second.
    with (
        httpx.Client(timeout=HEALTH_TIMEOUT_S, trust_env=False, verify=False) as http,
        ThreadPoolExecutor(max_workers=len(healthy)) as pool,
    ):
        answers = pool.map(
            lambda service: _health_problem(http, replica, service, paths.get(service, "/health")),
            healthy,
        )
        return [p for p in answers if p]


def wait_for(
    replica: ServiceAddresses,
    spec: scenario.SteadyState,
    watch: AlertWatch,
    load: LoadGenerator | None,
    timeout_s: float,
    poll_s: float = 0.5,
    progress: Callable[[str], None] | None = None,
) -> tuple[datetime | None, list[str]]:
    """When the steady state held (the start of the first check that passed), or None and
    the problems of the last check when it did not hold within ``timeout_s``. A long wait
    tells ``progress`` what it is still waiting for, every REPORT_EVERY_S."""
    started_at = time.monotonic()
    reported_at = started_at

    def look() -> tuple[datetime, list[str]]:
        nonlocal reported_at
        at, problems = utcnow(), check(replica, spec, watch, load)
        now = time.monotonic()
        if problems and progress is not None and now - reported_at >= REPORT_EVERY_S:
            reported_at = now
            progress(f"  not steady yet after {now - started_at:.0f} s: {'; '.join(problems)}")
        return at, problems

    waited = poll(look, lambda seen: not seen[1], timeout_s=timeout_s, interval_s=poll_s)
    started, problems = waited.last
    return (started, []) if waited.ok else (None, problems)


def _health_problem(http: httpx.Client, replica: ServiceAddresses, service: str, path: str) -> str:
    try:
        url = f"{replica.endpoint(service).url}{path}"
    except ReplicaError as exc:
        return f"{service}: {exc}"
    try:
        response = http.get(url)
    except httpx.TimeoutException:
        return f"{service} {path} did not answer within {HEALTH_TIMEOUT_S:g} s"
    except httpx.HTTPError as exc:
        return f"{service} {path} did not answer ({type(exc).__name__})"
    if response.status_code != 200:
        return f"{service} {path} answered {response.status_code}"
    return ""
