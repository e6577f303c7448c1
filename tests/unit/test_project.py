"""The project file: the bundled project as gameday reads it, finding a gameday.yml, every
bad project file as one ``file:line: field ...`` line, and what the compose files say."""

from __future__ import annotations

from pathlib import Path

import pytest
from smallproject import PLAYBOOK, PROJECT, RULES, write_small_project
from smallproject import with_line as line_of

from gameday.errors import ProjectError
from gameday.inputs.project import (
    PROJECT_ENV,
    Project,
    find_project,
    load_project,
    read_topology,
)

REPO = Path(__file__).resolve().parents[2]


# -- the bundled project ------------------------------------------------------------------------


def test_the_bundled_project_reads_its_compose_file(bundled_project: Project) -> None:
    project = bundled_project
    assert project.name == "labelmint"
    assert project.source == REPO / "gameday.yml"
    assert project.root == REPO
    assert project.compose_files == [
        REPO / "src" / "gameday" / "stack" / "docker-compose.drill.yml"
    ]
    assert project.scenarios_dir == REPO / "scenarios"
    assert project.reports_dir == REPO / "reports"
    assert project.services == {
        "alertmanager",
        "backend-1",
        "backend-2",
        "backup",
        "blackbox",
        "gateway",
        "gateway-log-exporter",
        "nginx-exporter",
        "payment-provider-standin",
        "postgres",
        "postgres-exporter",
        "postgres-standby",
        "prometheus",
        "proxy",
        "redis",
        "redis-exporter",
    }
    assert project.published == {
        "proxy": 8474,
        "backend-1": 8000,
        "backend-2": 8000,
        "gateway": 8080,
        "prometheus": 9090,
        "alertmanager": 9093,
    }
    assert set(project.topology.port_variables) == {
        "GAMEDAY_PORT_PROXY",
        "GAMEDAY_PORT_BACKEND_1",
        "GAMEDAY_PORT_BACKEND_2",
        "GAMEDAY_PORT_GATEWAY",
        "GAMEDAY_PORT_PROMETHEUS",
        "GAMEDAY_PORT_ALERTMANAGER",
    }
    assert project.topology.services["gateway"].networks == {"app"}
    assert project.topology.services["postgres"].networks == {"data"}
    assert project.topology.services["payment-provider-standin"].networks == {"payments"}


def test_the_bundled_project_reads_its_rules_playbook_and_proxy(
    bundled_project: Project,
) -> None:
    project = bundled_project
    # Each alert with its rules' longest `for`, in seconds.
    assert project.alerts == {
        "ServiceDown": 2.0,
        "DatabaseDown": 2.0,
        "HighDatabaseConnections": 3.0,
        "RedisDown": 2.0,
        "LowRedisHitRate": 3.0,
        "HighResponseTime": 3.0,
        "NetworkLatency": 3.0,
        "HighUserErrorRate": 3.0,
        # gameday's additions to the playbook (payment-alerts.yml).
        "PaymentProviderDown": 2.0,
        "PaymentQueueBacklog": 5.0,
        # and the read replica's (replica-alerts.yml).
        "DatabaseStandbyDown": 5.0,
    }
    # The one alert the playbook lacks, which the project's rules add to it.
    assert project.additions == {
        "HighUserErrorRate",
        "PaymentProviderDown",
        "PaymentQueueBacklog",
        "DatabaseStandbyDown",
    }
    assert project.playbook is not None
    assert [s.group for s in project.playbook.sections] == [
        "Complete Service Outage",
        "Database Outages",
        "Cache Outages",
        "Network Issues",
    ]
    assert set(project.playbook.alerts) == set(project.alerts) - project.additions
    assert project.playbook.drills == (
        "Database outage simulation",
        "Network partition testing",
        "Cache failure simulation",
        "Load balancer failure testing",
    )
    assert project.links == {
        "backend-1-postgres",
        "backend-1-redis",
        "backend-1-standby",
        "backend-2-postgres",
        "backend-2-redis",
        "backend-2-standby",
        "backend-to-payments",
    }


