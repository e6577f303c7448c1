"""The detection watch: which alerts went pending, fired and resolved during a drill, and when.

:class:`AlertWatch` polls Prometheus (pending alerts and their ``activeAt``) and Alertmanager
(firing alerts and their ``startsAt``) from a background thread and puts each transition of
each alert instance on the drill's timeline once. Alerts already active when the watch starts
are recorded as such and never count as detected. :class:`ConfigFloor` says how much of a
detection time the monitoring configuration accounts for. The watch only reads; it never
silences or changes an alert.

It is long because it keeps both clocks an alert has (Prometheus' and Alertmanager's)
and the monitoring configuration's share of MTTD.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import yaml

from gameday.errors import ReplicaError
from gameday.timeline import EventKind, Timeline, utcnow

__all__ = [
    "AlertObservation",
    "AlertWatch",
    "ConfigFloor",
    "DetectionReport",
    "parse_duration_s",
]

HTTP_TIMEOUT_S = 2.0
# Prometheus' and Alertmanager's defaults, for settings a configuration leaves out.
DEFAULT_INTERVAL_S = 60.0
DEFAULT_GROUP_WAIT_S = 30.0
# Alertmanager's and Prometheus' way of saying "no time" in JSON.
ZERO_TIME_PREFIX = "0001-01-01"

LabelKey = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class AlertObservation:
    """One episode of one alert instance (a name and its labels), from pending to resolved.

    ``pending_at`` is Prometheus' ``activeAt``, ``firing_at`` Alertmanager's ``startsAt``,
    ``resolved_at`` the first poll that no longer found it active in Alertmanager (so it is
    late by up to one poll). ``already_active``: it was pending or firing before the watch
    started, so it is not something the drill detected.
    """

    name: str
    labels: dict[str, str]
    pending_at: datetime | None
    firing_at: datetime | None
    resolved_at: datetime | None
    already_active: bool = False


@dataclass(frozen=True)
class ConfigFloor:
    """The monitoring settings that delay every detection.

    ``floor_s`` adds them up: a fault that happens just after a scrape waits one scrape
    interval to be seen, one evaluation interval to be evaluated, ``for`` to fire, and
    ``group_wait`` before Alertmanager notifies anyone. Alertmanager's ``startsAt`` is set
    when the rule fires, before ``group_wait``, so an observed ``firing_at`` can be as early
    as ``for`` after the fault; ``floor_s`` is the share of a notified MTTD that a faster
    system could not have removed, not a lower bound on ``firing_at``.
    """

    scrape_interval_s: float
    evaluation_interval_s: float
    for_s: dict[str, float]
    group_wait_s: float

    def floor_s(self, alert: str) -> float:
        if alert not in self.for_s:
            known = ", ".join(sorted(self.for_s)) or "none"
            raise ReplicaError(f"Prometheus has no alerting rule {alert!r} (it has: {known})")
        return (
            self.scrape_interval_s
            + self.evaluation_interval_s
            + self.for_s[alert]
            + self.group_wait_s
        )


@dataclass(frozen=True)
class DetectionReport:
    observations: tuple[AlertObservation, ...]
    floor: ConfigFloor

    def first_firing(self, name: str) -> datetime | None:
        """When ``name`` first fired after the watch started; None if it never did."""
        times = [
            o.firing_at
            for o in self.observations
            if o.name == name and o.firing_at is not None and not o.already_active
        ]
        return min(times, default=None)

    def noise(self, expected: Iterable[str], allowed: Iterable[str]) -> list[str]:
        """Alerts that fired during the watch but were neither expected nor allowed."""
        quiet = set(expected) | set(allowed)
        return sorted(
            {
                o.name
                for o in self.observations
                if o.firing_at is not None and not o.already_active and o.name not in quiet
            }
        )


@dataclass
class _Episode:
    """The watch's mutable state of one alert instance's current episode."""

    name: str
    labels: dict[str, str]
    already_active: bool
    pending_at: datetime | None = None
    firing_at: datetime | None = None
    resolved_at: datetime | None = None

    def freeze(self) -> AlertObservation:
        return AlertObservation(
            name=self.name,
            labels=dict(self.labels),
            pending_at=self.pending_at,
            firing_at=self.firing_at,
            resolved_at=self.resolved_at,
            already_active=self.already_active,
        )


@dataclass(frozen=True)
class _Seen:
    """An alert instance as one poll saw it."""

    labels: dict[str, str]
    at: datetime | None  # Prometheus' activeAt or Alertmanager's startsAt
    key: LabelKey = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", tuple(sorted(self.labels.items())))

    @property
    def name(self) -> str:
        return self.labels.get("alertname", "?")


class AlertWatch:
    """Polls Prometheus and Alertmanager until ``stop`` and keeps the timeline of alerts."""

    def __init__(
        self,
        prometheus_url: str,
        alertmanager_url: str,
        timeline: Timeline,
        *,
        poll_s: float = 0.25,
    ) -> None:
        self._prometheus = prometheus_url.rstrip("/")
        self._alertmanager = alertmanager_url.rstrip("/")
        self._timeline = timeline
        self._poll_s = poll_s
        self._http = httpx.Client(timeout=HTTP_TIMEOUT_S, trust_env=False)
        self._changed = threading.Condition()
        self._open: dict[LabelKey, _Episode] = {}
        self._closed: list[_Episode] = []
        self._active_names: set[str] = set()
        self._polls = 0
        self._failed_polls = 0
        self._last_problem = ""
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._floor: ConfigFloor | None = None
        self._report: DetectionReport | None = None

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Read the configuration and what is active now, then poll in the background.

        Raises ReplicaError when Prometheus or Alertmanager does not answer.
        """
        if self._thread is not None:
            raise RuntimeError("this alert watch was already started")
        self.config_floor()
        try:
            pending, firing = self._fetch()
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            raise ReplicaError(f"cannot watch alerts: {_describe(exc)}") from exc
        with self._changed:
            self._apply(pending, firing, baseline=True)
        if self._open:
            names = ", ".join(sorted({e.name for e in self._open.values()}))
            self._timeline.add(
                EventKind.NOTE, f"alerts active before the watch started: {names}", subject="alerts"
            )
        self._thread = threading.Thread(target=self._loop, name="gameday-alerts", daemon=True)
        self._thread.start()

    def stop(self) -> DetectionReport:
        """Stop polling and report every episode seen (open ones have no ``resolved_at``).

        Raises ReplicaError if the configuration was never read and cannot be read now.
        """
        if self._report is not None:
            return self._report
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=2 * HTTP_TIMEOUT_S + self._poll_s + 1.0)
        try:
            floor = self.config_floor()
        finally:
            self._http.close()
        with self._changed:
            episodes = [*self._closed, *self._open.values()]
            failed, polls, problem = self._failed_polls, self._polls, self._last_problem
        if failed:
            self._timeline.add(
                EventKind.NOTE,
                f"{failed} of {polls + failed} alert polls failed (last: {problem})",
                subject="alerts",
            )
        observations = sorted(
            (e.freeze() for e in episodes),
            key=lambda o: (o.firing_at or o.pending_at or o.resolved_at or utcnow(), o.name),
        )
        self._report = DetectionReport(tuple(observations), floor)
        return self._report

    # -- questions ---------------------------------------------------------------------------

    def active(self) -> set[str]:
        """Alert names active (firing, silenced or not) in Alertmanager at the last poll."""
        with self._changed:
            return set(self._active_names)

    def wait_firing(self, names: AbstractSet[str], timeout_s: float) -> bool:
        """Wait until every alert in ``names`` has fired since the watch started."""
        with self._changed:
            return self._changed.wait_for(lambda: names <= self._fired_names(), timeout_s)

    def wait_resolved(self, names: AbstractSet[str] | None, timeout_s: float) -> bool:
        """Wait until none of ``names`` (None: no alert at all) is active in Alertmanager,
        as a poll made after this call saw it."""
        with self._changed:
            asked_at = self._polls

            def resolved() -> bool:
                still = self._active_names if names is None else self._active_names & names
                return self._polls > asked_at and not still

            return self._changed.wait_for(resolved, timeout_s)

    def config_floor(self) -> ConfigFloor:
        """Scrape and evaluation intervals, each alert's ``for`` and ``group_wait``, as the
        running Prometheus and Alertmanager have them (read once, then remembered)."""
        if self._floor is None:
            try:
                self._floor = self._fetch_floor()
            except (httpx.HTTPError, ValueError, KeyError, TypeError, yaml.YAMLError) as exc:
                raise ReplicaError(
                    f"cannot read the monitoring configuration: {_describe(exc)}"
                ) from exc
        return self._floor

    # -- polling -----------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stopping.wait(self._poll_s):
            try:
                pending, firing = self._fetch()
            except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
                # A monitoring service under a fault may not answer; the next poll tries again.
                with self._changed:
                    self._failed_polls += 1
                    self._last_problem = _describe(exc)
                continue
            with self._changed:
                self._apply(pending, firing, baseline=False)

    def _fetch(self) -> tuple[list[_Seen], list[_Seen]]:
        """Prometheus' pending and firing alerts, and Alertmanager's active ones."""
        answer = self._get_json(f"{self._prometheus}/api/v1/alerts")
        in_prometheus = [
            _Seen(_labels(a["labels"]), _parse_time(a.get("activeAt")))
            for a in answer["data"]["alerts"]
            if a.get("state") in ("pending", "firing")
        ]
        now = utcnow()
        in_alertmanager = []
        for alert in self._get_json(f"{self._alertmanager}/api/v2/alerts"):
            ends_at = _parse_time(alert.get("endsAt"))
            if ends_at is not None and ends_at <= now:
                continue  # resolved, though Alertmanager still lists it
            in_alertmanager.append(_Seen(_labels(alert["labels"]), _parse_time(alert["startsAt"])))
        return in_prometheus, in_alertmanager

    def _get_json(self, url: str) -> Any:
        response = self._http.get(url)
        response.raise_for_status()
        return response.json()

    def _apply(
        self, in_prometheus: list[_Seen], in_alertmanager: list[_Seen], *, baseline: bool
    ) -> None:
        """Turn one poll into episode transitions and timeline events (lock held)."""
        now = utcnow()
        for seen in in_prometheus:
            episode = self._episode_for(seen, baseline)
            if episode.pending_at is None:
                episode.pending_at = seen.at
                if not episode.already_active:
                    self._event(EventKind.ALERT_PENDING, episode, seen.at or now)
        for seen in in_alertmanager:
            episode = self._episode_for(seen, baseline)
            if episode.firing_at is None:
                episode.firing_at = seen.at or now
                if not episode.already_active:
                    self._event(EventKind.ALERT_FIRING, episode, episode.firing_at)
        pending_keys = {s.key for s in in_prometheus}
        firing_keys = {s.key for s in in_alertmanager}
        for key, episode in list(self._open.items()):
            if episode.firing_at is not None and key not in firing_keys:
                episode.resolved_at = now
                self._event(EventKind.ALERT_RESOLVED, episode, now)
            elif episode.firing_at is None and key not in pending_keys | firing_keys:
                episode.resolved_at = now  # pending that cleared without firing: no event
            else:
                continue
            self._closed.append(self._open.pop(key))
        self._active_names = {s.name for s in in_alertmanager}
        self._polls += 1
        self._changed.notify_all()

    def _episode_for(self, seen: _Seen, baseline: bool) -> _Episode:
        episode = self._open.get(seen.key)
        if episode is None:
            episode = _Episode(seen.name, dict(seen.labels), already_active=baseline)
            self._open[seen.key] = episode
        return episode

    def _event(self, kind: EventKind, episode: _Episode, at: datetime) -> None:
        detail = ", ".join(
            f"{k}={v}" for k, v in sorted(episode.labels.items()) if k != "alertname"
        )
        if episode.already_active:
            detail += " (active before the watch started)"
        self._timeline.add(kind, detail, subject=episode.name, at=at)

    def _fired_names(self) -> set[str]:
        episodes = [*self._closed, *self._open.values()]
        return {e.name for e in episodes if e.firing_at is not None and not e.already_active}

    def _fetch_floor(self) -> ConfigFloor:
        config = yaml.safe_load(
            self._get_json(f"{self._prometheus}/api/v1/status/config")["data"]["yaml"]
        )
        settings = (config or {}).get("global") or {}
        for_s: dict[str, float] = {}
        rules = self._get_json(f"{self._prometheus}/api/v1/rules?type=alert")["data"]["groups"]
        for group in rules:
            for rule in group["rules"]:
                if rule.get("type") == "alerting":
                    name = str(rule["name"])
                    for_s[name] = max(for_s.get(name, 0.0), float(rule.get("duration", 0.0)))
        status = self._get_json(f"{self._alertmanager}/api/v2/status")
        route = (yaml.safe_load(status["config"]["original"]) or {}).get("route") or {}
        return ConfigFloor(
            scrape_interval_s=parse_duration_s(settings.get("scrape_interval"), DEFAULT_INTERVAL_S),
            evaluation_interval_s=parse_duration_s(
                settings.get("evaluation_interval"), DEFAULT_INTERVAL_S
            ),
            for_s=for_s,
            group_wait_s=parse_duration_s(route.get("group_wait"), DEFAULT_GROUP_WAIT_S),
        )


