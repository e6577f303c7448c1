"""Shared test set-up: the ``docker`` marker means a real engine and built images.

Tests marked ``docker`` fail (they do not skip) when no engine answers: in CI a silent
skip would hide a broken set-up. Run `make unit` (``-m "not docker"``) for the fast loop.

``bundled_project`` is the project of the bundled example (the repository's gameday.yml).

Tests that drill the session's shared replica (the ``replica`` fixture) run last: once it
is up it stays up, and on a 2-core machine an idle replica beside a test that brings up
a replica of its own saturates the CPUs, which makes that test's drills inconclusive.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gameday.inputs.project import Project, load_project

os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
os.environ.setdefault("TESTCONTAINERS_HOST_OVERRIDE", "localhost")

REPO = Path(__file__).resolve().parents[1]
BUNDLED_PROJECT_FILE = REPO / "gameday.yml"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def shares_the_replica(item: pytest.Item) -> bool:
        return "replica" in getattr(item, "fixturenames", ())

    items[:] = [i for i in items if not shares_the_replica(i)] + [
        i for i in items if shares_the_replica(i)
    ]


@pytest.fixture(scope="session")
def bundled_project() -> Project:
    return load_project(BUNDLED_PROJECT_FILE)
