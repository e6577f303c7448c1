"""The scenario loader: every bad input is a ScenarioError naming file, line and field,
and every bundled scenario loads."""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from pathlib import Path
from typing import get_args

import pytest
from smallproject import SCENARIO as SMALL_SCENARIO
from smallproject import write_small_project

from gameday.errors import ScenarioError
from gameday.inputs.project import Project, load_project
from gameday.inputs.scenario import (
    MAX_FILE_BYTES,
    TOXIC_ATTRIBUTES,
    LinkToxicFault,
    load_all,
    load_scenario,
    parse_scenario,
)

ROOT = Path(__file__).resolve().parents[2]
# The bundled example's project: scenarios name its services, alerts, links and commands.
PROJECT = load_project(ROOT / "gameday.yml")
BUNDLED = sorted((ROOT / "scenarios").glob("*.yml"))
MUST_FAIL = sorted((ROOT / "tests" / "scenarios").glob("*.yml"))

# Line numbers matter below: the tests replace one line of this document at a time.
VALID = """\
name: example
title: Example
playbook:
  section: Database Outages
  alerts: [DatabaseDown]
faults:
  - type: stop_service
    service: postgres
detection:
  expect: [DatabaseDown]
  within_s: 15
recovery:
  steps:
    - action: start_service
      service: postgres
targets:
  mttd_s: 15
"""
FILE = Path("example.yml")


def with_line(number: int, text: str) -> str:
    """VALID with its line ``number`` (1-based) replaced by ``text`` (may be several lines)."""
    lines = VALID.splitlines()
    lines[number - 1] = text
    return "\n".join(lines) + "\n"


def with_fault(fault: str) -> str:
    return with_line(7, fault).replace("    service: postgres\ndetection", "detection")


def error_of(text: str, project: Project | None = PROJECT) -> str:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, FILE, project)
    return str(caught.value)


def test_the_example_is_valid() -> None:
    scenario = parse_scenario(VALID, FILE, PROJECT)
    assert scenario.name == "example"
    assert scenario.source == FILE
    assert scenario.targets.mttr_s == 3600  # the playbook's default


@pytest.mark.parametrize(
    ("line", "replacement", "expected"),
    [
        (2, "title: 3", "example.yml:2: field 'title': Input should be a valid string, got 3"),
        (2, "titel: Example", "example.yml:1: field 'title': required, but missing"),
        (7, "  - type: explode", "example.yml:7: field 'faults.0.type': expected one of"),
        (7, "  - kind: stop_service", "example.yml:7: field 'faults.0.type': expected one of"),
        (
            8,
            "    service: pg",
            "example.yml:8: field 'faults.0.service': expected a service this project lets",
        ),
        (11, "  within_s: -1", "example.yml:11: field 'detection.within_s': Input should be"),
        (11, "  within_s: soon", "example.yml:11: field 'detection.within_s': Input should be"),
        (10, "  expect: []", "example.yml:10: field 'detection.expect': List should have"),
        (
            10,
            "  expect: [Nope]",
            "example.yml:10: field 'detection.expect.0': expected an alert listed in playbook",
        ),
        (17, "  mttd: 15", "example.yml:17: field 'targets.mttd': unknown field"),
        (1, "name: Not A Slug", "example.yml:1: field 'name': String should match pattern"),
        (14, "    - action: dance", "example.yml:14: field 'recovery.steps.0.action': expected"),
        (17, "  mttd_s: 15\nsource: /etc", "example.yml:18: field 'source': unknown field"),
    ],
)
def test_schema_errors_name_line_and_field(line: int, replacement: str, expected: str) -> None:
    assert expected in error_of(with_line(line, replacement))


def test_a_model_rule_names_its_field() -> None:
    text = VALID.replace("recovery:\n  steps:", "recovery:\n  responder: auto\n  steps: []\nx:")
    text = text.replace("x:\n    - action: start_service\n      service: postgres\n", "")
    assert error_of(text) == (
        "example.yml:14: field 'recovery.steps': the auto responder needs at least one step"
    )


