"""The HTTP API checked raw: paths, status codes and bodies as Toxiproxy's api.go."""

from __future__ import annotations

import requests
from proxytest import Background, ProxyUnderTest


def test_version(background: Background) -> None:
    response = requests.get(f"{background.api}/version", timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json() == {"version": "2.12.0"}


def test_proxy_lifecycle_status_codes(background: Background) -> None:
    api = background.api
    body = {"name": "raw", "listen": "127.0.0.1:0", "upstream": background.echo_address}
    created = requests.post(f"{api}/proxies", json=body, timeout=5)
    assert created.status_code == 201
    shown = created.json()
    assert set(shown) == {"name", "listen", "upstream", "enabled", "toxics"}
    assert shown["toxics"] == [] and shown["enabled"] is True

    assert requests.get(f"{api}/proxies/raw", timeout=5).json() == shown
    assert requests.get(f"{api}/proxies", timeout=5).json()["raw"] == shown

    patched = requests.patch(f"{api}/proxies/raw", json={"enabled": False}, timeout=5)
    assert patched.status_code == 200 and patched.json()["enabled"] is False
    posted = requests.post(f"{api}/proxies/raw", json={"enabled": True}, timeout=5)
    assert posted.status_code == 200 and posted.json()["enabled"] is True

    deleted = requests.delete(f"{api}/proxies/raw", timeout=5)
    assert deleted.status_code == 204 and deleted.content == b""
    missing = requests.get(f"{api}/proxies/raw", timeout=5)
    assert missing.status_code == 404
    assert missing.json() == {"error": "proxy not found", "status": 404}


def test_toxic_lifecycle_status_codes(proxy: ProxyUnderTest) -> None:
    base = f"{proxy.api}/proxies/{proxy.name}/toxics"
    created = requests.post(
        base, json={"type": "latency", "attributes": {"latency": 10}}, timeout=5
    )
    assert created.status_code == 200  # Toxiproxy answers a new toxic with 200, not 201
    assert created.json() == {
        "attributes": {"latency": 10, "jitter": 0},
        "name": "latency_downstream",
        "type": "latency",
        "stream": "downstream",
        "toxicity": 1.0,
    }
    assert requests.get(base, timeout=5).json() == [created.json()]
    assert requests.get(f"{base}/latency_downstream", timeout=5).json() == created.json()

    # An update merges attributes and may change toxicity; the rest stays.
    updated = requests.patch(
        f"{base}/latency_downstream",
        json={"attributes": {"jitter": 3}, "toxicity": 0.5, "stream": "upstream"},
        timeout=5,
    )
    assert updated.status_code == 200
    assert updated.json()["attributes"] == {"latency": 10, "jitter": 3}
    assert updated.json()["toxicity"] == 0.5
    assert updated.json()["stream"] == "downstream"

    listed = requests.get(f"{proxy.api}/proxies/{proxy.name}", timeout=5).json()
    assert listed["toxics"] == [updated.json()]

    assert requests.delete(f"{base}/latency_downstream", timeout=5).status_code == 204
    gone = requests.get(f"{base}/latency_downstream", timeout=5)
    assert gone.status_code == 404
    assert gone.json() == {"error": "toxic not found", "status": 404}


def test_populate_answers_201_with_proxies(background: Background) -> None:
    api = background.api
    body = [{"name": "pop1", "listen": "127.0.0.1:0", "upstream": background.echo_address}]
    response = requests.post(f"{api}/populate", json=body, timeout=5)
    assert response.status_code == 201
    assert [p["name"] for p in response.json()["proxies"]] == ["pop1"]
    requests.delete(f"{api}/proxies/pop1", timeout=5)


def test_reset_answers_204(background: Background) -> None:
    response = requests.post(f"{background.api}/reset", timeout=5)
    assert response.status_code == 204 and response.content == b""


def test_browsers_are_refused(background: Background) -> None:
    response = requests.get(
        f"{background.api}/proxies", headers={"User-Agent": "Mozilla/5.0"}, timeout=5
    )
    assert response.status_code == 403
    assert response.json() == {"error": "User agent not allowed", "status": 403}


def test_unknown_route_and_method_are_json_errors(background: Background) -> None:
    missing = requests.get(f"{background.api}/nothing", timeout=5)
    assert missing.status_code == 404
    assert missing.json() == {"error": "not found", "status": 404}
    wrong = requests.delete(f"{background.api}/proxies", timeout=5)
    assert wrong.status_code == 405
    assert wrong.json() == {"error": "method not allowed", "status": 405}
    assert "POST" in wrong.headers["Allow"]


def test_an_unknown_expect_header_is_a_json_error(background: Background) -> None:
    # aiohttp answers this before any middleware runs (found by test_api_properties).
    response = requests.get(f"{background.api}/version", headers={"Expect": "x"}, timeout=5)
    assert response.status_code == 417
    assert response.json() == {"error": "Unknown Expect: x", "status": 417}