def test_the_bundled_projects_own_fields(bundled_project: Project) -> None:
    project = bundled_project
    assert project.health() == {
        "gateway": "/health",
        "backend-1": "/health",
        "backend-2": "/health",
    }
    assert project.monitoring_services() == ["prometheus", "alertmanager"]
    assert project.monitoring_url("prometheus") is None  # a service, not a URL
    assert project.fault_targets("deploy") == {"backend-1", "backend-2"}
    assert "prometheus" not in project.fault_targets("service")
    assert project.spec.load is not None and project.spec.load.target == "gateway"
    assert [r.name for r in project.spec.load.requests] == ["create-task", "read-task", "pay-task"]
    assert [c.service for c in project.hooks_after("backend-2")] == ["gateway"]
    assert project.hooks_after("postgres") == []
    cache = [name for name, _ in project.commands_for("Cache Outages")]
    assert cache == ["flush-cache", "cache-ping", "cache-stats"]


# -- a small project of another team ----------------------------------------------------------


def test_a_small_project_of_its_own(tmp_path: Path) -> None:
    project = load_project(write_small_project(tmp_path))
    assert project.name == "shop"
    assert project.services == {"web", "db", "prometheus", "alertmanager"}
    assert project.published == {"web": 8000, "prometheus": 9090, "alertmanager": 9093}
    assert project.alerts == {"WebDown": 10.0, "DatabaseDown": 60.0}
    assert project.links == frozenset()
    assert project.playbook is not None and project.playbook.alerts == ("WebDown", "DatabaseDown")
    # Without targets:, faults may target every service but the monitoring ones.
    assert project.fault_targets("service") == {"web", "db"}
    assert project.fault_targets("partition") == {"web", "db"}


def test_only_compose_is_required(tmp_path: Path) -> None:
    (tmp_path / "compose.yml").write_text("services:\n  web:\n    image: x\n")
    (tmp_path / "gameday.yml").write_text(
        "compose: compose.yml\nprometheus: http://127.0.0.1:9090/\n"
        "alertmanager: https://alerts.example.com\n"
    )
    project = load_project(tmp_path / "gameday.yml")
    assert project.name == tmp_path.name  # no name: the directory's
    assert project.playbook is None and project.alerts == {} and project.spec.load is None
    assert project.monitoring_url("prometheus") == "http://127.0.0.1:9090"
    assert project.monitoring_url("alertmanager") == "https://alerts.example.com"
    assert project.monitoring_services() == []
    assert project.topology.services["web"].networks == {"default"}


def test_paths_are_relative_to_the_project_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_small_project(tmp_path / "shop")
    monkeypatch.chdir(tmp_path)
    project = load_project(Path("shop") / "gameday.yml")
    assert project.source == path
    assert project.compose_files == [tmp_path / "shop" / "compose.yml"]
    assert project.scenarios_dir == tmp_path / "shop" / "scenarios"


# -- finding the project file -----------------------------------------------------------------


@pytest.fixture
def no_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv(PROJECT_ENV, raising=False)
    return monkeypatch


def test_the_project_file_is_found_from_a_subdirectory(
    tmp_path: Path, no_env: pytest.MonkeyPatch
) -> None:
    path = write_small_project(tmp_path)
    deep = tmp_path / "services" / "web" / "src"
    deep.mkdir(parents=True)
    assert find_project(deep) == path
    assert find_project(tmp_path) == path
    no_env.chdir(deep)
    assert find_project() == path


def test_the_nearest_project_file_wins(tmp_path: Path, no_env: pytest.MonkeyPatch) -> None:
    write_small_project(tmp_path)
    inner = write_small_project(tmp_path / "nested")
    assert find_project(tmp_path / "nested") == inner


def test_an_explicit_project_is_a_file_or_its_directory(
    tmp_path: Path, no_env: pytest.MonkeyPatch
) -> None:
    path = write_small_project(tmp_path / "shop")
    other = tmp_path / "other.yml"
    other.write_text(PROJECT)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert find_project(elsewhere, explicit=path) == path
    assert find_project(elsewhere, explicit=tmp_path / "shop") == path
    assert find_project(elsewhere, explicit=other) == other
    with pytest.raises(ProjectError) as caught:
        find_project(elsewhere, explicit=tmp_path / "nope.yml")
    assert (
        str(caught.value)
        == f"{tmp_path / 'nope.yml'}: no project file there (expected gameday.yml)"
    )
    with pytest.raises(ProjectError, match="no project file there"):
        find_project(elsewhere, explicit=elsewhere)  # a directory without one


