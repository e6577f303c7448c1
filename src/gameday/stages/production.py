"""What a drill's measurements mean in production.

A replica scrapes, evaluates and notifies in seconds; production does not. Each expected
alert's detection is split here, on the alerting system's own clocks, into the system's
part (fault to the first sample that showed the symptom) and the monitoring
configuration's part (evaluation, ``for``, ``group_wait``). The system's part is what the
replica measures of production; the configuration's part is then taken from production's
settings (:class:`~gameday.inputs.monitoring.MonitoringSettings`) to project the time to a
notification there, as a range: the least and the most those settings can add.

The projected MTTR replaces the drill's detection with production's, and the error
budget says how much of the availability objective the incident burned, as measured and
as projected. docs/alerts.md explains each figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from gameday.inputs.monitoring import MonitoringSettings, ObjectivesSpec
from gameday.record import AlertTiming, ErrorBudget, LoadPoint
from gameday.stages.detection import AlertObservation

__all__ = ["alert_timing", "error_budget", "production_mttr", "unavailable_s"]


def _since(origin: datetime, at: datetime | None) -> float | None:
    if at is None:
        return None
    return max((at - origin).total_seconds(), 0.0)


def alert_timing(
    alert: str,
    injected_at: datetime,
    episode: AlertObservation | None,
    symptom_at: datetime | None,
    drill: MonitoringSettings,
    production: MonitoringSettings | None,
) -> AlertTiming:
    """The parts of ``alert``'s detection, and its projected notification in production.

    ``episode`` is the alert's first firing after the fault (None if it never fired),
    ``symptom_at`` when its expression first held (None if Prometheus could not tell).
    """
    pending_s = _since(injected_at, episode.pending_at) if episode else None
    firing_s = _since(injected_at, episode.firing_at) if episode else None
    symptom_s = _since(injected_at, symptom_at)
    if symptom_s is not None and pending_s is not None:
        symptom_s = min(symptom_s, pending_s)  # the step of the query, not a later sample
    notify_s = firing_s + drill.group_wait_s if firing_s is not None else None
    least = most = None
    if production is not None:
        system = _system_part(symptom_s, pending_s, drill)
        if system is not None:
            least = system[0] + production.least_s(alert)
            most = system[1] + production.most_s(alert)
    return AlertTiming(
        alert=alert,
        symptom_s=_round(symptom_s),
        pending_s=_round(pending_s),
        firing_s=_round(firing_s),
        notify_s=_round(notify_s),
        drill=drill.parts(alert),
        config_least_s=drill.least_s(alert),
        config_most_s=drill.most_s(alert),
        production=production.parts(alert) if production else {},
        production_least_s=_round(least),
        production_most_s=_round(most),
    )


def _system_part(
    symptom_s: float | None, pending_s: float | None, drill: MonitoringSettings
) -> tuple[float, float] | None:
    """The least and most of the fault-to-symptom time that belongs to the system.

    A first sample showing the symptom at ``symptom_s`` may have waited up to one of the
    drill's scrapes; without it, the rule going pending may also have waited an
    evaluation. Production adds its own scrape and evaluation on top (``most_s``)."""
    if symptom_s is not None:
        return max(symptom_s - drill.scrape_interval_s, 0.0), symptom_s
    if pending_s is not None:
        waited = drill.scrape_interval_s + drill.evaluation_interval_s
        return max(pending_s - waited, 0.0), pending_s
    return None


def production_mttr(
    mttr_s: float | None, timings: Sequence[AlertTiming]
) -> tuple[float, float] | None:
    """The drill's MTTR with production's detection in place of the drill's: the drill's
    response started when the last expected alert fired, production's when it notifies.
    It leaves out the time people take to act on a page, which a drill with an automatic
    responder does not measure (a human drill's MTTR has it already)."""
    if mttr_s is None or not timings:
        return None
    fired = [t.firing_s for t in timings]
    least = [t.production_least_s for t in timings]
    most = [t.production_most_s for t in timings]
    if any(v is None for v in [*fired, *least, *most]):
        return None
    detected = max(v for v in fired if v is not None)
    after_detection = max(mttr_s - detected, 0.0)
    return (
        round(after_detection + max(v for v in least if v is not None), 2),
        round(after_detection + max(v for v in most if v is not None), 2),
    )


def unavailable_s(
    points: Sequence[LoadPoint], max_error_rate: float, start: datetime | None = None
) -> float:
    """Seconds of the load's series (one-second buckets, from ``start``) in which users
    saw more errors than the steady state allows."""
    bad = 0.0
    for point in points:
        if start is not None and point.start < start:
            continue
        rate = point.error_rate
        if rate is not None and rate > max_error_rate:
            bad += 1.0
    return bad


def error_budget(
    objectives: ObjectivesSpec | None,
    burned_s: float | None,
    mttr_s: float | None,
    projected_mttr_s: tuple[float, float] | None,
) -> ErrorBudget | None:
    """The incident against the availability objective's budget; None without one.

    The projection assumes users suffer in production for the same share of the incident
    as in the drill, for production's (projected) MTTR."""
    if objectives is None or objectives.error_budget_s is None:
        return None
    least = most = None
    if burned_s is not None and mttr_s and projected_mttr_s is not None:
        share = min(burned_s / mttr_s, 1.0)
        least, most = share * projected_mttr_s[0], share * projected_mttr_s[1]
    return ErrorBudget(
        objective=objectives.availability,
        window_s=objectives.window,
        budget_s=round(objectives.error_budget_s, 2),
        burned_s=burned_s,
        projected_least_s=_round(least),
        projected_most_s=_round(most),
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
