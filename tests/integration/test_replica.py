"""The full drill replica on a real engine: what issue #2 promises of it."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest

from gameday.infra import ownership
from gameday.infra.replica import Replica

pytestmark = pytest.mark.docker


def counter(metrics_text: str, name: str) -> float:
    """The value of an unlabelled counter in Prometheus text format."""
    match = re.search(rf"^{name} (\S+)$", metrics_text, re.M)
    assert match, f"{name} not in /metrics"
    return float(match.group(1))


def cache_hits(replica: Replica) -> float:
    return sum(
        counter(httpx.get(f"{replica.endpoint(b).url}/metrics").text, "taskapi_cache_hits_total")
        for b in ("backend-1", "backend-2")
    )


def test_a_task_created_through_the_gateway_is_in_postgres(replica: Replica) -> None:
    title = f"label image {uuid.uuid4()}"
    created = httpx.post(f"{replica.endpoint('gateway').url}/tasks", json={"title": title})
    assert created.status_code == 201, created.text
    task_id = created.json()["id"]
    exit_code, output = replica.container("postgres").exec_run(
        [
            "psql",
            "-h",
            "/run/postgresql",
            "-U",
            "postgres",
            "-d",
            "labelmint",
            "-tAc",
            f"SELECT title FROM tasks WHERE id = {int(task_id)}",
        ]
    )
    assert exit_code == 0, output
    assert output.decode().strip() == title


def test_the_second_read_of_a_task_is_a_redis_cache_hit(replica: Replica) -> None:
    gateway = replica.endpoint("gateway").url
    task_id = httpx.post(f"{gateway}/tasks", json={"title": "cache me"}).json()["id"]
    before = cache_hits(replica)
    first = httpx.get(f"{gateway}/tasks/{task_id}")  # a miss: read from PostgreSQL, cached
    assert first.status_code == 200
    assert cache_hits(replica) == before
    second = httpx.get(f"{gateway}/tasks/{task_id}")
    assert second.status_code == 200
    assert second.json()["title"] == "cache me"
    assert cache_hits(replica) == before + 1
    _, keys = replica.container("redis").exec_run(["redis-cli", "EXISTS", f"task:{task_id}"])
    assert keys.decode().strip() == "1"


def test_both_backends_serve_through_the_gateway(replica: Replica) -> None:
    gateway = replica.endpoint("gateway").url
    with httpx.Client() as http:
        served_by = {
            http.post(f"{gateway}/tasks", json={"title": f"round robin {i}"}).json()["served_by"]
            for i in range(10)
        }
    assert served_by == {"backend-1", "backend-2"}


def test_every_prometheus_target_is_up(replica: Replica) -> None:
    targets = httpx.get(f"{replica.endpoint('prometheus').url}/api/v1/targets").json()
    active = targets["data"]["activeTargets"]
    jobs = {t["labels"]["job"] for t in active}
    assert jobs == {
        "backend",
        "postgres",
        "redis",
        "nginx",
        "gateway",
        "blackbox-http",
        "payment-provider",
    }
    assert [t["labels"]["instance"] for t in active if t["health"] != "up"] == []


def test_the_playbook_rules_are_loaded_and_quiet_on_a_healthy_replica(replica: Replica) -> None:
    groups = httpx.get(f"{replica.endpoint('prometheus').url}/api/v1/rules").json()
    alerts = {r["name"] for g in groups["data"]["groups"] for r in g["rules"]}
    assert {"ServiceDown", "DatabaseDown", "RedisDown", "NetworkLatency"} <= alerts
    firing = httpx.get(f"{replica.endpoint('alertmanager').url}/api/v2/alerts").json()
    assert [a["labels"]["alertname"] for a in firing] == []


def test_only_loopback_ports_are_published(replica: Replica) -> None:
    for name, container in replica.containers().items():
        for bindings in (container.attrs["NetworkSettings"]["Ports"] or {}).values():
            for binding in bindings or []:
                assert binding["HostIp"] == "127.0.0.1", f"{name} publishes on {binding}"


def test_every_part_of_the_replica_carries_gameday_labels(replica: Replica) -> None:
    resources = ownership.find_runs()[replica.run_id]
    topology = replica.project.topology
    assert len(resources.containers) == len(topology.services) == 16
    assert len(resources.networks) == 3  # app, data, and the payment provider's
    assert len(resources.volumes) == 3  # the database's, the gateway's log, the backups
    assert ownership.lease_is_alive(resources.lease)


def test_the_payment_stand_in_is_reachable_only_through_the_proxy(replica: Replica) -> None:
    """The stand-in for the external provider publishes nothing, sits on an internal network
    of its own that only the proxy shares, and so the backends reach it only by the proxy's
    backend-to-payments link (which is what lets a link fault be the provider's outage)."""
    containers = replica.containers()
    standin = containers["payment-provider-standin"]
    assert not any((standin.attrs["NetworkSettings"]["Ports"] or {}).values())
    networks = standin.attrs["NetworkSettings"]["Networks"]
    assert len(networks) == 1
    (network_name,) = networks
    assert replica.project.topology.services["payment-provider-standin"].networks == {"payments"}
    client = containers["proxy"].client
    attrs = client.networks.get(network_name).attrs
    assert attrs["Internal"] is True
    on_it = {c["Name"] for c in attrs["Containers"].values()}
    assert on_it == {standin.name, containers["proxy"].name}
    backend = containers["backend-1"]
    direct = backend.exec_run(
        ["curl", "-sS", "--max-time", "2", "http://payment-provider-standin:8080/health"]
    )
    assert direct.exit_code != 0, direct.output
    proxied = backend.exec_run(["curl", "-fsS", "--max-time", "2", "http://proxy:18080/health"])
    assert (proxied.exit_code, proxied.output.decode()) == (0, '{"status": "ok"}')