def test_gameday_project_names_the_project(tmp_path: Path, no_env: pytest.MonkeyPatch) -> None:
    path = write_small_project(tmp_path / "shop")
    near = write_small_project(tmp_path / "near")
    no_env.setenv(PROJECT_ENV, str(tmp_path / "shop"))
    assert find_project(tmp_path / "near") == path  # over the one nearby
    assert find_project(tmp_path / "near", explicit=near) == near  # --project wins
    no_env.setenv(PROJECT_ENV, str(tmp_path / "gone.yml"))
    with pytest.raises(ProjectError, match=r"gone\.yml: no project file there"):
        find_project(tmp_path / "near")
    no_env.setenv(PROJECT_ENV, "")  # empty: as if unset
    assert find_project(tmp_path / "near") == near


def test_no_project_file_says_where_it_looked(tmp_path: Path, no_env: pytest.MonkeyPatch) -> None:
    start = tmp_path / "a" / "b"
    start.mkdir(parents=True)
    if any((d / "gameday.yml").is_file() for d in (start, *start.parents)):
        pytest.skip("a gameday.yml above the test's temporary directory")
    with pytest.raises(ProjectError) as caught:
        find_project(start)
    assert str(caught.value) == (
        f"no gameday.yml in {start} or any directory above it: run gameday from your "
        "project, name one with --project, or write one with `gameday init`"
    )


# -- bad project files -------------------------------------------------------------------------


def error_of(tmp_path: Path, project: str = PROJECT, files: dict[str, str] | None = None) -> str:
    with pytest.raises(ProjectError) as caught:
        load_project(write_small_project(tmp_path, project, files))
    return str(caught.value).replace(f"{tmp_path}/", "")


PUBLISH = 'add ports: ["127.0.0.1:${GAMEDAY_PORT_...:-}:PORT"]'


@pytest.mark.parametrize(
    ("project", "expected"),
    [
        pytest.param(
            line_of(PROJECT, 1, "name: shop\ncolour: blue"),
            "gameday.yml:2: field 'colour': unknown field (check its spelling against the "
            "documentation)",
            id="unknown field",
        ),
        pytest.param(
            line_of(PROJECT, 8, "  target: db"),
            "gameday.yml:8: field 'load.target': expected a service that publishes a port to "
            f"the host, but db publishes none ({PUBLISH})",
            id="a load target that publishes no port",
        ),
        pytest.param(
            line_of(PROJECT, 6, "  cache: /health"),
            "gameday.yml:6: field 'health.cache': expected a service of the compose file "
            "(alertmanager, db, prometheus, web), got 'cache'",
            id="a health service not in the compose file",
        ),
        pytest.param(
            line_of(PROJECT, 6, "  db: /health"),
            "gameday.yml:6: field 'health.db': expected a service that publishes a port to "
            f"the host, but db publishes none ({PUBLISH})",
            id="a health service that publishes no port",
        ),
        pytest.param(
            line_of(PROJECT, 6, "  web: health"),
            "gameday.yml:6: field 'health.web': expected a path that starts with /, got 'health'",
            id="a health path without a slash",
        ),
        pytest.param(
            line_of(PROJECT, 26, "    command: vacuum-all"),
            "gameday.yml:26: field 'hooks.0.command': expected a named command (vacuum), "
            "got 'vacuum-all'",
            id="a hook naming an undefined command",
        ),
        pytest.param(
            line_of(PROJECT, 25, "  - after: [db, cache]"),
            "gameday.yml:25: field 'hooks.0.after.1': expected a service of the compose file "
            "(alertmanager, db, prometheus, web), got 'cache'",
            id="a hook after an unknown service",
        ),
        pytest.param(
            line_of(PROJECT, 3, "rules: [rules/*.yml, monitoring/*.yml]"),
            "gameday.yml:3: field 'rules.1': expected rule files, 'monitoring/*.yml' matches none",
            id="a rules glob matching nothing",
        ),
        pytest.param(
            line_of(PROJECT, 2, "compose: [compose.yml, compose.override.yml]"),
            "gameday.yml:2: field 'compose.1': expected a compose file, "
            "compose.override.yml does not exist",
            id="a missing compose file",
        ),
        pytest.param(
            line_of(PROJECT, 18, "  read_back: list-orders"),
            "gameday.yml:18: field 'data_check.read_back': expected the name of a load "
            "request whose path has {id} (read-order), got 'list-orders'",
            id="a read_back naming an unknown request",
        ),
        pytest.param(
            line_of(PROJECT, 18, "  read_back: place-order"),
            "gameday.yml:18: field 'data_check.read_back': expected the name of a load "
            "request whose path has {id} (read-order), got 'place-order'",
            id="a read_back of a request without an id",
        ),
        pytest.param(
            line_of(PROJECT, 23, "    section: Printer Fires"),
            "gameday.yml:23: field 'commands.vacuum.section': expected a section of the "
            "playbook (Web Outages, Web Down, Database Outages), got 'Printer Fires'",
            id="a command's section the playbook lacks",
        ),
        pytest.param(
            line_of(PROJECT, 21, "    service: cache"),
            "gameday.yml:21: field 'commands.vacuum.service': expected a service of the "
            "compose file (alertmanager, db, prometheus, web), got 'cache'",
            id="a command in an unknown service",
        ),
        pytest.param(
            PROJECT + "targets:\n  service: [web, cache]\n",
            "gameday.yml:28: field 'targets.service.1': expected a service of the compose "
            "file (alertmanager, db, prometheus, web), got 'cache'",
            id="a fault target not in the compose file",
        ),
        pytest.param(
            line_of(PROJECT, 2, "compose: compose.yml\nalertmanager: http://:9093"),
            "gameday.yml:3: field 'alertmanager': expected a URL with a host, got 'http://:9093'",
            id="a monitoring URL without a host",
        ),
        pytest.param(
            PROJECT + "proxy:\n  service: web\n  config: proxies.json\n",
            "gameday.yml:29: field 'proxy.config': expected a Toxiproxy populate file (a list "
            "of proxies with names), proxies.json is not",
            id="a proxy without its config",
        ),
        pytest.param(
            line_of(PROJECT, 4, "playbook: missing.md"),
            "gameday.yml:4: field 'playbook': missing.md: cannot read the playbook",
            id="a missing playbook",
        ),
        pytest.param(
            line_of(PROJECT, 9, "  rate_per_s: true\n  requests:"),
            "gameday.yml:9: field 'load.rate_per_s': Input should be a valid number, got True",
            id="a bool is no rate",
        ),
    ],
)
def test_a_bad_project_file_is_one_line_naming_file_line_and_field(
    tmp_path: Path, project: str, expected: str
) -> None:
    message = error_of(tmp_path, project)
    assert message.startswith(expected), message
    assert len(message.splitlines()) == 1