SINGLE_FAULT = with_line(7, "    type: stop_service").replace("  - type", "    type")


def test_a_single_fault_without_a_list_is_one_fault() -> None:
    assert len(parse_scenario(SINGLE_FAULT, FILE, PROJECT).faults) == 1
    bad = SINGLE_FAULT.replace("service: postgres\ndetection", "service: pg\ndetection")
    assert "field 'faults.0.service'" in error_of(bad)


@pytest.mark.parametrize("service", ["pg", "3"])
def test_an_error_in_a_single_fault_names_its_line(service: str) -> None:
    bad = SINGLE_FAULT.replace("service: postgres\ndetection", f"service: {service}\ndetection")
    assert error_of(bad).startswith("example.yml:8: field 'faults.0.service'")


def test_several_problems_are_all_reported() -> None:
    message = error_of(with_line(2, "title: 3").replace("mttd_s: 15", "mttd_s: 0"))
    assert message.splitlines() == [
        "example.yml:2: field 'title': Input should be a valid string, got 3",
        "example.yml:17: field 'targets.mttd_s': Input should be greater than 0, got 0",
    ]


# -- YAML that is not a plain document of fields --------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            with_line(2, "title: Example\ntitle: Again"),
            "example.yml:3: field 'title': expected once",
        ),
        (
            with_line(11, "  within_s: 15\n  within_s: 20"),
            "example.yml:12: field 'detection.within_s'",
        ),
        (
            with_line(2, "title: Example\n3: x"),
            "example.yml:3: expected field names, found the key '3'",
        ),
        (
            with_line(2, "title: Example\ntrue: x"),
            "found the key 'true', which YAML reads as true/false",
        ),
        (with_line(2, "title: Example\n? [a, b]\n: x"), "example.yml:3: expected field names"),
        (with_line(2, "title: Example\n<<: {x: 1}"), "example.yml:3: expected field names"),
        (
            with_line(2, "title: &t Example\ndescription: *t"),
            "example.yml:3: field 'description': expected a value, found the YAML alias *t",
        ),
        (
            with_line(2, "title: !!str Example"),
            "example.yml:2: field 'title': expected a plain value, found the YAML tag !!str",
        ),
        (
            with_line(2, "title: !!python/object:os.system x"),
            "example.yml:2: field 'title': expected a plain value",
        ),
        (
            with_line(2, "title: 2024-13-01"),
            "example.yml:2: field 'title': expected a readable value, got '2024-13-01'",
        ),
        (
            with_line(2, "title: " + "9" * 5000),
            "example.yml:2: field 'title': expected a readable value",
        ),
        (
            with_line(7, "\t- type: stop_service"),
            "example.yml:7: field 'faults': expected spaces, found a tab",
        ),
        (
            with_line(2, "title:\tExample"),
            "example.yml:2: field 'title': expected spaces, found a tab",
        ),
        (
            with_line(2, "title: Exa\x07mple"),
            "example.yml:2: expected printable text, found the control character '\\x07'",
        ),
        (with_line(2, "title: [unclosed"), "example.yml:3: field 'title.1': not valid YAML"),
        (
            VALID + "---\nname: second\n",
            "example.yml:18: not valid YAML: but found another document",
        ),
        ("", "example.yml:1: expected a mapping of fields, this scenario file is empty"),
        (
            "- name: x\n",
            "example.yml:1: expected a mapping of fields, this scenario file is a sequence",
        ),
        (
            "just words\n",
            "example.yml:1: expected a mapping of fields, this scenario file is a scalar",
        ),
    ],
)
def test_yaml_problems_name_the_line(text: str, expected: str) -> None:
    assert expected in error_of(text)


