"""Shared test set-up: the ``docker`` marker means a real engine and built images.

Tests marked ``docker`` fail (they do not skip) when no engine answers: in CI a silent
skip would hide a broken set-up. Run `make unit` (``-m "not docker"``) for the fast loop.

``bundled_project`` is the project of the bundled example (the repository's gameday.yml).
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


@pytest.fixture(scope="session")
def bundled_project() -> Project:
    return load_project(BUNDLED_PROJECT_FILE)