def test_playbook_notes_say_why_a_procedure_is_not_drilled(tmp_path: Path) -> None:
    notes = 'playbook_notes:\n  drill scenarios: "the drills are the scenarios"\n'
    project = load_project(write_small_project(tmp_path, PROJECT + notes))
    assert project.spec.playbook_notes == {"drill scenarios": "the drills are the scenarios"}


def test_a_playbook_note_on_a_heading_the_playbook_lacks_names_its_line(tmp_path: Path) -> None:
    notes = (
        "playbook_notes:\n  1. web outages: the scenarios drill it\n"
        "  Printer Fires: nothing to drill\n"
    )
    assert error_of(tmp_path, PROJECT + notes) == (
        "gameday.yml:29: field 'playbook_notes.Printer Fires': expected a ## or ### heading "
        "of the playbook (1. Web Outages, 1.1 Web Down, 2. Database Outages, Drill "
        "Scenarios), got 'Printer Fires'"
    )


def test_playbook_notes_need_a_playbook(tmp_path: Path) -> None:
    project = line_of(PROJECT, 4, "scenarios: scenarios") + "playbook_notes:\n  Web: why\n"
    assert error_of(tmp_path, project) == (
        "gameday.yml:27: field 'playbook_notes': expected a playbook to write notes on: "
        "the project names none (playbook:)"
    )


def test_a_playbook_note_must_say_something(tmp_path: Path) -> None:
    message = error_of(tmp_path, PROJECT + 'playbook_notes:\n  "Drill Scenarios": ""\n')
    assert message.startswith("gameday.yml:28: field 'playbook_notes.Drill Scenarios': ")


