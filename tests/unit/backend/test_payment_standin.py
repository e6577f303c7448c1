"""The payment provider's stand-in: where it listens in the replica, and what it answers.

It is a stand-in for an external provider, so the claim that matters most is that it is
reachable only inside the replica: no published port, only the internal payments network,
which only the proxy shares with it. Its answers are tested on its pure ``answer``.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path

import image_modules
import pytest
import yaml

from gameday.inputs.project import Project

STACK = Path(__file__).resolve().parents[3] / "src/gameday/stack"
STANDIN = "payment-provider-standin"


standin = image_modules.load("payment_standin.py", "payment_standin")


def test_the_standin_publishes_no_port_and_is_on_the_payments_network_only(
    bundled_project: Project,
) -> None:
    service = bundled_project.topology.services[STANDIN]
    assert service.ports == ()
    assert service.networks == frozenset({"payments"})
    assert STANDIN not in bundled_project.topology.published()


def test_the_payments_network_is_internal_and_shared_with_the_proxy_alone(
    bundled_project: Project,
) -> None:
    compose = yaml.safe_load((STACK / "docker-compose.drill.yml").read_text())
    assert compose["networks"]["payments"]["internal"] is True
    assert "ports" not in compose["services"][STANDIN]
    on_payments = {
        name for name, s in bundled_project.topology.services.items() if "payments" in s.networks
    }
    assert on_payments == {STANDIN, "proxy"}


def test_the_backends_reach_it_through_the_proxy_link_never_a_real_address() -> None:
    compose = yaml.safe_load((STACK / "docker-compose.drill.yml").read_text())
    links = {link["name"]: link for link in json.loads((STACK / "config/proxies.json").read_text())}
    assert links["backend-to-payments"]["upstream"] == f"{STANDIN}:8080"
    listen_port = links["backend-to-payments"]["listen"].rsplit(":", 1)[1]
    for backend in ("backend-1", "backend-2"):
        env = compose["services"][backend]["environment"]
        assert env["PAYMENT_URL"] == f"http://proxy:{listen_port}"


def test_a_charge_is_taken_once_per_idempotency_key() -> None:
    ledger = standin.Ledger()
    body = json.dumps({"idempotency_key": "task-1", "amount_cents": 250}).encode()
    assert standin.answer("POST", "/charges", body, ledger, False) == (
        201,
        {"charge_id": "ch_1", "idempotency_key": "task-1"},
    )
    assert standin.answer("POST", "/charges", body, ledger, False)[0] == 200
    assert standin.answer("GET", "/charges", b"", ledger, False) == (
        200,
        {"charges": 1, "amount_cents": 250},
    )


def test_failing_mode_answers_500_but_still_tells_what_it_charged() -> None:
    ledger = standin.Ledger()
    body = json.dumps({"idempotency_key": "task-1", "amount_cents": 250}).encode()
    assert standin.answer("POST", "/charges", body, ledger, True)[0] == 500
    assert standin.answer("GET", "/health", b"", ledger, True)[0] == 500
    assert standin.answer("GET", "/charges", b"", ledger, True) == (
        200,
        {"charges": 0, "amount_cents": 0},
    )


def test_a_malformed_charge_is_400() -> None:
    ledger = standin.Ledger()
    for body in (
        b"nope",
        b"[]",
        b'{"idempotency_key": "", "amount_cents": 1}',
        b'{"idempotency_key": "k", "amount_cents": 0}',
    ):
        assert standin.answer("POST", "/charges", body, ledger, False)[0] == 400


# --- the backend's HTTP adapter against the stand-in, served here on 127.0.0.1 ---------------


taskapi = image_modules.load("taskapi.py", "taskapi")


@pytest.fixture
def provider_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setattr(standin, "MODE_FILE", tmp_path / "mode")
    server = ThreadingHTTPServer(("127.0.0.1", 0), standin.make_handler(standin.Ledger()))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_the_backend_charges_the_standin_once_per_idempotency_key(provider_url: str) -> None:
    provider = taskapi.HttpPaymentProvider(provider_url, timeout_s=2.0)
    first = provider.charge("task-1", 250)
    assert provider.charge("task-1", 250) == first  # a retried charge is the same charge
    assert provider.charge("task-2", 100) != first


def test_a_failing_standin_is_the_provider_unavailable(provider_url: str, tmp_path: Path) -> None:
    (tmp_path / "mode").write_text("errors\n")
    with pytest.raises(taskapi.PaymentProviderUnavailable, match=r"^provider answered 500$"):
        taskapi.HttpPaymentProvider(provider_url, timeout_s=2.0).charge("task-1", 250)


def test_a_provider_nobody_answers_is_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused
        with pytest.raises(taskapi.PaymentProviderUnavailable):
            taskapi.HttpPaymentProvider(f"http://127.0.0.1:{port}", 0.5).charge("task-1", 250)
