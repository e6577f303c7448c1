"""The service outage playbook, as data a drill can show and run.

Each :class:`Section` carries the playbook's alerts, severity and teams, and its actions
and commands rewritten for the replica: where the playbook says ``systemctl restart
postgresql`` on a host, the replica's responder runs ``docker restart`` on the postgres
container of this run. Command templates name containers as ``{postgres}``; ``render``
fills in the run's real container names and published ports.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["SECTIONS", "Command", "Section", "section_for"]


@dataclass(frozen=True)
class Command:
    purpose: str
    template: str

    def render(self, names: Mapping[str, str]) -> str:
        return self.template.format_map(names)


@dataclass(frozen=True)
class Section:
    title: str
    alerts: tuple[str, ...]
    severity: str
    teams: str
    immediate_actions: tuple[str, ...]
    investigation: tuple[Command, ...]
    recovery: tuple[Command, ...]


_PSQL = "docker exec {postgres} psql -h /run/postgresql -U postgres -d labelmint -c"

SECTIONS: tuple[Section, ...] = (
    Section(
        title="Complete Service Outage",
        alerts=("ServiceDown",),
        severity="critical",
        teams="DevOps, Backend",
        immediate_actions=(
            "Acknowledge the alert (press a)",
            "Check the status of every instance",
            "Find the affected services and what they depend on",
            "Look for a recent deployment or configuration change",
            "Check the infrastructure: network, storage",
        ),
        investigation=(
            Command("status of every service", "docker ps --filter label=io.gameday.run={run_id}"),
            Command("recent logs of backend-1", "docker logs --tail 100 {backend-1}"),
            Command("recent logs of backend-2", "docker logs --tail 100 {backend-2}"),
            Command("health through the gateway", "curl -s {gateway_url}/health"),
            Command("database reachable", "docker exec {postgres} pg_isready -h 127.0.0.1"),
            Command("cache reachable", "docker exec {redis} redis-cli ping"),
        ),
        recovery=(
            Command("restart backend-1", "docker restart {backend-1}"),
            Command("restart backend-2", "docker restart {backend-2}"),
            Command("restart the gateway", "docker restart {gateway}"),
            Command("start a stopped service", "docker start <container>"),
        ),
    ),
    Section(
        title="Database Outages",
        alerts=("DatabaseDown", "HighDatabaseConnections"),
        severity="critical",
        teams="DevOps, DBA",
        immediate_actions=(
            "Acknowledge the alert (press a)",
            "Check the database's status and connectivity",
            "Watch the connection pool's use",
            "Read the database's logs for errors",
        ),
        investigation=(
            Command("is PostgreSQL answering", "docker exec {postgres} pg_isready -h 127.0.0.1"),
            Command("connection count", f'{_PSQL} "SELECT count(*) FROM pg_stat_activity;"'),
            Command(
                "sessions by state and client",
                f'{_PSQL} "SELECT application_name, state, count(*) FROM pg_stat_activity '
                'GROUP BY 1, 2 ORDER BY 3 DESC;"',
            ),
            Command("database logs", "docker logs --tail 100 {postgres}"),
        ),
        recovery=(
            Command("start PostgreSQL if it is stopped", "docker start {postgres}"),
            Command("restart PostgreSQL", "docker restart {postgres}"),
            Command(
                "end idle sessions",
                f'{_PSQL} "SELECT pg_terminate_backend(pid) FROM pg_stat_activity '
                "WHERE state = 'idle' AND pid <> pg_backend_pid();\"",
            ),
        ),
    ),
    Section(
        title="Cache Outages",
        alerts=("RedisDown", "LowRedisHitRate"),
        severity="critical (RedisDown), warning (LowRedisHitRate)",
        teams="DevOps",
        immediate_actions=(
            "Acknowledge the alert (press a)",
            "Check that Redis answers and how much memory it uses",
            "Check the hit rate the backends see",
        ),
        investigation=(
            Command("is Redis answering", "docker exec {redis} redis-cli ping"),
            Command("server and memory", "docker exec {redis} redis-cli info memory"),
            Command("hit and miss counters", "docker exec {redis} redis-cli info stats"),
            Command("the proxy links to redis", "curl -s {proxy_url}/proxies"),
        ),
        recovery=(
            Command("start Redis if it is stopped", "docker start {redis}"),
            Command("restart Redis", "docker restart {redis}"),
            Command("clear network faults on the links", "curl -s -X POST {proxy_url}/reset"),
        ),
    ),
    Section(
        title="Network Issues",
        alerts=("HighResponseTime", "NetworkLatency"),
        severity="warning",
        teams="DevOps, Network",
        immediate_actions=(
            "Acknowledge the alert (press a)",
            "Measure latency on each link between the services",
            "Check the load balancer's health",
        ),
        investigation=(
            Command("links and their faults", "curl -s {proxy_url}/proxies"),
            Command("gateway configuration test", "docker exec {gateway} nginx -t"),
            Command(
                "database round trip seen by backend-1",
                "curl -s {backend-1_url}/metrics | grep taskapi_db_roundtrip_seconds_sum",
            ),
            Command(
                "networks of the replica",
                "docker network ls --filter label=io.gameday.run={run_id}",
            ),
        ),
        recovery=(
            Command("clear network faults on the links", "curl -s -X POST {proxy_url}/reset"),
            Command(
                "reconnect a cut-off backend",
                "docker network connect --alias backend-1 {data_network} {backend-1}",
            ),
            Command("restart the gateway", "docker restart {gateway}"),
        ),
    ),
)


def section_for(title: str, alerts: Sequence[str] = ()) -> Section:
    """The section a scenario names, or the first one that lists one of its alerts."""
    for section in SECTIONS:
        if section.title.lower() == title.lower():
            return section
    for section in SECTIONS:
        if set(alerts) & set(section.alerts):
            return section
    return SECTIONS[0]
