"""gameday: chaos drills and game days on a real replica of a team's stack.

The public API, for a program or a test that drives gameday itself::

    from gameday import find_project, load_all, load_project, run_gameday

    project = load_project(find_project())
    journal = run_gameday(project, load_all([project.scenarios_dir], project), progress=print)

``__all__`` lists every name of ``_EXPORTS`` (tests/unit/test_public_api.py checks both).

The names are imported when first used (PEP 562), so ``import gameday`` stays light: it
pulls in neither Docker nor testcontainers nor pydantic, and changes no environment
variable.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# Each public name and the module it lives in.
_EXPORTS = {
    "CampaignPlan": "gameday.stages.campaign",
    "DrillResult": "gameday.stages.journal",
    "Journal": "gameday.stages.journal",
    "Project": "gameday.inputs.project",
    "Replica": "gameday.infra.replica",
    "Scenario": "gameday.inputs.scenario",
    "find_project": "gameday.inputs.project",
    "load_all": "gameday.inputs.scenario",
    "load_project": "gameday.inputs.project",
    "load_scenario": "gameday.inputs.scenario",
    "publish": "gameday.stages.publish",
    "run_campaign": "gameday.stages.campaign",
    "run_drill": "gameday.stages.run",
    "run_gameday": "gameday.stages.run",
    "GamedayError": "gameday.errors",
    "InputError": "gameday.errors",
}

__all__ = [
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

if TYPE_CHECKING:
    from gameday.errors import GamedayError, InputError
    from gameday.infra.replica import Replica
    from gameday.inputs.project import Project, find_project, load_project
    from gameday.inputs.scenario import Scenario, load_all, load_scenario
    from gameday.stages.campaign import CampaignPlan, run_campaign
    from gameday.stages.journal import DrillResult, Journal
    from gameday.stages.publish import publish
    from gameday.stages.run import run_drill, run_gameday


if not TYPE_CHECKING:  # for mypy the names are the imports above, checked as such

    def __getattr__(name: str) -> Any:
        module = _EXPORTS.get(name)
        if module is None:
            raise AttributeError(f"module 'gameday' has no attribute {name!r}")
        return getattr(import_module(module), name)


def discover(discover_system: bool = True) -> dict[str, Any]:
    """`chaos discover gameday`: the Chaos Toolkit extension's activities (imported late)."""
    from gameday.adapters.chaostoolkit import discover as discover_extension

    return discover_extension(discover_system=discover_system)
