"""The replica's payment queue drains by itself: a payment queued while the provider failed
is charged once the provider answers again, with no payment after it to start the
settling (the backends' retry worker), and charged once."""

from __future__ import annotations

import json

import httpx
import pytest
from fault_probes import poll, run_in

from gameday.infra.replica import Replica

pytestmark = pytest.mark.docker

STANDIN = "payment-provider-standin"
# The backends retry their queue every 5 s (taskapi.PAYMENT_RETRY_S); three tries' worth.
DRAIN_S = 15.0


def payment_status(replica: Replica, task_id: int) -> str:
    code, output = run_in(
        replica,
        "postgres",
        *("psql", "-h", "/run/postgresql", "-U", "postgres", "-d", "labelmint", "-tAXqc"),
        f"SELECT status FROM payments WHERE task_id = {task_id}",
    )
    assert code == 0, output
    return output


def charges(replica: Replica) -> int:
    """How many charges the provider's stand-in has taken."""
    code, output = run_in(replica, STANDIN, "curl", "-fsS", "http://127.0.0.1:8080/charges")
    assert code == 0, output
    return int(json.loads(output)["charges"])


def test_a_queue_no_payment_follows_is_charged_once_the_provider_is_back(
    replica: Replica,
) -> None:
    gateway = replica.endpoint("gateway").url
    task_id = httpx.post(f"{gateway}/tasks", json={"title": "paid later"}).json()["id"]
    before = charges(replica)
    code, output = run_in(replica, STANDIN, "sh", "-c", "echo errors > /tmp/payment-provider-mode")
    assert code == 0, output
    try:
        answer = httpx.post(f"{gateway}/tasks/{task_id}/pay", json={"amount_cents": 300})
    finally:
        code, output = run_in(replica, STANDIN, "rm", "-f", "/tmp/payment-provider-mode")
        assert code == 0, output
    assert answer.status_code == 202, answer.text
    assert answer.json()["status"] == "queued"
    # No payment from here on: only the retry worker can charge it.
    poll(lambda: payment_status(replica, task_id) == "paid", "the queued payment charged", DRAIN_S)
    assert charges(replica) == before + 1
