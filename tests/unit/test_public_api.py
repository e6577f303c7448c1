"""The public API is the names ``gameday`` exports: pinned here, so that a change to it is
a decision, not an accident (httpx's tests/test_exported_members.py does the same)."""

from __future__ import annotations

import os
import subprocess
import sys

import gameday

EXPECTED = [
    "CampaignPlan",
    "DrillResult",
    "GamedayError",
    "InputError",
    "Journal",
    "Project",
    "Replica",
    "Scenario",
    "__version__",
    "discover",
    "find_project",
    "load_all",
    "load_project",
    "load_scenario",
    "publish",
    "run_campaign",
    "run_drill",
    "run_gameday",
]


def test_the_exported_names_are_pinned() -> None:
    assert sorted(gameday.__all__) == sorted(EXPECTED)
    assert sorted(gameday._EXPORTS) == sorted(set(EXPECTED) - {"__version__", "discover"})


def test_every_exported_name_resolves_to_what_its_module_defines() -> None:
    from gameday.inputs.project import load_project
    from gameday.stages.run import run_gameday

    for name in gameday.__all__:
        assert getattr(gameday, name) is not None, name
    assert gameday.load_project is load_project
    assert gameday.run_gameday is run_gameday


def test_importing_gameday_is_light_and_changes_no_environment_variable() -> None:
    script = (
        "import os, sys; before = dict(os.environ); import gameday; "
        "heavy = [m for m in ('docker', 'testcontainers', 'pydantic') if m in sys.modules]; "
        "print(heavy, dict(os.environ) == before)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("TESTCONTAINERS_")}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
    )
    assert done.stdout.strip() == "[] True"
