"""A Chaos Toolkit control that makes an experiment a graded gameday drill.

Declare it in the experiment with the scenario file it drills::

    "controls": [{"name": "gameday", "provider": {"type": "python",
        "module": "gameday.adapters.chaostoolkit.controls",
        "arguments": {"scenario": "scenarios/database-outage.yml"}}}]

Before the experiment it starts the drill (the timeline, the alert watch and the load,
after reverting what dead drills left); after it, it grades the drill as ``gameday run``
does and writes gameday's journal and report into ``reports/<run id>/`` (the
``gameday_reports`` configuration key changes the directory). Chaos Toolkit's own verdict
(completed or deviated) and gameday's grade are separate: the grade is in the journal.
"""

from __future__ import annotations

import logging
from typing import Any

from gameday.adapters.chaostoolkit import _drill

__all__ = ["after_experiment_control", "before_experiment_control", "cleanup_control"]

log = logging.getLogger("chaostoolkit")


def before_experiment_control(
    context: dict[str, Any],
    scenario: str,
    configuration: _drill.Configuration = None,
    **kwargs: Any,
) -> None:
    """Start the drill of ``scenario`` on the configured replica."""
    _drill.begin(scenario, configuration)


def after_experiment_control(
    context: dict[str, Any],
    state: dict[str, Any] | None = None,
    configuration: _drill.Configuration = None,
    **kwargs: Any,
) -> None:
    """Grade the drill and write gameday's journal and report."""
    finished = _drill.end()
    if finished is None:
        return
    result, path = finished
    verdict = {
        "passed": "PASSED",
        "failed": "FAILED: " + "; ".join(result.grade.reasons),
        "inconclusive": "INCONCLUSIVE: " + "; ".join(result.grade.inconclusive),
    }[result.verdict]
    log.info(f"gameday: {result.scenario.name} {verdict} (journal: {path})")


def cleanup_control() -> None:
    """A run that stopped before ``after`` still reverts its faults and stops its load."""
    _drill.end()
