"""The proxies config file: whatever is wrong with it is one ConfigError that names the
file and what was expected."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gameday.proxy.addresses import Policy
from gameday.proxy.config import load_config
from gameday.proxy.errors import ConfigError
from gameday.proxy.specs import ProxySpec

EXPECTED = 'expected a JSON list of proxies, each {"name", "listen", "upstream", "enabled"}'


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"{bad", "invalid JSON at line 1 column 2"),
        (b"", "invalid JSON at line 1 column 1"),
        (b"\xff\xfe\x00\x01", "not UTF-8 text (byte 0)"),
        (b"[" * 100_000, "invalid JSON"),
        (b'{"name": "a"}', "got an object"),
        (b'"proxies"', "got a string"),
        (b"null", "got null"),
        (b"7", "got a number"),
    ],
)
def test_what_is_not_a_list_of_proxies(tmp_path: Path, content: bytes, says: str) -> None:
    path = tmp_path / "proxies.json"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as caught:
        load_config(path, Policy())
    message = str(caught.value)
    assert message.startswith(f"proxies config {path}: ") and says in message
    assert EXPECTED in message
    assert caught.value.exit_code == 2


def test_a_proxy_it_cannot_use_is_named(tmp_path: Path) -> None:
    path = tmp_path / "proxies.json"
    path.write_text(json.dumps([{"name": "a", "upstream": "postgres:5432"}, {"name": "b"}]))
    with pytest.raises(ConfigError, match="missing required field: upstream at proxy 2"):
        load_config(path, Policy())


@pytest.mark.parametrize("name", ["missing.json", "."])
def test_a_file_it_cannot_read(tmp_path: Path, name: str) -> None:
    with pytest.raises(ConfigError, match="cannot read it"):
        load_config(tmp_path / name, Policy())


def test_a_good_config(tmp_path: Path) -> None:
    path = tmp_path / "proxies.json"
    path.write_text(json.dumps([{"name": "a", "upstream": "postgres:5432", "enabled": False}]))
    assert load_config(path, Policy()) == [ProxySpec("a", "127.0.0.1:0", "postgres:5432", False)]
