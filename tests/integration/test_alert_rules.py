"""The playbook's alert rules, and gameday's addition to them, unit tested by promtool from
the replica's own monitoring image (the same Prometheus 2.42 that runs in drills)."""

from __future__ import annotations

from pathlib import Path

import docker
import pytest
import yaml

from gameday import __version__
from gameday.inputs.project import Project

pytestmark = pytest.mark.docker

RULES = Path(__file__).parents[2] / "src" / "gameday" / "stack" / "config" / "rules"
TESTS = Path(__file__).parent.parent / "rules"


def promtool(*args: str) -> tuple[int, str]:
    client = docker.from_env()
    container = client.containers.run(
        f"gameday/monitoring:{__version__}",
        ["promtool", *args],
        volumes={
            str(RULES): {"bind": "/rules", "mode": "ro"},
            str(TESTS): {"bind": "/tests", "mode": "ro"},
        },
        labels={
            "io.gameday.managed": "true",
            "io.gameday.run": "promtool",
            "io.gameday.lease": "manual",
        },
        detach=True,
    )
    try:
        status = container.wait(timeout=60)
        return status["StatusCode"], container.logs().decode()
    finally:
        container.remove(force=True)


def test_the_rules_are_valid_prometheus_rules() -> None:
    code, output = promtool("check", "rules", "/rules/playbook-alerts.yml")
    assert code == 0, output
    assert "SUCCESS: 7 rules found" in output


def test_every_playbook_alert_passes_its_promtool_unit_tests() -> None:
    code, output = promtool("test", "rules", "/tests/playbook-alerts.test.yml")
    assert code == 0, output
    assert "SUCCESS" in output


def test_every_alert_the_playbook_names_has_a_rule_and_a_firing_test(
    bundled_project: Project,
) -> None:
    rules = (RULES / "playbook-alerts.yml").read_text()
    tests = (TESTS / "playbook-alerts.test.yml").read_text()
    assert bundled_project.playbook is not None
    assert len(bundled_project.playbook.alerts) == 7
    for alert in bundled_project.playbook.alerts:
        assert f"alert: {alert}\n" in rules, f"no rule for {alert}"
        assert f"alertname: {alert}\n" in tests, f"no firing test for {alert}"


def test_the_addition_to_the_playbook_is_a_valid_rule_and_passes_its_unit_tests() -> None:
    code, output = promtool("check", "rules", "/rules/playbook-additions.yml")
    assert code == 0, output
    assert "SUCCESS: 1 rules found" in output
    code, output = promtool("test", "rules", "/tests/playbook-additions.test.yml")
    assert code == 0, output
    assert "SUCCESS" in output


def test_every_addition_is_marked_as_one_and_is_not_the_playbooks(
    bundled_project: Project,
) -> None:
    rules = yaml.safe_load((RULES / "playbook-additions.yml").read_text())
    alerts = [rule for group in rules["groups"] for rule in group["rules"] if "alert" in rule]
    assert [rule["alert"] for rule in alerts] == ["HighUserErrorRate"]
    for rule in alerts:
        assert rule["labels"]["playbook_addition"] == "true"
    assert bundled_project.additions == {
        "HighUserErrorRate",
        "PaymentProviderDown",
        "PaymentQueueBacklog",
        "DatabaseStandbyDown",
    }
    assert bundled_project.playbook is not None
    assert not bundled_project.additions & set(bundled_project.playbook.alerts)
    tests = (TESTS / "playbook-additions.test.yml").read_text()
    assert "alertname: HighUserErrorRate\n" in tests


def test_the_payment_rules_are_valid_and_marked_as_additions() -> None:
    code, output = promtool("check", "rules", "/rules/payment-alerts.yml")
    assert code == 0, output
    assert "SUCCESS: 2 rules found" in output
    groups = yaml.safe_load((RULES / "payment-alerts.yml").read_text())["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    assert {r["alert"] for r in rules} == {"PaymentProviderDown", "PaymentQueueBacklog"}
    assert all(r["labels"]["playbook_addition"] == "true" for r in rules)


def test_the_payment_alerts_pass_their_promtool_unit_tests() -> None:
    code, output = promtool("test", "rules", "/tests/payment-alerts.test.yml")
    assert code == 0, output
    assert "SUCCESS" in output


def test_the_read_replica_rule_is_valid_marked_as_an_addition_and_passes_its_tests() -> None:
    code, output = promtool("check", "rules", "/rules/replica-alerts.yml")
    assert code == 0, output
    assert "SUCCESS: 1 rules found" in output
    groups = yaml.safe_load((RULES / "replica-alerts.yml").read_text())["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    assert [r["alert"] for r in rules] == ["DatabaseStandbyDown"]
    assert rules[0]["labels"]["playbook_addition"] == "true"
    code, output = promtool("test", "rules", "/tests/replica-alerts.test.yml")
    assert code == 0, output
    assert "SUCCESS" in output
