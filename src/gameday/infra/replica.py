"""The replica: bring the drill stack up through testcontainers, know when it is ready,
say where each service listens, and take all of it down again.

Ready means more than "containers started": every container is healthy by its own
healthcheck, every Prometheus target is up and every rule group has been evaluated at
least once, so that a drill's detection clock starts on a monitoring stack that can
actually see.

It is long because readiness is more than started containers: health, targets and
rule evaluation, each with the service's own words when it fails.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import TracebackType
from typing import Self

import docker.errors
import httpx
from docker.models.containers import Container

from gameday.errors import ReplicaError, ServiceUnhealthy
from gameday.infra import ownership
from gameday.infra.compose import ComposeProject
from gameday.infra.docker_engine import client
from gameday.inputs.project import Project
from gameday.stages.journal import new_run_id
from gameday.waiting import poll

__all__ = ["Endpoint", "Replica", "new_run_id", "port_variable"]

Progress = Callable[[str], None]

LOG_LINES_ON_FAILURE = 20
# How long a command that says "try again" (a server turning clients away) is retried.
EXEC_PATIENCE_S = 5.0
PORT_ATTEMPTS = 3
# How Docker says a host port is taken: by another container, or by another process.
PORT_CLASHES = ("port is already allocated", "address already in use")
# How often readiness is looked at, and a command that said "try again" is tried again.
READY_POLL_S = 0.25
EXEC_RETRY_S = 0.1


@dataclass(frozen=True)
class _Health:
    """One look at the run's containers: each one's health, and those not healthy yet."""

    states: dict[str, str]
    waiting: list[str]

    @property
    def ready(self) -> bool:
        return bool(self.states) and not self.waiting


@dataclass(frozen=True)
class Endpoint:
    """A service's address on the host (always 127.0.0.1)."""

    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


def _silent(_: str) -> None:
    pass


def port_variable(service: str) -> str:
    """The variable a compose file publishes ``service``'s host port with, by convention."""
    return "GAMEDAY_PORT_" + service.upper().replace("-", "_").replace(".", "_")


