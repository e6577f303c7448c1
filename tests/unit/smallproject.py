"""A small project that is not the bundled one, written into a test's directory: a shop
with a web service, a database, Prometheus and Alertmanager, its own rules and playbook,
and no proxy. Tests change one file or one line of it at a time."""

from __future__ import annotations

from pathlib import Path

COMPOSE = """\
services:
  web:
    image: shop/web
    ports: ["127.0.0.1:${GAMEDAY_PORT_WEB:-}:8000"]
    networks: [front, back]
  db:
    image: shop/db
    networks: [back]
  prometheus:
    image: prom/prometheus
    ports: ["127.0.0.1:${GAMEDAY_PORT_PROMETHEUS:-}:9090"]
    networks: [back]
  alertmanager:
    image: prom/alertmanager
    ports:
      - target: 9093
        host_ip: 127.0.0.1
        published: "${GAMEDAY_PORT_ALERTMANAGER:-}"
networks:
  front: {}
  back: {}
"""

RULES = """\
groups:
  - name: shop
    rules:
      - record: job:up:sum
        expr: sum(up) by (job)
      - alert: WebDown
        expr: up{job="web"} == 0
        for: 10s
      - alert: DatabaseDown
        expr: up{job="db"} == 0
        for: 1m
"""

PLAYBOOK = """\
# Shop incident playbook

## 1. Web Outages

### 1.1 Web Down
**Alert**: `WebDown`
**Severity**: Critical
**Team**: Shop

**Immediate Actions**:
1. Check the web container's logs
2. Restart the web service

```bash
docker compose restart web
```

## 2. Database Outages
**Alert**: `DatabaseDown`

## Drill Scenarios
- Web outage drill
- Database failover drill
"""

# Line numbers matter: tests replace one line of this file at a time.
PROJECT = """\
name: shop
compose: compose.yml
rules: rules/*.yml
playbook: playbook.md
health:
  web: /health
load:
  target: web
  requests:
    - name: place-order
      method: POST
      path: /orders
      success: [201]
      returns_id: id
    - name: read-order
      path: /orders/{id}
data_check:
  read_back: read-order
commands:
  vacuum:
    service: db
    run: [vacuumdb, --all]
    section: Database Outages
hooks:
  - after: [db]
    command: vacuum
"""

# A scenario of this project (stop the web service, expect WebDown).
SCENARIO = """\
name: web-down
title: The web service stops
playbook:
  section: Web Outages
  alerts: [WebDown]
  drill: Web outage drill
faults:
  - type: stop_service
    service: web
detection:
  expect: [WebDown]
  within_s: 30
recovery:
  steps:
    - action: start_service
      service: web
targets:
  mttd_s: 30
"""


def write_small_project(
    root: Path, project: str = PROJECT, files: dict[str, str] | None = None
) -> Path:
    """Write the small project into ``root``; ``files`` replaces or adds files by their
    relative path. Returns the path of its gameday.yml."""
    contents = {
        "compose.yml": COMPOSE,
        "rules/alerts.yml": RULES,
        "playbook.md": PLAYBOOK,
        "scenarios/web-down.yml": SCENARIO,
        "gameday.yml": project,
        **(files or {}),
    }
    for name, text in contents.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root / "gameday.yml"


def with_line(text: str, number: int, replacement: str) -> str:
    """``text`` with its line ``number`` (1-based) replaced (by several lines, maybe)."""
    lines = text.splitlines()
    lines[number - 1] = replacement
    return "\n".join(lines) + "\n"
