"""Steady-state probes for Chaos Toolkit experiments on a gameday replica.

Every probe returns ``True`` when the replica is as it should be and RAISES
``ActivityFailed`` when it is not, so that a steady-state hypothesis never mistakes a
failure for a value (``chaos`` reports an experiment whose probe merely returned
``False`` before the method as completed). Use them with ``"tolerance": true``.

The checks are gameday's own (``steady_state``, ``detection``); while a drill runs they use
its alert watch and load, and the first steady state after the fault is the drill's MTTR.
"""

from __future__ import annotations

from chaoslib.exceptions import ActivityFailed

from gameday.adapters.chaostoolkit import _drill
from gameday.errors import GamedayError
from gameday.stages import steady_state

__all__ = ["alert_fired_within", "no_alert_active", "services_healthy", "steady_state_holds"]


def steady_state_holds(scenario: str, configuration: _drill.Configuration = None) -> bool:
    """Wait until the scenario's steady state holds: its health endpoints answer, no alert
    is active and the drill's load fails no more than it allows.

    Before the fault it waits as ``gameday run`` does before injecting (60 s); after it,
    for what is left of the scenario's MTTR budget and grace. Raises ``ActivityFailed``
    with the problems."""
    try:
        problems = _drill.current(scenario, configuration).wait_steady()
    except GamedayError as exc:
        raise ActivityFailed(str(exc)) from exc
    if problems:
        raise ActivityFailed("steady state does not hold: " + "; ".join(problems))
    return True


def services_healthy(
    services: list[str] | None = None,
    timeout_s: float = 10.0,
    configuration: _drill.Configuration = None,
) -> bool:
    """Wait up to ``timeout_s`` for the health endpoints of ``services`` (default: every
    one the project names) to answer 200. Raises ``ActivityFailed`` when they do not."""
    try:
        replica = _drill.replica_of(configuration)
        with _drill.watching(replica) as watch:
            at, problems = steady_state.wait_for(
                replica, _drill.health_only(services), watch, None, timeout_s
            )
    except GamedayError as exc:
        raise ActivityFailed(str(exc)) from exc
    if at is None:
        raise ActivityFailed("unhealthy: " + "; ".join(problems))
    return True


def no_alert_active(configuration: _drill.Configuration = None) -> bool:
    """Raise ``ActivityFailed`` naming the alerts active in Alertmanager, if any."""
    try:
        with _drill.watching(_drill.replica_of(configuration)) as watch:
            active = watch.active()
    except GamedayError as exc:
        raise ActivityFailed(str(exc)) from exc
    if active:
        raise ActivityFailed(f"alerts active: {', '.join(sorted(active))}")
    return True


def alert_fired_within(
    alert: str, within_s: float, configuration: _drill.Configuration = None
) -> float:
    """Wait until ``alert`` has fired, at most ``within_s`` seconds after the faults were
    injected; return the seconds it took. Raises ``ActivityFailed`` when it did not fire
    in time, or when no fault was injected."""
    try:
        drill = _drill.current(None, configuration)
    except GamedayError as exc:
        raise ActivityFailed(str(exc)) from exc
    elapsed_s = drill.elapsed_s()
    if elapsed_s is None:
        raise ActivityFailed(f"{alert} is awaited after the faults are injected (inject_faults)")
    if not drill.session.watch.wait_firing({alert}, timeout_s=max(within_s - elapsed_s, 0.0)):
        raise ActivityFailed(f"{alert} did not fire within {within_s:g} s of the fault")
    return round(drill.elapsed_s() or 0.0, 2)