LATENCY = (
    "  - type: link_toxic\n    links: [backend-1-postgres]\n    toxic: latency\n"
    "    attributes: {latency: %s}"
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            with_line(11, "  within_s: true"),
            "example.yml:11: field 'detection.within_s': Input should be a valid number, got True",
            id="a bool is no number",
        ),
        pytest.param(
            with_line(11, "  within_s: '15'"),
            "example.yml:11: field 'detection.within_s': Input should be a valid number, got '15'",
            id="a string is no number",
        ),
        pytest.param(
            with_fault(LATENCY % "'300'"),
            "example.yml:10: field 'faults.0.attributes.latency': Input should be a valid "
            "integer, got '300'",
            id="a string is no toxic attribute",
        ),
        pytest.param(
            with_fault(LATENCY % "-300"),
            "example.yml:10: field 'faults.0.attributes.latency': expected 0 to 3600000, got -300",
            id="a negative latency",
        ),
        pytest.param(
            with_fault(LATENCY % "3600001"),
            "example.yml:10: field 'faults.0.attributes.latency': expected 0 to 3600000, "
            "got 3600001",
            id="a latency over an hour",
        ),
        pytest.param(
            with_fault(
                "  - type: link_toxic\n    links: [backend-1-postgres]\n    toxic: slicer\n"
                "    attributes: {average_size: 64, size_variation: 64}"
            ),
            "example.yml:10: field 'faults.0.attributes.size_variation': expected less than "
            "average_size (64), got 64",
            id="a slicer that varies by its whole size",
        ),
        pytest.param(
            with_line(17, "  p95_ms: .inf"),
            "example.yml:17: field 'targets.p95_ms': Input should be a finite number, got inf",
            id="infinity",
        ),
        pytest.param(
            with_line(11, "  within_s: .nan"),
            "example.yml:11: field 'detection.within_s': Input should be a finite number",
            id="not a number",
        ),
        pytest.param(
            with_line(16, "load:\n  weights: {create-task: 0}\ntargets:"),
            "example.yml:17: field 'load.weights': expected a weight above 0 for at least one "
            "request that needs no {id}",
            id="weights that switch off every write",
        ),
        pytest.param(
            with_line(16, "load:\n  weights: {read-task: true}\ntargets:"),
            "example.yml:17: field 'load.weights.read-task': Input should be a valid number, "
            "got True",
            id="a bool is no weight",
        ),
        pytest.param(
            with_line(11, "  within_s: 0x10"),
            "example.yml:11: field 'detection.within_s': expected a plain decimal number, "
            "got '0x10'",
            id="hexadecimal",
        ),
        pytest.param(
            with_line(11, "  within_s: 1:30"),
            "example.yml:11: field 'detection.within_s': expected a plain decimal number, "
            "got '1:30'",
            id="sexagesimal",
        ),
        pytest.param(
            with_line(11, "  within_s: 017"),
            "example.yml:11: field 'detection.within_s': expected a plain decimal number, "
            "got '017'",
            id="octal",
        ),
        pytest.param(
            "%YAML 1.3\n---\n" + VALID,
            "example.yml:1: expected YAML 1.1 or 1.2, found the directive %YAML 1.3; remove it",
            id="YAML 1.3",
        ),
        pytest.param(
            with_line(2, 'title: "\\U00110000"'),
            "example.yml:2: field 'title': expected text, found an escape that is no Unicode "
            "character",
            id="past the last code point",
        ),
    ],
)
def test_values_are_taken_as_written_or_refused(text: str, expected: str) -> None:
    assert error_of(text).startswith(expected)


@pytest.mark.parametrize(
    ("line", "number"),
    [("  within_s: 15.5", 15.5), ("  within_s: 1.5e+1", 15.0), ("  within_s: +15", 15)],
)
def test_decimal_numbers_are_numbers(line: str, number: float) -> None:
    assert parse_scenario(with_line(11, line), FILE, PROJECT).detection.within_s == number


def test_yaml_1_2_and_1_1_directives_are_accepted() -> None:
    for version in ("1.1", "1.2"):
        assert parse_scenario(f"%YAML {version}\n---\n" + VALID, FILE, PROJECT).name == "example"


