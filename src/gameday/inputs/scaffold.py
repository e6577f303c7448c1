"""``gameday init``: a first project file and scenario for a compose file.

It reads what it can from the compose file (services, published ports, a Prometheus and an
Alertmanager among the services, rule files near it) and writes a ``gameday.yml`` and one
scenario that stops a service and expects an alert. Both are a start to edit, not a
finished project: every guess is marked in a comment.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import yaml

from gameday.errors import InputError
from gameday.inputs.project import PROJECT_FILE, Topology, read_topology

__all__ = ["write_project"]

MAX_RULE_CANDIDATES = 500


def write_project(compose_files: list[Path], directory: Path, *, force: bool = False) -> list[Path]:
    """Write ``directory/gameday.yml`` and ``directory/scenarios/first-drill.yml``."""
    directory.mkdir(parents=True, exist_ok=True)
    project_file = directory / PROJECT_FILE
    scenario_file = directory / "scenarios" / "first-drill.yml"
    for path in (project_file, scenario_file):
        if path.exists() and not force:
            raise InputError(f"{path} exists; pass --force to overwrite it")
    topology = read_topology(compose_files)
    if not topology.services:
        raise InputError(f"{compose_files[0]}: the compose file has no services")
    alerts, rule_globs = _rules_near(compose_files[0].parent, directory)
    project_text, target = _project_text(compose_files, directory, topology, rule_globs)
    project_file.write_text(project_text)
    scenario_file.parent.mkdir(parents=True, exist_ok=True)
    scenario_file.write_text(_scenario_text(target, alerts))
    return [project_file, scenario_file]


def _relative(path: Path, directory: Path) -> str:
    return os.path.relpath(path.resolve(), directory.resolve())


def _project_name(directory: Path) -> str:
    """The directory's name as a valid project name ("My Stack" -> "My-Stack")."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", directory.resolve().name)
    name = re.sub(r"^[^A-Za-z0-9]+", "", name)[:63].rstrip("-")
    return f'"{name or "my-stack"}"'


def _find(topology: Topology, word: str) -> str | None:
    return next((name for name in sorted(topology.services) if word in name), None)


def _project_text(
    compose_files: list[Path], directory: Path, topology: Topology, rule_globs: list[str]
) -> tuple[str, str]:
    prometheus = _find(topology, "prometheus")
    alertmanager = _find(topology, "alertmanager")
    monitoring = {prometheus, alertmanager}
    published = topology.published()
    serving = [s for s in sorted(published) if s not in monitoring]
    others = [s for s in sorted(topology.services) if s not in monitoring]
    target = (serving or others or sorted(topology.services))[0]
    lines = [
        "# gameday's project file: what gameday needs to know about this stack.",
        "# Reference: docs/project.md in gameday's repository; `gameday schema project`.",
        f"name: {_project_name(directory)}",
        "compose:",
        *[f"  - {_relative(f, directory)}" for f in compose_files],
        "",
        "# A compose service (that publishes its port on 127.0.0.1), or the URL of one your",
        "# team runs.",
        f"prometheus: {prometheus or 'http://127.0.0.1:9090  # GUESS: no prometheus service'}",
        f"alertmanager: {alertmanager or 'http://127.0.0.1:9093  # GUESS: no such service'}",
    ]
    if rule_globs:
        lines += ["rules:", *[f"  - {g}" for g in rule_globs]]
    else:
        lines += ["# rules: [monitoring/rules/*.yml]   # the alert rule files (none found)"]
    lines += [
        "",
        "# playbook: playbook.md   # your incident playbook in Markdown (docs/project.md)",
        "scenarios: scenarios",
        "reports: reports",
    ]
    if serving:
        lines += ["", "# GUESS: every published service answers GET /health with 200.", "health:"]
        lines += [f"  {service}: /health" for service in serving]
        lines += [
            "",
            "# The users' requests, sent open-loop during every drill. GUESS: GET /.",
            "load:",
            f"  target: {serving[0]}",
            "  rate_per_s: 10",
            "  requests:",
            "    - name: home",
            "      method: GET",
            "      path: /",
            "      success: [200]",
        ]
    return "\n".join(lines) + "\n", target


def _scenario_text(service: str, alerts: list[str]) -> str:
    alert = alerts[0] if alerts else "ServiceDown"
    guess = "" if alerts else "  # GUESS: no rule file found; name an alert your rules define"
    return f"""# A first drill: stop one service and expect an alert. Reference: docs/scenarios.md.
name: first-drill
title: {service} stops
playbook:
  section: {service} outage
  alerts: [{alert}]
faults:
  - type: stop_service
    service: {service}
detection:
  expect: [{alert}]{guess}
  within_s: 60
recovery:
  responder: auto
  steps:
    - action: start_service
      service: {service}
targets:
  mttd_s: 60
  mttr_s: 120
"""


def _rules_near(search: Path, directory: Path) -> tuple[list[str], list[str]]:
    """Alert names and the globs of the rule files found below ``search``."""
    alerts: list[str] = []
    folders: dict[str, None] = {}
    candidates = sorted([*search.rglob("*.yml"), *search.rglob("*.yaml")])
    for file in candidates[:MAX_RULE_CANDIDATES]:
        try:
            document = yaml.safe_load(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue
        groups = document.get("groups") if isinstance(document, dict) else None
        if not isinstance(groups, list):
            continue
        names = [
            str(rule["alert"])
            for group in groups
            if isinstance(group, dict)
            for rule in group.get("rules") or []
            if isinstance(rule, dict) and "alert" in rule
        ]
        if names:
            alerts.extend(names)
            folders[f"{_relative(file.parent, directory)}/*{file.suffix}"] = None
    return alerts, list(folders)
