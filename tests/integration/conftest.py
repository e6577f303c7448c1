"""One full replica for the whole integration session: it takes seconds to start, and every
test that uses it leaves it as it found it (drills revert their faults)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gameday.infra.replica import Replica
from gameday.inputs.project import Project


@pytest.fixture(scope="session")
def replica(bundled_project: Project) -> Iterator[Replica]:
    with Replica(bundled_project, progress=print) as running:
        yield running
