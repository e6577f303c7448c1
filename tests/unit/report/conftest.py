"""Fixtures of the report's tests: a reports directory with runs written into it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from reportjournals import WriteRun


@pytest.fixture
def reports(tmp_path: Path) -> Path:
    path = tmp_path / "reports"
    path.mkdir()
    return path


@pytest.fixture
def write_run(reports: Path) -> WriteRun:
    """Write a journal as ``reports/<run id>/journal.json`` and return the run's directory."""

    def write(journal: dict[str, Any]) -> Path:
        run_dir = reports / journal["run_id"]
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "journal.json").write_text(json.dumps(journal, indent=2))
        return run_dir

    return write
