"""gameday's addition to the playbook, on the real replica: when users' requests fail at the
gateway and nowhere else, HighUserErrorRate fires and every other alert stays quiet.

The fault is a bad change to the gateway's routes (fixtures/gateway-misroute.yml): task
writes go to a port no backend listens on, so nginx answers them 502 itself. The
backends never see those requests, which is why none of the playbook's alerts can fire
and why the rule counts what the gateway answered (its access log, through mtail).
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from host_verdicts import skip_if_the_host_decided

from gameday.infra.replica import Replica
from gameday.inputs.project import load_project
from gameday.inputs.scenario import load_scenario
from gameday.stages.run import run_drill

pytestmark = pytest.mark.docker

ROOT = Path(__file__).parents[2]
SCENARIO = Path(__file__).parent / "fixtures" / "gateway-misroute.yml"


def query(replica: Replica, promql: str) -> float:
    """A query's one value (0 for no samples)."""
    answer = httpx.get(
        f"{replica.prometheus_url()}/api/v1/query", params={"query": promql}, timeout=5
    ).json()
    samples = answer["data"]["result"]
    return float(samples[0]["value"][1]) if samples else 0.0


def backend_errors(replica: Replica) -> float:
    """Every 5xx the backends have answered so far, as their own counter says."""
    return query(replica, "sum(taskapi_http_errors_total)")


def gateway_502s(replica: Replica) -> float:
    return query(replica, 'sum(gateway_http_requests_total{status="502"})')


def test_failures_only_the_gateway_sees_fire_the_users_error_rate_and_nothing_else(
    replica: Replica,
) -> None:
    scenario = load_scenario(SCENARIO, load_project(ROOT / "gameday.yml"))
    backend_before, gateway_before = backend_errors(replica), gateway_502s(replica)

    result = run_drill(replica, scenario, progress=print)
    skip_if_the_host_decided(result.verdict, result.grade.inconclusive)

    fired = sorted({span.name for span in result.alerts if span.firing_at is not None})
    assert fired == ["HighUserErrorRate"], f"fired: {fired}; {result.grade.reasons}"
    assert result.passed, result.grade.reasons
    mttd = result.measurements.alert_mttd_s["HighUserErrorRate"]
    assert mttd is not None and mttd <= scenario.detection.within_s
    # The users did see errors: a write is three requests in ten.
    assert result.measurements.error_rate > 0.05
    # The gateway answered them itself; the backends' own error counter never moved.
    assert gateway_502s(replica) > gateway_before
    assert backend_errors(replica) == backend_before
    # The route change was taken out again.
    routes = replica.container("gateway").exec_run(["sh", "-c", "ls /etc/nginx/routes.d"])
    assert routes.output.decode().strip() == ""