def test_a_playbook_alert_that_no_rule_defines(tmp_path: Path) -> None:
    playbook = PLAYBOOK.replace("`DatabaseDown`", "`DatabaseDown`, `DiskFull`")
    message = error_of(tmp_path, files={"playbook.md": playbook})
    assert message == (
        "gameday.yml:4: field 'playbook': playbook.md:19 names the alert 'DiskFull', which "
        "no rule file defines (rules define DatabaseDown, WebDown)"
    )


ADDED_RULES = (
    RULES
    + """\
      - alert: CheckoutErrors
        expr: rate(checkout_errors_total[1m]) > 0
        labels:
          playbook_addition: "true"
      - alert: SlowSearch
        expr: search_p95_seconds > 1
        annotations:
          playbook_addition: "True"
      - alert: QueueBacklog
        expr: queue_length > 100
        labels:
          playbook_addition: "false"
"""
)


def test_rules_may_mark_their_alerts_as_additions_to_the_playbook(tmp_path: Path) -> None:
    project = load_project(write_small_project(tmp_path, files={"rules/alerts.yml": ADDED_RULES}))
    # A label or an annotation marks it; "false" (or no mark) does not.
    assert project.additions == {"CheckoutErrors", "SlowSearch"}
    assert "QueueBacklog" in project.alerts and "CheckoutErrors" in project.alerts


def test_an_addition_to_the_playbook_that_the_playbook_names(tmp_path: Path) -> None:
    rules = RULES.replace(
        "        for: 1m\n", '        for: 1m\n        labels: {playbook_addition: "true"}\n'
    )
    message = error_of(tmp_path, files={"rules/alerts.yml": rules})
    assert message == (
        "gameday.yml:3: field 'rules': a rule marks 'DatabaseDown' as an addition to the "
        "playbook (playbook_addition), but playbook.md:19 names it: remove the mark"
    )


def test_a_playbook_error_names_the_playbooks_line(tmp_path: Path) -> None:
    playbook = PLAYBOOK.replace("**Alert**: `WebDown`", "**Alert**: WebDown")
    message = error_of(tmp_path, files={"playbook.md": playbook})
    assert message.startswith(
        "gameday.yml:4: field 'playbook': playbook.md:6: expected alert names in backticks"
    )


def test_a_rule_file_that_is_no_rule_file(tmp_path: Path) -> None:
    message = error_of(tmp_path, files={"rules/alerts.yml": "just: [a, mapping]\n"})
    assert message.startswith(
        "gameday.yml:3: field 'rules.0': expected a Prometheus rule file, rules/alerts.yml is not"
    )


def test_several_problems_are_reported_at_once(tmp_path: Path) -> None:
    project = line_of(line_of(PROJECT, 8, "  target: db"), 26, "    command: vacuum-all")
    assert error_of(tmp_path, project).splitlines() == [
        "gameday.yml:8: field 'load.target': expected a service that publishes a port to "
        f"the host, but db publishes none ({PUBLISH})",
        "gameday.yml:26: field 'hooks.0.command': expected a named command (vacuum), "
        "got 'vacuum-all'",
    ]


def test_a_project_file_that_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match=r"gameday\.yml: cannot read the project file"):
        load_project(tmp_path / "gameday.yml")
    (tmp_path / "gameday.yml").write_text("- compose.yml\n")
    with pytest.raises(ProjectError, match=r"gameday\.yml:1: expected a mapping of fields"):
        load_project(tmp_path / "gameday.yml")
    (tmp_path / "gameday.yml").write_text("name: shop\n")
    with pytest.raises(ProjectError, match=r"field 'compose': required, but missing"):
        load_project(tmp_path / "gameday.yml")


# -- what the compose files say ------------------------------------------------------------------


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_read_topology_follows_include(tmp_path: Path) -> None:
    main = write(
        tmp_path / "compose.yml",
        "include:\n  - db/compose.yml\n  - path: [cache/compose.yml]\n"
        "services:\n  web:\n    image: web\n",
    )
    write(tmp_path / "db" / "compose.yml", "services:\n  db:\n    image: db\n")
    write(tmp_path / "cache" / "compose.yml", "services:\n  cache:\n    image: cache\n")
    assert set(read_topology([main]).services) == {"web", "db", "cache"}


