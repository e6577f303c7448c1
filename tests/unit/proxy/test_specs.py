"""Proxy descriptions are checked whole before anything starts, including the bundled
replica's config, which needs --allow-remote (and says so in its compose command)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

import gameday
from gameday.proxy.addresses import Policy
from gameday.proxy.errors import ApiError
from gameday.proxy.specs import DEFAULT_LISTEN, ProxySpec, parse_proxy_specs

STACK = Path(gameday.__file__).parent / "stack"


def test_an_empty_listen_is_loopback() -> None:
    body = {"name": "a", "upstream": "postgres:5432", "listen": ""}
    assert parse_proxy_specs(body, single=True, policy=Policy()) == [
        ProxySpec("a", DEFAULT_LISTEN, "postgres:5432", True)
    ]


def test_populate_names_the_proxy_at_fault() -> None:
    body = [
        {"name": "a", "upstream": "postgres:5432"},
        {"name": "b", "upstream": "203.0.113.5:5432"},
    ]
    with pytest.raises(ApiError, match=re.escape("upstream at proxy 2 '203.0.113.5:5432'")):
        parse_proxy_specs(body, single=False, policy=Policy())


def test_the_bundled_config_needs_allow_remote_and_gets_it() -> None:
    body = json.loads((STACK / "config" / "proxies.json").read_text())
    with pytest.raises(ApiError, match="--allow-remote"):
        parse_proxy_specs(body, single=False, policy=Policy())
    specs = parse_proxy_specs(body, single=False, policy=Policy(allow_remote=True))
    assert {spec.upstream for spec in specs} == {
        "postgres:5432",
        "postgres-standby:5432",
        "redis:6379",
        "payment-provider-standin:8080",
    }
    compose = yaml.safe_load((STACK / "docker-compose.drill.yml").read_text())
    assert "--allow-remote" in compose["services"]["proxy"]["command"]
