"""Actions for Chaos Toolkit experiments on a gameday replica: a scenario's faults in, its
playbook's recovery steps, and the faults out again.

The replica is the one ``gameday up`` keeps, named by the experiment's configuration
(``gameday_replica: RUN_ID``). Each action is gameday's own engine step
(``run.DrillSession``'s phases, ``faults.ledger``); a failure raises ``ActivityFailed``.
"""

from __future__ import annotations

from chaoslib.exceptions import ActivityFailed

from gameday.adapters.chaostoolkit import _drill
from gameday.errors import GamedayError
from gameday.stages.faults.ledger import revert_leftovers

__all__ = ["inject_faults", "revert_faults", "run_recovery"]


def inject_faults(scenario: str, configuration: _drill.Configuration = None) -> list[str]:
    """Inject the faults of the scenario file (each recorded in gameday's fault ledger) and
    start the drill's clock; return what was injected. Raises ``ActivityFailed``."""
    try:
        return _drill.current(scenario, configuration).inject()
    except GamedayError as exc:
        raise ActivityFailed(str(exc)) from exc


def run_recovery(scenario: str, configuration: _drill.Configuration = None) -> list[str]:
    """Respond as the scenario says: wait for its alerts (or its ``start_after_s``), then
    run the playbook's recovery steps. Return each step's outcome; raise
    ``ActivityFailed`` naming the steps that failed."""
    try:
        steps = _drill.current(scenario, configuration).respond()
    except GamedayError as exc:
        raise ActivityFailed(str(exc)) from exc
    failed = [f"{s.action} {s.target}: {s.detail}" for s in steps if not s.ok]
    if failed:
        raise ActivityFailed("recovery steps failed: " + "; ".join(failed))
    return [f"{s.action} {s.target}: {s.detail}".strip() for s in steps]


def revert_faults(configuration: _drill.Configuration = None) -> list[str]:
    """Revert the faults in effect: the running drill's, or else those that dead drills
    left on the replica (from gameday's fault ledger). Return what was reverted."""
    try:
        drill = _drill.running()
        if drill is not None:
            drill.session.revert()
            return [fault.describe() for fault in drill.session.faults]
        replica = _drill.replica_of(configuration)
        return [entry.spec.type for entry in revert_leftovers(replica)]
    except GamedayError as exc:
        raise ActivityFailed(str(exc)) from exc