def test_read_topology_reads_list_and_dict_networks(tmp_path: Path) -> None:
    compose = write(
        tmp_path / "compose.yml",
        "services:\n"
        "  a:\n    networks: [front, back]\n"
        "  b:\n    networks:\n      back:\n        aliases: [bee]\n      admin:\n"
        "  c:\n    image: c\n"
        "networks: {front: {}, back: {}, admin: {}}\n",
    )
    topology = read_topology([compose])
    assert topology.services["a"].networks == {"front", "back"}
    assert topology.services["b"].networks == {"back", "admin"}
    assert topology.services["c"].networks == {"default"}
    assert topology.networks() == {"front", "back", "admin", "default"}


def test_read_topology_reads_short_and_long_ports(tmp_path: Path) -> None:
    compose = write(
        tmp_path / "compose.yml",
        "services:\n"
        '  short:\n    ports: ["127.0.0.1:${GAMEDAY_PORT_SHORT:-}:8000", "9000", "8443:443/tcp"]\n'
        '  bare:\n    ports: ["127.0.0.1::9090"]\n'
        "  long:\n    ports:\n      - target: 9093\n        host_ip: 127.0.0.1\n"
        '        published: "${GAMEDAY_PORT_LONG:-}"\n'
        '  range:\n    ports: ["3000-3002:3000-3002"]\n'
        "  none:\n    image: x\n",
    )
    topology = read_topology([compose])
    assert topology.services["short"].ports == (8000, 9000, 443)
    assert topology.services["bare"].ports == (9090,)
    assert topology.services["long"].ports == (9093,)
    assert topology.services["range"].ports == (3000,)
    assert topology.services["none"].ports == ()
    assert topology.published() == {"short": 8000, "bare": 9090, "long": 9093, "range": 3000}


def test_read_topology_finds_the_port_variables(tmp_path: Path) -> None:
    first = write(
        tmp_path / "compose.yml",
        "services:\n"
        '  web:\n    ports: ["127.0.0.1:${GAMEDAY_PORT_WEB:-}:8000"]\n'
        '  api:\n    ports: ["127.0.0.1:$GAMEDAY_PORT_API:8001"]\n'
        "    environment: ['OTHER=${NOT_A_PORT:-1}']\n",
    )
    override = write(
        tmp_path / "override.yml",
        'services:\n  web:\n    ports: ["127.0.0.1:${GAMEDAY_PORT_WEB:-}:8080"]\n'
        '  admin:\n    ports: ["127.0.0.1:${GAMEDAY_PORT_ADMIN_2:-}:9000"]\n',
    )
    topology = read_topology([first, override])
    assert topology.port_variables == (
        "GAMEDAY_PORT_WEB",
        "GAMEDAY_PORT_API",
        "GAMEDAY_PORT_ADMIN_2",
    )
    # Merged in order, as `docker compose -f first -f override`: the override's ports win.
    assert topology.services["web"].ports == (8080,)
    assert topology.services["api"].environment == {"OTHER": "${NOT_A_PORT:-1}"}


def test_read_topology_reads_environment_lists_and_mappings(tmp_path: Path) -> None:
    compose = write(
        tmp_path / "compose.yml",
        "services:\n"
        "  a:\n    environment: [A=1, B=two=2, C]\n"
        "  b:\n    environment: {A: 1, B: true}\n",
    )
    topology = read_topology([compose])
    assert topology.services["a"].environment == {"A": "1", "B": "two=2", "C": ""}
    assert topology.services["b"].environment == {"A": "1", "B": "True"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("services: [web]\n", "compose.yml: field 'services': expected a mapping of services"),
        ("- web\n", "compose.yml:1: expected a compose file (a mapping with services)"),
        ("services:\n  web: [unclosed\n", "compose.yml:3: not a valid compose file"),
        ("include: [missing.yml]\n", "missing.yml: cannot read the compose file"),
    ],
)
def test_read_topology_errors_name_the_compose_file(
    tmp_path: Path, text: str, expected: str
) -> None:
    compose = write(tmp_path / "compose.yml", text)
    with pytest.raises(ProjectError) as caught:
        read_topology([compose])
    assert str(caught.value).replace(f"{tmp_path}/", "").startswith(expected)


def test_read_topology_refuses_includes_that_nest_forever(tmp_path: Path) -> None:
    compose = write(tmp_path / "compose.yml", "include: [compose.yml]\nservices: {}\n")
    with pytest.raises(ProjectError, match="compose includes nest deeper than 8 levels"):
        read_topology([compose])
