"""The detection watch: which alerts went pending, fired and resolved during a drill, and when.

:class:`AlertWatch` polls Prometheus (pending alerts and their ``activeAt``) and Alertmanager
(firing alerts and their ``startsAt``) from a background thread and puts each transition of
each alert instance on the drill's timeline once. Alerts already active when the watch starts
are recorded as such and never count as detected. The watch also reads the replica's
monitoring settings (scrape and evaluation intervals, each rule's ``for``, ``group_wait``)
and each rule's expression, and :func:`symptom_onset` asks Prometheus when a rule's
expression first held: the moment the symptom showed in a metric. The watch only reads;
it never silences or changes an alert.

It is long because it keeps both clocks an alert has (Prometheus' and Alertmanager's)
and reads the configuration that sits between a symptom and a notification.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import yaml

from gameday.errors import ReplicaError
from gameday.inputs.monitoring import (
    DEFAULT_GROUP_WAIT_S,
    DEFAULT_INTERVAL_S,
    MonitoringSettings,
    parse_duration_s,
)
from gameday.record import AlertSpan
from gameday.timeline import EventKind, Timeline, utcnow

__all__ = [
    "AlertObservation",
    "AlertWatch",
    "DetectionReport",
    "parse_duration_s",
    "symptom_onset",
]

HTTP_TIMEOUT_S = 2.0
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
class DetectionReport:
    observations: tuple[AlertObservation, ...]
    settings: MonitoringSettings  # the drill's own: the replica's Prometheus and Alertmanager
    queries: dict[str, tuple[str, ...]] = field(default_factory=dict)  # alert -> its rules' exprs

    def first_episode(self, name: str) -> AlertObservation | None:
        """The episode of ``name`` that fired first after the watch started."""
        fired = [
            o
            for o in self.observations
            if o.name == name and o.firing_at is not None and not o.already_active
        ]
        return min(fired, key=lambda o: o.firing_at or utcnow(), default=None)

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
        self._settings: tuple[MonitoringSettings, dict[str, tuple[str, ...]]] | None = None
        self._report: DetectionReport | None = None

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Read the configuration and what is active now, then poll in the background.

        Raises ReplicaError when Prometheus or Alertmanager does not answer.
        """
        if self._thread is not None:
            raise RuntimeError("this alert watch was already started")
        self.settings()
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
            settings = self.settings()
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
        assert self._settings is not None
        self._report = DetectionReport(tuple(observations), settings, self._settings[1])
        return self._report

    # -- questions ---------------------------------------------------------------------------

    def active(self) -> set[str]:
        """Alert names active (firing, silenced or not) in Alertmanager at the last poll."""
        with self._changed:
            return set(self._active_names)

    def episodes(self) -> tuple[AlertObservation, ...]:
        """Every episode seen so far, pending, firing or resolved (for a live display)."""
        with self._changed:
            return tuple(e.freeze() for e in [*self._closed, *self._open.values()])

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

    def settings(self) -> MonitoringSettings:
        """Scrape and evaluation intervals, each alert's ``for`` and ``group_wait``, as the
        running Prometheus and Alertmanager have them (read once, then remembered)."""
        if self._settings is None:
            try:
                self._settings = self._fetch_settings()
            except (httpx.HTTPError, ValueError, KeyError, TypeError, yaml.YAMLError) as exc:
                raise ReplicaError(
                    f"cannot read the monitoring configuration: {_describe(exc)}"
                ) from exc
        return self._settings[0]

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

    def _fetch_settings(self) -> tuple[MonitoringSettings, dict[str, tuple[str, ...]]]:
        config = yaml.safe_load(
            self._get_json(f"{self._prometheus}/api/v1/status/config")["data"]["yaml"]
        )
        settings = (config or {}).get("global") or {}
        for_s: dict[str, float] = {}
        queries: dict[str, tuple[str, ...]] = {}
        rules = self._get_json(f"{self._prometheus}/api/v1/rules?type=alert")["data"]["groups"]
        for group in rules:
            for rule in group["rules"]:
                if rule.get("type") == "alerting":
                    name = str(rule["name"])
                    for_s[name] = max(for_s.get(name, 0.0), float(rule.get("duration", 0.0)))
                    queries[name] = (*queries.get(name, ()), str(rule.get("query", "")))
        status = self._get_json(f"{self._alertmanager}/api/v2/status")
        route = (yaml.safe_load(status["config"]["original"]) or {}).get("route") or {}
        found = MonitoringSettings(
            scrape_interval_s=parse_duration_s(settings.get("scrape_interval"), DEFAULT_INTERVAL_S),
            evaluation_interval_s=parse_duration_s(
                settings.get("evaluation_interval"), DEFAULT_INTERVAL_S
            ),
            group_wait_s=parse_duration_s(route.get("group_wait"), DEFAULT_GROUP_WAIT_S),
            for_s=for_s,
        )
        return found, queries


# A range query this fine finds a sample's time to within a quarter of a second; Prometheus
# answers at most 11,000 points, so a longer span gets a coarser step.
ONSET_STEP_S = 0.25
MAX_POINTS = 10_000


def symptom_onset(
    prometheus_url: str,
    queries: Iterable[str],
    labels: dict[str, str],
    since: datetime,
    until: datetime,
) -> datetime | None:
    """When one of an alert's expressions first held for the alert instance ``labels``
    between ``since`` and ``until``: the first sample that showed the symptom (to within
    the query's step). None when Prometheus cannot tell (the query fails, or the
    expression never held in the span, as with a rule that reads a rate over a window).
    """
    span_s = (until - since).total_seconds()
    if span_s <= 0:
        return None
    step = max(ONSET_STEP_S, span_s / MAX_POINTS)
    wanted = {k: v for k, v in labels.items() if k != "alertname"}
    first: datetime | None = None
    with httpx.Client(timeout=HTTP_TIMEOUT_S * 2, trust_env=False) as http:
        for query in queries:
            if not query:
                continue
            try:
                response = http.get(
                    f"{prometheus_url.rstrip('/')}/api/v1/query_range",
                    params={
                        "query": query,
                        "start": f"{since.timestamp():.3f}",
                        "end": f"{until.timestamp():.3f}",
                        "step": f"{step:g}",
                    },
                )
                response.raise_for_status()
                series = response.json()["data"]["result"]
            except (httpx.HTTPError, ValueError, KeyError, TypeError):
                continue
            for one in series:
                metric = {k: str(v) for k, v in (one.get("metric") or {}).items()}
                # The alert's labels are the series' labels and the rule's own.
                if any(wanted.get(k) != v for k, v in metric.items() if k != "__name__"):
                    continue
                for point in one.get("values") or []:
                    at = datetime.fromtimestamp(float(point[0]), tz=since.tzinfo)
                    if first is None or at < first:
                        first = at
                    break
    return first


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


def alert_spans(observations: Iterable[AlertObservation]) -> tuple[AlertSpan, ...]:
    """The watch's episodes as the journal records them."""
    return tuple(
        AlertSpan(
            name=o.name,
            labels=o.labels,
            pending_at=o.pending_at,
            firing_at=o.firing_at,
            resolved_at=o.resolved_at,
            already_active=o.already_active,
        )
        for o in observations
    )