_DURATION_UNITS = {
    "ms": 0.001,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86_400.0,
    "w": 604_800.0,
    "y": 31_536_000.0,
}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)")


def parse_duration_s(text: object, default: float) -> float:
    """Seconds in a Prometheus duration such as ``1m30s`` or ``500ms``; ``default`` if unset."""
    if text is None or text == "":
        return default
    if isinstance(text, int | float):
        return float(text)
    raw = str(text).strip()
    parts = _DURATION.findall(raw)
    if not parts or "".join(n + u for n, u in parts) != raw:
        raise ValueError(f"not a duration: {raw!r}")
    return sum(float(number) * _DURATION_UNITS[unit] for number, unit in parts)


def _labels(raw: object) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise TypeError(f"alert labels are not a mapping: {raw!r}")
    return {str(k): str(v) for k, v in raw.items()}


def _parse_time(text: object) -> datetime | None:
    if not isinstance(text, str) or not text or text.startswith(ZERO_TIME_PREFIX):
        return None
    return datetime.fromisoformat(text)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, httpx.HTTPStatusError):
        return f"{exc.request.url} answered {exc.response.status_code}"
    if isinstance(exc, httpx.RequestError):
        return f"{exc.request.url} did not answer ({type(exc).__name__})"
    return f"unexpected answer ({type(exc).__name__}: {exc})"