class Replica:
    """One running copy of a project's stack.

    Use as a context manager; ``stop`` removes every container, network and volume of
    the run, also when start failed half-way.
    """

    def __init__(
        self,
        project: Project,
        *,
        run_id: str | None = None,
        persistent: bool = False,
        progress: Progress = _silent,
        ready_timeout_s: float = 120.0,
    ) -> None:
        self.project = project
        self.run_id = run_id or new_run_id()
        lease = ownership.PERSISTENT if persistent else ownership.current_lease()
        required = [*project.monitoring_services()]
        if project.spec.load is not None:
            required.append(project.spec.load.target)
        self.compose = ComposeProject(
            run_id=self.run_id,
            lease=lease,
            compose_files=project.compose_files,
            port_variables=project.topology.port_variables,
            required_services=tuple(dict.fromkeys(required)),
        )
        self.progress = progress
        self.ready_timeout_s = ready_timeout_s
        self._last_progress = ""

    # -- lifecycle -----------------------------------------------------------------------

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> Self:
        """Start the replica and wait until it is ready, or raise and leave nothing behind."""
        self.compose.config()  # a bad compose file fails here, before anything starts
        removed = ownership.sweep()
        for run in removed:
            if not run.empty:
                self.progress(f"removed leftovers of dead run {run.run_id}")
            for warning in run.warnings:
                self.progress(f"warning: {warning}")
        started = time.monotonic()
        self.progress(f"replica {self.compose.name}: starting")
        try:
            self._compose_up(started)
            self._wait_healthy(started)
            self._wait_monitoring(started)
        except BaseException:
            self.stop()
            raise
        self.progress(f"replica {self.compose.name}: ready in {time.monotonic() - started:.1f} s")
        return self

    def stop(self) -> None:
        """Remove everything of this run (containers, networks, volumes)."""
        started = time.monotonic()
        try:
            self.compose.docker_compose().stop(down=True)
        except subprocess.CalledProcessError:
            pass  # the label sweep below removes whatever compose could not
        finally:
            for warning in ownership.remove_run(self.run_id).warnings:
                self.progress(f"warning: {warning}")
            self.compose.discard_env()
        self.progress(f"replica {self.compose.name}: removed in {time.monotonic() - started:.1f} s")

    def _compose_up(self, started: float) -> None:
        """Run `compose up`; if another process took one of the chosen host ports between
        their choice and Docker's bind, choose new ones and try again."""
        for attempt in range(1, PORT_ATTEMPTS + 1):
            try:
                self._compose_up_once(started)
                return
            except ReplicaError as exc:
                if not any(c in str(exc) for c in PORT_CLASHES) or attempt == PORT_ATTEMPTS:
                    raise
                self.progress(f"replica {self.compose.name}: a host port was taken; retrying")
                ownership.remove_run(self.run_id)
                self.compose.ports.clear()

    def _compose_up_once(self, started: float) -> None:
        """Run `compose up` in the background and report health while it works.

        Compose itself waits for `depends_on` conditions, which can take a while; watching
        at the same time shows progress and catches a service that died early.
        """
        with ThreadPoolExecutor(max_workers=1) as pool:
            up = pool.submit(self.compose.docker_compose().start)

            def look() -> _Health | None:
                return None if up.done() else self._check_health(final=False)

            waited = poll(
                look,
                lambda health: health is None,
                timeout_s=self._time_left(started),
                interval_s=READY_POLL_S,
            )
            if waited.last is not None:  # compose is still at work, and the time is up
                raise self._late(waited.last)
            try:
                up.result()
            except subprocess.CalledProcessError as exc:
                stderr = (exc.stderr or b"").decode(errors="replace").strip()
                if any(clash in stderr for clash in PORT_CLASHES):
                    raise ReplicaError(
                        f"replica {self.compose.name}: {stderr.splitlines()[-1]}"
                    ) from exc
                self._raise_for_unhealthy(fallback=stderr)

    # -- readiness -----------------------------------------------------------------------

    def containers(self) -> dict[str, Container]:
        """The run's containers by compose service name."""
        docker_client = client()
        selector = [f"{ownership.LABEL_RUN}={self.run_id}", f"{ownership.LABEL_MANAGED}=true"]
        found = {}
        for summary in docker_client.api.containers(all=True, filters={"label": selector}):
            try:
                container = docker_client.containers.get(summary["Id"])
            except docker.errors.NotFound:
                continue  # removed between the listing and the look-up
            found[container.labels.get("com.docker.compose.service", container.name)] = container
        return found

    def container(self, service: str) -> Container:
        try:
            return self.containers()[service]
        except KeyError:
            raise ReplicaError(f"replica {self.compose.name} has no service {service!r}") from None

    @classmethod
    def attach(cls, run_id: str, project: Project) -> Replica:
        """A handle on a replica of ``project`` that is already running (for status,
        endpoints, drills)."""
        replica = cls(project, run_id=run_id)
        leases = {c.labels.get(ownership.LABEL_LEASE) for c in replica.containers().values()}
        if len(leases) == 1:
            # Compose commands on the replica (a redeploy) must keep its lease and ports.
            replica.compose.lease = leases.pop() or ownership.MANUAL
        for service in project.published:
            if port_variable(service) not in project.topology.port_variables:
                continue
            try:
                replica.compose.ports[port_variable(service)] = replica.endpoint(service).port
            except ReplicaError:
                continue  # not running now: a port is chosen if it is ever started again
        return replica

    @staticmethod
    def health_of(container: Container) -> str:
        """'healthy', 'starting', 'unhealthy', or the container's state when not running."""
        state = container.attrs["State"]
        if state["Status"] != "running":
            return str(state["Status"])
        health = state.get("Health")
        return str(health["Status"]) if health else "healthy"

    def _time_left(self, started: float) -> float:
        """What is left of the time to be ready, for a replica whose start began at
        ``started``."""
        return self.ready_timeout_s - (time.monotonic() - started)

    def _wait_healthy(self, started: float) -> None:
        waited = poll(
            lambda: self._check_health(final=True),
            lambda health: health.ready,
            timeout_s=self._time_left(started),
            interval_s=READY_POLL_S,
        )
        if not waited.ok:
            raise self._late(waited.last)

    def _check_health(self, *, final: bool) -> _Health:
        """Report progress and raise for a failed service; a final look that finds every
        service healthy reports nothing."""
        containers = self.containers()
        states = {name: self.health_of(c) for name, c in containers.items()}
        health = _Health(states, sorted(n for n, s in states.items() if s != "healthy"))
        if final and health.ready:
            return health
        waiting = health.waiting
        if any(states[n] in ("exited", "dead", "unhealthy") for n in waiting):
            self._raise_for_unhealthy()
        message = f"{len(states) - len(waiting)}/{len(states)} services healthy"
        if waiting:
            message += f" (waiting for {', '.join(waiting)})"
        if containers and message != self._last_progress:
            self.progress(f"replica {self.compose.name}: {message}")
            self._last_progress = message
        return health

    def _late(self, health: _Health) -> ServiceUnhealthy:
        """The error for a replica that is not healthy in time, as ``health`` last saw it."""
        name = health.waiting[0] if health.waiting else "replica"
        return ServiceUnhealthy(
            name,
            f"is not healthy after {self.ready_timeout_s:.0f} s (state: "
            f"{health.states.get(name, 'not created')})",
            self._logs(name),
        )

    def _raise_for_unhealthy(self, fallback: str = "") -> None:
        for name, container in sorted(self.containers().items()):
            state = self.health_of(container)
            if state in ("exited", "dead", "unhealthy", "created"):
                exit_code = container.attrs["State"].get("ExitCode")
                reason = f"is {state}" + (f" (exit code {exit_code})" if state == "exited" else "")
                probe = self._last_healthcheck_output(container)
                if state == "unhealthy" and probe:
                    reason += f"; its healthcheck said: {probe}"
                raise ServiceUnhealthy(name, reason, self._logs(name))
        raise ReplicaError(f"replica {self.compose.name} failed to start: {fallback}")

    @staticmethod
    def _last_healthcheck_output(container: Container) -> str:
        runs = (container.attrs["State"].get("Health") or {}).get("Log") or []
        return str(runs[-1].get("Output", "")).strip()[:300] if runs else ""

    def _logs(self, service: str) -> str:
        try:
            raw: bytes = self.containers()[service].logs(tail=LOG_LINES_ON_FAILURE)
        except (KeyError, docker.errors.APIError):
            return ""
        return raw.decode(errors="replace")

    def prometheus_url(self) -> str:
        return (
            self.project.monitoring_url("prometheus")
            or self.endpoint(self.project.spec.prometheus).url
        )

    def alertmanager_url(self) -> str:
        return (
            self.project.monitoring_url("alertmanager")
            or self.endpoint(self.project.spec.alertmanager).url
        )

    def _wait_monitoring(self, started: float) -> None:
        prometheus = self.prometheus_url()
        last = ""

        def look(http: httpx.Client) -> str:
            nonlocal last
            message = self._monitoring_gap(http, prometheus)
            if message and message != last:
                self.progress(f"replica {self.compose.name}: {message}")
                last = message
            return message

        with httpx.Client(timeout=2.0) as http:
            waited = poll(
                lambda: look(http),
                lambda message: not message,
                timeout_s=self._time_left(started),
                interval_s=READY_POLL_S,
            )
        if not waited.ok:
            raise ServiceUnhealthy(
                self.project.spec.prometheus,
                f"never saw the whole replica: {waited.last}",
                self._logs(self.project.spec.prometheus),
            )

    @staticmethod
    def _monitoring_gap(http: httpx.Client, prometheus: str) -> str:
        """What Prometheus does not see yet, in words; empty when it sees everything."""
        try:
            targets = http.get(f"{prometheus}/api/v1/targets").json()["data"]["activeTargets"]
            groups = http.get(f"{prometheus}/api/v1/rules").json()["data"]["groups"]
        except (httpx.HTTPError, ValueError, KeyError):
            return "waiting for the Prometheus API"
        down = sorted({t["labels"].get("instance", "?") for t in targets if t["health"] != "up"})
        if not targets or down:
            return f"Prometheus targets not up yet: {', '.join(down) or 'none discovered'}"
        unevaluated = [g["name"] for g in groups if g.get("lastEvaluation", "").startswith("0001")]
        if unevaluated:
            return f"rule groups not evaluated yet: {', '.join(unevaluated)}"
        return ""

    # -- commands ----------------------------------------------------------------------------

    def exec(self, service: str, argv: Sequence[str], *, retry_while: str | None = None) -> str:
        """Run ``argv`` in ``service``'s container; its output, stripped.

        Raises ReplicaError when the command fails. When its output contains
        ``retry_while`` (a database that turns clients away for a moment, say), it is tried
        again for a few seconds first.
        """

        def run() -> tuple[int, str]:
            try:
                exit_code, output = self.container(service).exec_run(list(argv))
            except docker.errors.APIError as exc:
                raise ReplicaError(f"cannot run {argv[0]} in {service}: {exc}") from exc
            return exit_code, bytes(output or b"").decode(errors="replace").strip()

        def settled(ran: tuple[int, str]) -> bool:
            exit_code, text = ran
            return exit_code == 0 or retry_while is None or retry_while not in text

        waited = poll(run, settled, timeout_s=EXEC_PATIENCE_S, interval_s=EXEC_RETRY_S)
        exit_code, text = waited.last
        if exit_code == 0:
            return text
        raise ReplicaError(f"{argv[0]} in {service} failed (exit code {exit_code}): {text[-500:]}")

    # -- addresses -------------------------------------------------------------------------

    def endpoint(self, service: str) -> Endpoint:
        """Where ``service`` listens on 127.0.0.1 now (only published services have one).

        Read from the container each time rather than cached: the bundled replica keeps
        its ports for life, but a compose file that lets Docker pick them gets a new port
        whenever a drill restarts or recreates a container.
        """
        port = self.project.published.get(service)
        if port is None:
            raise ReplicaError(f"service {service!r} is not published to the host")
        container = self.container(service)
        bindings = container.attrs["NetworkSettings"]["Ports"] or {}
        published = bindings.get(f"{port}/tcp") or []
        if not published:
            raise ReplicaError(f"service {service!r} publishes no port for {port}/tcp")
        return Endpoint("127.0.0.1", int(published[0]["HostPort"]))
