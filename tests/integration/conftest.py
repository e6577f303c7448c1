"""One full replica for the whole integration session: it takes seconds to start, and every
test that uses it leaves it as it found it (drills revert their faults). A test that does
not is failed at its teardown, so that the blame lands on it and not on the next test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gameday.infra.replica import Replica
from gameday.inputs.project import Project
from gameday.stages.steady_state import health_problems
from gameday.waiting import poll

# How long a test's own tail (a database still reconnecting, the gateway still counting a
# backend as failed) may take to settle before the replica counts as left broken.
SETTLE_S = 60.0


@pytest.fixture(scope="session")
def replica(bundled_project: Project) -> Iterator[Replica]:
    with Replica(bundled_project, progress=print) as running:
        yield running


@pytest.fixture(autouse=True)
def leaves_the_replica_healthy(request: pytest.FixtureRequest) -> Iterator[None]:
    """After each test on the shared replica: every health endpoint answers again, the
    gateway's included (nginx answers it through a backend, so a gateway that still counts
    both backends as failed is caught too)."""
    yield
    if "replica" not in request.fixturenames:
        return
    replica: Replica = request.getfixturevalue("replica")
    settled = poll(
        lambda: health_problems(replica),
        lambda problems: problems == [],
        timeout_s=SETTLE_S,
        interval_s=0.5,
    )
    assert settled.ok, f"the test left the shared replica unhealthy: {settled.last}"
