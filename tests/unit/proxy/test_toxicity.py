"""toxicity p makes a toxic hit about a fraction p of the connections (fixed seed)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from proxytest import Background, start_background, stop_background

CONNECTIONS = 200


@pytest.fixture
def seeded() -> Iterator[Background]:
    bg, thread = start_background(seed=42)
    yield bg
    stop_background(bg, thread)


def test_half_toxicity_hits_about_half_the_connections(seeded: Background) -> None:
    import socket

    created = requests.post(
        f"{seeded.api}/proxies",
        json={"name": "coin", "listen": "127.0.0.1:0", "upstream": seeded.echo_address},
        timeout=5,
    ).json()
    port = int(created["listen"].rsplit(":", 1)[1])
    requests.post(
        f"{seeded.api}/proxies/coin/toxics",
        json={"type": "limit_data", "toxicity": 0.5, "attributes": {"bytes": 0}},
        timeout=5,
    ).raise_for_status()
    hit = 0
    for _ in range(CONNECTIONS):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"x")
            if sock.recv(1) == b"":
                hit += 1
    # Binomial(200, 0.5): mean 100, sd 7.1; 70..130 is more than 4 sd either way.
    assert 70 <= hit <= 130, hit
    assert 0 < hit < CONNECTIONS
