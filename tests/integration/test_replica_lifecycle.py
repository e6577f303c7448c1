"""The replica's lifecycle on a real engine, with the miniature stack in tests/fixtures:
readiness, failure with the service's own words, two replicas side by side, and the
reaping of a killed process's leftovers. The full replica has its own test module.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from gameday.errors import ComposeFileError, ProjectError, ServiceUnhealthy
from gameday.infra import ownership
from gameday.infra.replica import Replica
from gameday.inputs.project import Project, load_project

pytestmark = pytest.mark.docker

TINY = Path(__file__).parent.parent / "fixtures" / "tiny-gameday.yml"


def tiny() -> Project:
    return load_project(TINY)


def project_with(tmp_path: Path, compose: str) -> Project:
    (tmp_path / "drill.yml").write_text(compose)
    (tmp_path / "gameday.yml").write_text(
        "compose: drill.yml\nprometheus: prometheus\nalertmanager: http://127.0.0.1:9\n"
    )
    return load_project(tmp_path / "gameday.yml")


def _left_in_docker(run_id: str) -> ownership.RunResources | None:
    return ownership.find_runs().get(run_id)


def test_a_ready_replica_has_prometheus_answering_and_is_gone_after_stop() -> None:
    replica = Replica(tiny())
    with replica:
        prometheus = replica.endpoint("prometheus")
        assert prometheus.host == "127.0.0.1"
        targets = httpx.get(f"{prometheus.url}/api/v1/targets").json()["data"]["activeTargets"]
        assert [t["health"] for t in targets] == ["up"]
        resources = _left_in_docker(replica.run_id)
        assert resources is not None
        assert len(resources.containers) == 3
        assert len(resources.networks) == 1
        assert len(resources.volumes) == 1
    assert _left_in_docker(replica.run_id) is None


def test_a_service_that_never_gets_healthy_is_named_with_its_logs_and_nothing_is_left() -> None:
    replica = Replica(tiny())
    replica.compose.extra_env["TINY_ALERTMANAGER_EXIT"] = "1"
    with pytest.raises(ServiceUnhealthy) as caught:
        replica.start()
    assert caught.value.service == "alertmanager"
    assert "broken on purpose by the test" in str(caught.value)
    assert "Starting Alertmanager" in caught.value.last_logs
    assert _left_in_docker(replica.run_id) is None


def test_an_invalid_compose_file_is_refused_before_anything_starts(tmp_path: Path) -> None:
    project = project_with(
        tmp_path,
        "services:\n  gateway:\n    image: [not, a, string]\n"
        "  prometheus:\n    image: x\n    ports: ['127.0.0.1::9090']\n",
    )
    before = set(ownership.find_runs())
    with pytest.raises(ComposeFileError, match=str(tmp_path / "drill.yml")):
        Replica(project).start()
    assert set(ownership.find_runs()) == before


def test_a_compose_file_without_monitoring_is_not_a_drill_replica(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match="got 'prometheus'"):
        project_with(tmp_path, "services:\n  gateway:\n    image: gameday/redis:dev\n")


def test_two_replicas_run_side_by_side_without_clashing() -> None:
    replicas = [Replica(tiny()), Replica(tiny())]
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda r: r.start(), replicas))
    try:
        ports = {r.endpoint("prometheus").port for r in replicas}
        assert len(ports) == 2
        names = [set(_left_in_docker(r.run_id).containers) for r in replicas]  # type: ignore[union-attr]
        assert not names[0] & names[1]
    finally:
        for r in replicas:
            r.stop()
    assert all(_left_in_docker(r.run_id) is None for r in replicas)


def test_leftovers_of_a_killed_process_are_reaped_by_the_next_cleanup(tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    script = textwrap.dedent(
        f"""
        import pathlib, time
        from gameday.inputs.project import load_project
        from gameday.infra.replica import Replica
        replica = Replica(load_project(pathlib.Path({str(TINY)!r}))).start()
        pathlib.Path({str(ready)!r}).write_text(replica.run_id)
        time.sleep(300)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 120
        while not ready.exists():
            assert child.poll() is None, "the child process died before its replica was ready"
            assert time.monotonic() < deadline, "the child's replica never became ready"
            time.sleep(0.2)
        run_id = ready.read_text()
        # While the owner lives, a sweep must not touch its replica.
        ownership.sweep()
        assert _left_in_docker(run_id) is not None
        child.send_signal(signal.SIGKILL)
        child.wait()
        removed = [r.run_id for r in ownership.sweep()]
        assert run_id in removed
        assert _left_in_docker(run_id) is None
    finally:
        if child.poll() is None:
            child.kill()


def test_a_host_port_taken_before_docker_binds_it_is_chosen_again(
    bundled_project: Project,
) -> None:
    import socket

    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        replica = Replica(bundled_project)
        replica.compose.ports["GAMEDAY_PORT_GATEWAY"] = (
            taken  # as if another process got there first
        )
        with replica:
            assert replica.endpoint("gateway").port != taken
            assert httpx.get(f"{replica.endpoint('gateway').url}/gateway/health").status_code == 200
    assert _left_in_docker(replica.run_id) is None
