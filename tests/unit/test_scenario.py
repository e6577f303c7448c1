"""The scenario loader: every bad input is a ScenarioError naming file, line and field,
and every bundled scenario loads."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import get_args

import pytest

from gameday.errors import ScenarioError
from gameday.scenario import (
    MAX_FILE_BYTES,
    PLAYBOOK_ALERTS,
    TOXIC_ATTRIBUTES,
    LinkToxicFault,
    load_all,
    load_scenario,
    parse_scenario,
    proxy_links,
    service_networks,
)

ROOT = Path(__file__).resolve().parents[2]
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


def error_of(text: str) -> str:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, FILE)
    return str(caught.value)


def test_the_example_is_valid() -> None:
    scenario = parse_scenario(VALID, FILE)
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
        (8, "    service: pg", "example.yml:8: field 'faults.0.service': expected one of"),
        (11, "  within_s: -1", "example.yml:11: field 'detection.within_s': Input should be"),
        (11, "  within_s: soon", "example.yml:11: field 'detection.within_s': Input should be"),
        (10, "  expect: []", "example.yml:10: field 'detection.expect': List should have"),
        (10, "  expect: [Nope]", "example.yml:10: field 'detection.expect.0': expected one of"),
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


def test_a_single_fault_without_a_list_is_one_fault() -> None:
    text = with_line(7, "    type: stop_service").replace("  - type", "    type")
    assert len(parse_scenario(text, FILE).faults) == 1
    bad = text.replace("service: postgres\ndetection", "service: pg\ndetection")
    assert "example.yml:8: field 'faults.0.service'" in error_of(bad)


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
        ("", "example.yml:1: expected a mapping of fields, this file is empty"),
        ("- name: x\n", "example.yml:1: expected a mapping of fields, this file is a sequence"),
        ("just words\n", "example.yml:1: expected a mapping of fields, this file is a scalar"),
    ],
)
def test_yaml_problems_name_the_line(text: str, expected: str) -> None:
    assert expected in error_of(text)


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
    assert message == "example.yml:1: the file is over 1024 KiB; a scenario is a page of YAML"


# -- files -------------------------------------------------------------------------------------


def test_a_huge_file_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    path = tmp_path / "huge.yml"
    with path.open("wb") as stream:
        stream.write(VALID.encode())
        stream.seek(50 * MAX_FILE_BYTES)
        stream.write(b"\n")
    with pytest.raises(ScenarioError, match=r"huge\.yml:1: the file is over 1024 KiB"):
        load_scenario(path)


def test_non_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yml"
    path.write_bytes(with_line(2, "title: Caf\u00e9").encode("latin-1"))
    with pytest.raises(
        ScenarioError, match=r"latin1\.yml:2: expected UTF-8 text, found the byte 0xe9"
    ):
        load_scenario(path)


def test_utf8_text_loads(tmp_path: Path) -> None:
    path = tmp_path / "utf8.yml"
    path.write_text(with_line(2, "title: Caf\u00e9 \u2615"), encoding="utf-8")
    assert load_scenario(path).title == "Caf\u00e9 \u2615"


def test_a_missing_file_is_a_scenario_error(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"nothing\.yml: cannot read the scenario file"):
        load_scenario(tmp_path / "nothing.yml")


def test_load_all_reports_every_bad_file_and_duplicate_names(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text(VALID)
    (tmp_path / "b.yml").write_text(VALID)
    (tmp_path / "c.yml").write_text(with_line(2, "title: 3"))
    with pytest.raises(ScenarioError) as caught:
        load_all([tmp_path])
    lines = str(caught.value).splitlines()
    assert any(line.startswith(f"{tmp_path / 'c.yml'}:2: field 'title'") for line in lines)
    assert f"{tmp_path / 'b.yml'}:1: field 'name': expected a name of its own, but " in str(
        caught.value
    )


def test_load_all_of_an_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="no scenario files"):
        load_all([tmp_path])


# -- references to the replica ------------------------------------------------------------------


def with_fault(fault: str) -> str:
    return with_line(7, fault).replace("    service: postgres\ndetection", "detection")


def test_a_link_must_exist_in_the_bundled_proxies() -> None:
    text = with_fault("  - type: link_down\n    links: [backend-1-postgres, backend-3-redis]")
    message = error_of(text)
    assert (
        "example.yml:8: field 'faults.0.links.1': expected one of the replica's proxy links"
        in message
    )
    assert "got 'backend-3-redis'" in message


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
    message = error_of(with_fault("  - type: partition\n    services: [backend-1, gateway]"))
    assert (
        "example.yml:8: field 'faults.0.services.1': "
        "expected a service on the 'data' network, but gateway is only on app" in message
    )
    assert parse_scenario(
        with_fault("  - type: partition\n    services: [gateway]\n    network: app"), FILE
    )


def test_expected_alerts_must_be_the_playbook_sections() -> None:
    message = error_of(with_line(10, "  expect: [DatabaseDown, RedisDown]"))
    assert (
        "example.yml:10: field 'detection.expect.1': "
        "expected an alert listed in playbook.alerts (DatabaseDown), got 'RedisDown'" in message
    )


def test_bundled_references_match_the_replica_files() -> None:
    assert proxy_links() == {
        "backend-1-postgres",
        "backend-1-redis",
        "backend-2-postgres",
        "backend-2-redis",
    }
    assert service_networks()["backend-1"] == {"app", "data"}
    assert service_networks()["postgres"] == {"data"}


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
    scenario = load_scenario(path)
    assert scenario.name == path.stem
    assert scenario.targets.mttd_s >= scenario.detection.within_s


def test_bundled_names_are_unique_and_the_playbook_is_covered() -> None:
    scenarios = load_all([ROOT / "scenarios", ROOT / "tests" / "scenarios"])
    assert len({s.name for s in scenarios}) == len(scenarios)
    bundled = [s for s in scenarios if s.source in BUNDLED]
    # Every alert the playbook names is the point of at least one drill.
    assert {alert for s in bundled for alert in s.detection.expect} == set(PLAYBOOK_ALERTS)
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
