"""One full replica for the whole integration session: it takes seconds to start, and every
test that uses it leaves it as it found it (drills revert their faults)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gameday.replica import Replica


@pytest.fixture(scope="session")
def replica() -> Iterator[Replica]:
    with Replica(progress=print) as running:
        yield running