def many_keys(size: int) -> str:
    """VALID and then unknown fields (each an error) up to about ``size`` characters."""
    keys = []
    total = len(VALID)
    while total < size - 64:
        key = f"k{len(keys):07d}: 1\n"
        keys.append(key)
        total += len(key)
    return VALID + "".join(keys)


def cpu_seconds_to_refuse(text: str) -> tuple[float, str]:
    # CPU time of this process, not wall time: the machine running the tests may be busy.
    started = time.process_time()
    message = error_of(text)
    return time.process_time() - started, message


def test_many_keys_cost_linear_time() -> None:
    # A reader that looked each error's line up by walking the document would be
    # quadratic: four times the keys, sixteen times the time.
    small, _ = cpu_seconds_to_refuse(many_keys(MAX_FILE_BYTES // 16))
    large, message = cpu_seconds_to_refuse(many_keys(MAX_FILE_BYTES // 4))
    assert large < 8 * max(small, 0.05), f"{small:.2f} s, then {large:.2f} s for 4x the keys"
    assert message == (
        # VALID has 7 fields on 17 lines: the 1001st field is the 994th unknown one.
        "example.yml:1011: expected at most 1000 fields here; a hand-written file has a few"
    )


def test_hundreds_of_unknown_fields_are_listed_fifty_at_a_time() -> None:
    message = error_of(VALID + "".join(f"k{i:07d}: 1\n" for i in range(900)))
    lines = message.splitlines()
    assert lines[0] == (
        "example.yml:18: field 'k0000000': unknown field (check its spelling against the "
        "documentation)"
    )
    assert len(lines) == 51 and lines[-1] == "... and 850 more problems"


def test_a_megabyte_of_keys_is_refused_in_well_under_two_seconds() -> None:
    text = many_keys(MAX_FILE_BYTES)
    assert len(text) <= MAX_FILE_BYTES
    elapsed, message = cpu_seconds_to_refuse(text)
    assert "expected at most 1000 fields" in message
    assert elapsed < 1.0, f"took {elapsed:.2f} s"


def test_an_alias_bomb_is_refused_before_it_expands() -> None:
    bomb = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for i, name in enumerate("bcdefghi"):
        previous = "abcdefghi"[i]
        bomb.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
    message = error_of("\n".join(bomb) + "\n")
    assert "example.yml:2: field 'b.0': expected a value, found the YAML alias *a" in message


def test_deep_nesting_is_refused() -> None:
    message = error_of("title: " + "[" * 100 + "]" * 100 + "\n")
    assert message.startswith("example.yml:1: field 'title.0.0.0")
    assert "expected at most 16 levels of nesting" in message


def test_text_over_the_size_cap_is_refused() -> None:
    message = error_of(VALID + "#" * MAX_FILE_BYTES)
    assert message == (
        "example.yml:1: the file is over 1024 KiB; a scenario file is a page of YAML"
    )


# -- files -------------------------------------------------------------------------------------


def test_a_huge_file_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    path = tmp_path / "huge.yml"
    with path.open("wb") as stream:
        stream.write(VALID.encode())
        stream.seek(50 * MAX_FILE_BYTES)
        stream.write(b"\n")
    with pytest.raises(ScenarioError, match=r"huge\.yml:1: the file is over 1024 KiB"):
        load_scenario(path, PROJECT)


def test_non_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yml"
    path.write_bytes(with_line(2, "title: Caf\u00e9").encode("latin-1"))
    with pytest.raises(
        ScenarioError, match=r"latin1\.yml:2: expected UTF-8 text, found the byte 0xe9"
    ):
        load_scenario(path, PROJECT)


def test_utf8_text_loads(tmp_path: Path) -> None:
    path = tmp_path / "utf8.yml"
    path.write_text(with_line(2, "title: Caf\u00e9 \u2615"), encoding="utf-8")
    assert load_scenario(path, PROJECT).title == "Caf\u00e9 \u2615"


def test_a_missing_file_is_a_scenario_error(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"nothing\.yml: cannot read the scenario file"):
        load_scenario(tmp_path / "nothing.yml", PROJECT)


def test_load_all_reports_every_bad_file_and_duplicate_names(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text(VALID)
    (tmp_path / "b.yml").write_text(VALID)
    (tmp_path / "c.yml").write_text(with_line(2, "title: 3"))
    with pytest.raises(ScenarioError) as caught:
        load_all([tmp_path], PROJECT)
    lines = str(caught.value).splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{tmp_path / 'c.yml'}:2: field 'title'")
    assert lines[1].startswith(str(tmp_path / "b.yml"))
    assert lines[1].endswith(
        f"field 'name': expected a name of its own, but 'example' is already the name of "
        f"{tmp_path / 'a.yml'}"
    )


def test_a_duplicate_name_names_the_line_of_the_name(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text(VALID)
    (tmp_path / "b.yml").write_text(VALID)
    with pytest.raises(ScenarioError) as caught:
        load_all([tmp_path], PROJECT)
    assert str(caught.value).startswith(f"{tmp_path / 'b.yml'}:1: field 'name': ")


def test_a_file_named_twice_is_loaded_once(tmp_path: Path) -> None:
    path = tmp_path / "a.yml"
    path.write_text(VALID)
    (tmp_path / "link.yml").symlink_to(path)
    loaded = load_all([path, tmp_path / ".." / tmp_path.name / "a.yml", path], PROJECT)
    assert [s.name for s in loaded] == ["example"]
    # The directory and a symlink to a file in it are that file too.
    assert [s.name for s in load_all([tmp_path, path], PROJECT)] == ["example"]


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.yml"
    os.mkfifo(fifo)
    outcome: list[BaseException | None] = []

    def load() -> None:
        try:
            load_all([fifo], PROJECT)
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=load, daemon=True)
    worker.start()
    worker.join(timeout=5)
    if worker.is_alive():
        with fifo.open("w"):  # unblock the reader, so the thread can end
            pass
        pytest.fail("loading a FIFO blocked")
    (error,) = outcome
    assert isinstance(error, ScenarioError)
    assert str(error) == f"{fifo}: expected a scenario file, this is not a regular file"
    with pytest.raises(ScenarioError, match="not a regular file"):
        load_scenario(fifo, PROJECT)


def test_load_all_of_an_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="no scenario files"):
        load_all([tmp_path])


# -- references to the project ------------------------------------------------------------------


def test_a_link_must_exist_in_the_projects_proxy() -> None:
    text = with_fault("  - type: link_down\n    links: [backend-1-postgres, backend-3-redis]")
    message = error_of(text)
    assert (
        message == "example.yml:8: field 'faults.0.links.1': expected one of the proxy's links "
        "(backend-1-postgres, backend-1-redis, backend-1-standby, backend-2-postgres, "
        "backend-2-redis, backend-2-standby, backend-to-payments), "
        "got 'backend-3-redis'"
    )


def test_toxic_attributes_must_be_ones_the_toxic_reads() -> None:
    fault = (
        "  - type: link_toxic\n    links: [backend-1-postgres]\n    toxic: latency\n"
        "    attributes: {latncy: 300}"
    )
    message = error_of(with_fault(fault))
    assert (
        "example.yml:10: field 'faults.0.attributes.latncy': "
        "expected an attribute of the latency toxic (jitter, latency)" in message
    )


def test_a_partition_names_services_on_that_network() -> None:
    message = error_of(
        with_fault("  - type: partition\n    services: [backend-1, gateway]\n    network: data")
    )
    assert message == (
        "example.yml:8: field 'faults.0.services.1': "
        "expected a service on the 'data' network, but gateway is only on app"
    )
    assert parse_scenario(
        with_fault("  - type: partition\n    services: [gateway]\n    network: app"),
        FILE,
        PROJECT,
    )
    missing = error_of(with_fault("  - type: partition\n    services: [backend-1]"))
    assert missing == "example.yml:7: field 'faults.0.network': required, but missing"


def test_a_partition_names_a_network_of_the_compose_file() -> None:
    message = error_of(
        with_fault("  - type: partition\n    services: [backend-1]\n    network: wan")
    )
    assert message.splitlines() == [
        "example.yml:8: field 'faults.0.services.0': expected a service on the 'wan' "
        "network, but backend-1 is only on app, data",
        "example.yml:9: field 'faults.0.network': expected a network of the compose file "
        "(app, data, payments), got 'wan'",
    ]


def test_expected_alerts_must_be_the_playbook_sections() -> None:
    message = error_of(with_line(10, "  expect: [DatabaseDown, RedisDown]"))
    assert (
        "example.yml:10: field 'detection.expect.1': "
        "expected an alert listed in playbook.alerts (DatabaseDown), got 'RedisDown'" in message
    )


SERVICES = (
    "alertmanager, backend-1, backend-2, backup, blackbox, gateway, gateway-log-exporter, "
    "nginx-exporter, payment-provider-standin, postgres, "
    "postgres-exporter, postgres-standby, prometheus, proxy, redis, redis-exporter"
)
COMMANDS = (
    "backend-1-health, backend-2-health, backup-status, cache-ping, cache-stats, "
    "database-ready, database-sessions, flush-cache, gateway-config-test, "
    "gateway-misroute-writes, gateway-restore-routes, payment-provider-failing, "
    "payment-provider-health, payment-provider-healthy, payment-queue, payment-queue-drained, "
    "payments-queued, promote-standby, reload-gateway, "
    "restore-database, standby-lag, standby-streaming, standby-writable, tasks-restored, "
    "terminate-idle-sessions"
)
ALERTS = (
    "DatabaseDown, DatabaseStandbyDown, HighDatabaseConnections, HighResponseTime, "
    "HighUserErrorRate, LowRedisHitRate, NetworkLatency, PaymentProviderDown, "
    "PaymentQueueBacklog, RedisDown, ServiceDown"
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            with_line(8, "    service: mysql"),
            "example.yml:8: field 'faults.0.service': expected a service this project lets "
            "faults target (backend-1, backend-2, gateway, payment-provider-standin, postgres, "
            "postgres-standby, proxy, redis), got 'mysql'",
            id="fault service not a target",
        ),
        pytest.param(
            with_line(8, "    service: prometheus"),
            "example.yml:8: field 'faults.0.service': expected a service this project lets "
            "faults target (backend-1, backend-2, gateway, payment-provider-standin, postgres, "
            "postgres-standby, proxy, redis), got 'prometheus'",
            id="monitoring is no fault target",
        ),
        pytest.param(
            with_fault(
                "  - type: connection_exhaustion\n    service: mysql\n    database: shop\n"
                "    connections: 3"
            ),
            "example.yml:8: field 'faults.0.service': expected a service of the compose file "
            f"({SERVICES}), got 'mysql'",
            id="service not in the compose file",
        ),
        pytest.param(
            with_line(15, "      service: mysql"),
            "example.yml:15: field 'recovery.steps.0.service': expected a service of the "
            f"compose file ({SERVICES}), got 'mysql'",
            id="step service not in the compose file",
        ),
        pytest.param(
            with_fault("  - type: bad_deploy\n    service: redis\n    environment: {VERSION: bad}"),
            "example.yml:8: field 'faults.0.service': expected a service this project lets "
            "deploys target (backend-1, backend-2), got 'redis'",
            id="deploy target",
        ),
        pytest.param(
            with_line(5, "  alerts: [DatabaseDown, DiskFull]"),
            "example.yml:5: field 'playbook.alerts.1': expected an alert the rule files "
            f"define ({ALERTS}), got 'DiskFull'",
            id="alert no rule defines",
        ),
        pytest.param(
            with_line(11, "  within_s: 15\n  allow: [DiskFull]"),
            "example.yml:12: field 'detection.allow.0': expected an alert the rule files "
            f"define ({ALERTS}), got 'DiskFull'",
            id="allowed alert no rule defines",
        ),
        pytest.param(
            with_line(4, "  section: Printer Fires"),
            "example.yml:4: field 'playbook.section': expected a section of the playbook "
            "(Complete Service Outage, Service Down, Database Outages, Database Connection "
            "Issues, Cache Outages, Redis Issues, Network Issues, High Latency / Connection "
            "Issues), got 'Printer Fires'",
            id="section the playbook lacks",
        ),
        pytest.param(
            with_line(4, "  section: Database Outages\n  drill: Printer fire drill"),
            "example.yml:5: field 'playbook.drill': expected one of the playbook's drills "
            "(Database outage simulation, Network partition testing, Cache failure "
            "simulation, Load balancer failure testing), got 'Printer fire drill'",
            id="drill the playbook lacks",
        ),
        pytest.param(
            with_line(4, "  section: Database Outages\n  procedures: [database outage, Payments]"),
            "example.yml:5: field 'playbook.procedures.1': expected a ## or ### heading of "
            "the playbook (Overview, Alert Categories, 1. Complete Service Outage, "
            + ", ".join(p.title for p in PROJECT.playbook.procedures[3:])
            + "), got 'Payments'",
            id="procedure the playbook lacks",
        ),
        pytest.param(
            with_fault("  - type: command\n    command: drop-tables"),
            "example.yml:8: field 'faults.0.command': expected a command of the project's "
            f"commands: ({COMMANDS}), got 'drop-tables'",
            id="undefined command fault",
        ),
        pytest.param(
            with_line(14, "    - action: command\n      command: fix-it").replace(
                "      service: postgres\ntargets", "targets"
            ),
            "example.yml:15: field 'recovery.steps.0.command': expected a command of the "
            f"project's commands: ({COMMANDS}), got 'fix-it'",
            id="undefined command step",
        ),
        pytest.param(
            with_line(16, "load:\n  weights: {create-task: 1, delete-task: 2}\ntargets:"),
            "example.yml:17: field 'load.weights.delete-task': expected a request of the "
            "project's load (create-task, pay-task, read-task), got 'delete-task'",
            id="unknown load weight",
        ),
        pytest.param(
            with_line(16, "steady_state:\n  healthy: [postgres]\ntargets:"),
            "example.yml:17: field 'steady_state.healthy.0': expected a service with a health "
            "endpoint in the project's health: (backend-1, backend-2, gateway), got 'postgres'",
            id="healthy service without a health endpoint",
        ),
    ],
)
def test_names_are_checked_against_the_project(text: str, expected: str) -> None:
    assert error_of(text) == expected
    parse_scenario(text, FILE)  # without a project, only the scenario's own rules apply


def test_a_scenario_names_the_procedures_it_proves_case_and_numbering_aside() -> None:
    text = with_line(
        4, "  section: Database Outages\n  procedures: [database outage, 4. Regular Testing]"
    )
    scenario = parse_scenario(text, FILE, PROJECT)
    assert scenario.playbook.procedures == ["database outage", "4. Regular Testing"]
    assert parse_scenario(VALID, FILE, PROJECT).playbook.procedures == []


def test_link_faults_need_a_project_with_a_proxy(tmp_path: Path) -> None:
    shop = load_project(write_small_project(tmp_path))
    assert shop.links == frozenset()
    link_down = (
        SMALL_SCENARIO.replace("  - type: stop_service\n    service: web\n", "")
        .replace("faults:\n", "faults:\n  - type: link_down\n    links: [web-db]\n")
        .replace("    - action: start_service\n      service: web\n", "")
        .replace("  steps:\n", "  steps:\n    - action: clear_link_faults\n")
    )
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(link_down, FILE, shop)
    assert str(caught.value).splitlines() == [
        "example.yml:8: field 'faults.0.type': expected a fault this stack can have: the "
        "project has no proxy (proxy: in gameday.yml), so no link faults",
        "example.yml:15: field 'recovery.steps.0.action': expected a step this stack can "
        "take: the project has no proxy, so there are no link faults to clear",
    ]


def test_a_scenario_of_another_project_is_checked_against_that_project(tmp_path: Path) -> None:
    shop = load_project(write_small_project(tmp_path))
    scenario = parse_scenario(SMALL_SCENARIO, FILE, shop)
    assert scenario.playbook.drill == "Web outage drill"
    with pytest.raises(ScenarioError, match="expected a service this project lets faults"):
        parse_scenario(SMALL_SCENARIO, FILE, PROJECT)  # no 'web' in the bundled stack
    with pytest.raises(ScenarioError, match=r"field 'faults.0.service'.*got 'postgres'"):
        parse_scenario(VALID, FILE, shop)


def test_the_bundled_projects_references_match_its_files() -> None:
    assert PROJECT.links == {
        "backend-1-postgres",
        "backend-1-redis",
        "backend-1-standby",
        "backend-2-postgres",
        "backend-2-redis",
        "backend-2-standby",
        "backend-to-payments",
    }
    assert PROJECT.topology.services["backend-1"].networks == {"app", "data"}
    assert PROJECT.topology.services["postgres"].networks == {"data"}
    assert PROJECT.topology.networks() == {"app", "data", "payments"}


def test_toxic_attributes_match_the_proxys_toxics() -> None:
    from gameday.proxy.toxics import REGISTRY

    known = {
        name: tuple(field.metadata["json"] for field in dataclasses.fields(kind.settings))
        for name, kind in REGISTRY.items()
    }
    assert {name: set(names) for name, names in known.items()} == {
        name: set(names) for name, names in TOXIC_ATTRIBUTES.items()
    }
    toxic_field = LinkToxicFault.model_fields["toxic"].annotation
    assert set(TOXIC_ATTRIBUTES) == set(get_args(toxic_field))


# -- the bundled scenarios ---------------------------------------------------------------------


@pytest.mark.parametrize("path", BUNDLED + MUST_FAIL, ids=lambda path: path.name)
def test_every_bundled_scenario_loads(path: Path) -> None:
    scenario = load_scenario(path, PROJECT)
    assert scenario.name == path.stem
    assert scenario.targets.mttd_s >= scenario.detection.within_s


def test_bundled_names_are_unique_and_the_playbook_is_covered() -> None:
    scenarios = load_all([ROOT / "scenarios", ROOT / "tests" / "scenarios"], PROJECT)
    assert len({s.name for s in scenarios}) == len(scenarios)
    bundled = [s for s in scenarios if s.source in BUNDLED]
    # Every alert the playbook names is the point of at least one drill.
    assert PROJECT.playbook is not None
    expected = {alert for s in bundled for alert in s.detection.expect}
    assert expected >= set(PROJECT.playbook.alerts)
    # And so is every alert the project adds to it (the payment provider's, the standby's).
    assert expected - set(PROJECT.playbook.alerts) == {
        "PaymentProviderDown",
        "PaymentQueueBacklog",
        "DatabaseStandbyDown",
    }
    drills = {s.playbook.drill for s in bundled} - {None}
    assert drills == {
        "Database outage simulation",
        "Network partition testing",
        "Cache failure simulation",
        "Load balancer failure testing",
    }


def test_must_fail_scenarios_stay_out_of_scenarios_dir() -> None:
    assert {path.name for path in MUST_FAIL} == {
        "recovery-does-not-fix.yml",
        "alert-cannot-fire.yml",
    }
    assert not {path.name for path in BUNDLED} & {path.name for path in MUST_FAIL}
