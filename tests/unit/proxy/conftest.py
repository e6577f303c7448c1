"""Fixtures of the proxy's tests: one proxy server and echo upstream for the session, and
a fresh proxy to the echo upstream for each test that asks for one."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
import requests
from proxytest import Background, ProxyUnderTest, start_background, stop_background

_names = itertools.count(1)


@pytest.fixture(scope="session")
def background() -> Iterator[Background]:
    bg, thread = start_background()
    yield bg
    stop_background(bg, thread)


@pytest.fixture
def proxy(background: Background) -> Iterator[ProxyUnderTest]:
    """A fresh proxy to the echo upstream, deleted after the test."""
    name = f"p{next(_names)}"
    response = requests.post(
        f"{background.api}/proxies",
        json={"name": name, "listen": "127.0.0.1:0", "upstream": background.echo_address},
        timeout=5,
    )
    assert response.status_code == 201, response.text
    port = int(response.json()["listen"].rsplit(":", 1)[1])
    yield ProxyUnderTest(name, port, background.api)
    requests.delete(f"{background.api}/proxies/{name}", timeout=5)
