"""Monitoring settings and the playbook's objectives, as a project names them.

A drill runs its alerts on a replica tuned to answer in seconds (scrape and evaluate
every second, ``for: 2s``). What the playbook promises (MTTD under 5 minutes) is about
production, where the same rules run with other settings. The project says what those are
(``production:`` in gameday.yml, docs/alerts.md): given directly, or read from the team's
own production Prometheus configuration, Alertmanager configuration and rule files. Its
``objectives:`` are the playbook's KPIs (MTTD, MTTR, p95, error rate, availability).

Nothing here talks to a running Prometheus; :mod:`gameday.stages.detection` reads the
drill's own settings from the replica.
"""

from __future__ import annotations

import glob
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

__all__ = [
    "DEFAULT_GROUP_WAIT_S",
    "DEFAULT_INTERVAL_S",
    "MonitoringSettings",
    "ObjectivesSpec",
    "ProductionSpec",
    "parse_duration_s",
    "read_production",
]

# Prometheus' and Alertmanager's defaults, for settings a configuration leaves out.
DEFAULT_INTERVAL_S = 60.0
DEFAULT_GROUP_WAIT_S = 30.0

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
    if isinstance(text, bool):
        raise ValueError(f"not a duration: {text!r}")
    if isinstance(text, int | float):
        return float(text)
    raw = str(text).strip()
    parts = _DURATION.findall(raw)
    if not parts or "".join(n + u for n, u in parts) != raw:
        raise ValueError(f"not a duration: {raw!r}")
    return sum(float(number) * _DURATION_UNITS[unit] for number, unit in parts)


def _duration_field(value: object) -> object:
    """A YAML duration: a number of seconds or a Prometheus duration string ("1m30s")."""
    expected = "expected a duration such as 15s, 1m or 1h30m (or a number of seconds)"
    if isinstance(value, bool):
        raise ValueError(expected)
    if isinstance(value, str):
        try:
            return parse_duration_s(value, 0.0)
        except ValueError:
            raise ValueError(expected) from None
    return value


def _number(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("expected a number")
    return value


Duration = Annotated[float, BeforeValidator(_duration_field), Field(ge=0, le=31_536_000)]
PositiveDuration = Annotated[float, BeforeValidator(_duration_field), Field(gt=0, le=31_536_000)]


@dataclass(frozen=True)
class MonitoringSettings:
    """The settings that delay every detection, in seconds.

    A fault that happens just after a scrape waits up to one scrape interval to be seen
    and up to one evaluation interval to be evaluated; the rule then waits its ``for``
    (rounded up to an evaluation) to fire, and Alertmanager ``group_wait`` to notify a new
    group. :meth:`least_s` and :meth:`most_s` are what the configuration can add.
    """

    scrape_interval_s: float
    evaluation_interval_s: float
    group_wait_s: float
    for_s: dict[str, float] = field(default_factory=dict)

    def alert_for_s(self, alert: str) -> float:
        return self.for_s.get(alert, 0.0)

    def least_s(self, alert: str) -> float:
        """The configuration's least share of a notification: ``for`` and ``group_wait``."""
        return self.alert_for_s(alert) + self.group_wait_s

    def most_s(self, alert: str) -> float:
        """Its most: a scrape and an evaluation missed just before the fault, too."""
        return self.scrape_interval_s + self.evaluation_interval_s + self.least_s(alert)

    def parts(self, alert: str) -> dict[str, float]:
        return {
            "scrape": self.scrape_interval_s,
            "evaluation": self.evaluation_interval_s,
            "for": self.alert_for_s(alert),
            "group_wait": self.group_wait_s,
        }


class _Strict(BaseModel):
    # Not pydantic's strict mode: paths are read from YAML's strings. Durations and
    # numbers are checked by their own validators.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class ProductionSpec(_Strict):
    """``production:`` in gameday.yml: the team's production monitoring settings.

    Values given here win over what the files say; a setting neither gives is
    Prometheus' or Alertmanager's default.
    """

    prometheus_config: Path | None = None  # its global scrape/evaluation intervals
    alertmanager_config: Path | None = None  # its route's group_wait
    rules: list[str] = Field(default_factory=list)  # each alert's production `for`
    scrape_interval: Duration | None = None
    evaluation_interval: Duration | None = None
    group_wait: Duration | None = None
    for_: dict[Annotated[str, Field(min_length=1)], Duration] = Field(
        default_factory=dict, alias="for"
    )

    model_config = ConfigDict(
        extra="forbid", frozen=True, allow_inf_nan=False, populate_by_name=True
    )

    @field_validator("rules", mode="before")
    @classmethod
    def _one_glob_is_a_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class ObjectivesSpec(_Strict):
    """``objectives:`` in gameday.yml: the playbook's KPIs, as production means them."""

    mttd: PositiveDuration | None = None
    mttr: PositiveDuration | None = None
    p95_ms: Annotated[float, BeforeValidator(_number), Field(gt=0, le=3_600_000)] | None = None
    error_rate: Annotated[float, BeforeValidator(_number), Field(ge=0, le=1)] | None = None
    availability: Annotated[float, BeforeValidator(_number), Field(gt=0, lt=1)] | None = None
    # The period the availability objective is counted over (its error budget's).
    window: PositiveDuration = 30 * 86_400.0

    @property
    def error_budget_s(self) -> float | None:
        """How long the service may be unavailable in one window (99.9% of 30 days: 43.2 min)."""
        if self.availability is None:
            return None
        return (1.0 - self.availability) * self.window


class ProductionFileError(ValueError):
    """A production file that cannot be read; ``field`` is the production field that
    names it, the message names the file and says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def read_production(spec: ProductionSpec, root: Path) -> MonitoringSettings:
    """The production settings ``spec`` names, reading its files relative to ``root``.

    Raises ProductionFileError naming the file when one cannot be read."""
    scrape = evaluation = group_wait = None
    if spec.prometheus_config is not None:
        field = "prometheus_config"
        path = _resolve(spec.prometheus_config, root)
        config = _yaml_mapping(path, "a Prometheus configuration", field)
        settings = config.get("global") or {}
        scrape = _file_duration(settings.get("scrape_interval"), path, field)
        evaluation = _file_duration(settings.get("evaluation_interval"), path, field)
    if spec.alertmanager_config is not None:
        field = "alertmanager_config"
        path = _resolve(spec.alertmanager_config, root)
        config = _yaml_mapping(path, "an Alertmanager configuration", field)
        route = config.get("route") or {}
        group_wait = _file_duration(route.get("group_wait"), path, field)
    for_s: dict[str, float] = {}
    for pattern in spec.rules:
        matched = sorted(glob.glob(str(_resolve(Path(pattern), root))))  # noqa: PTH207
        if not matched:
            raise ProductionFileError("rules", f"expected rule files, {pattern!r} matches none")
        for file in matched:
            for alert, seconds in _rule_for(Path(file)).items():
                for_s[alert] = max(for_s.get(alert, 0.0), seconds)
    for_s.update(spec.for_)

    def pick(given: float | None, from_file: float | None, default: float) -> float:
        if given is not None:
            return given
        return from_file if from_file is not None else default

    return MonitoringSettings(
        scrape_interval_s=pick(spec.scrape_interval, scrape, DEFAULT_INTERVAL_S),
        evaluation_interval_s=pick(spec.evaluation_interval, evaluation, DEFAULT_INTERVAL_S),
        group_wait_s=pick(spec.group_wait, group_wait, DEFAULT_GROUP_WAIT_S),
        for_s=for_s,
    )


def _resolve(path: Path, root: Path) -> Path:
    return path if path.is_absolute() else root / path


def _yaml_mapping(path: Path, what: str, field: str) -> dict[str, Any]:
    if not path.is_file():
        raise ProductionFileError(field, f"expected {what}, {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ProductionFileError(field, f"expected {what}, {path} is not ({exc})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ProductionFileError(field, f"expected {what}, {path} is not a mapping")
    return data


def _file_duration(value: object, path: Path, field: str) -> float | None:
    if value is None:
        return None
    try:
        return parse_duration_s(value, 0.0)
    except ValueError as exc:
        raise ProductionFileError(field, f"{path}: {exc}") from None


def _rule_for(path: Path) -> dict[str, float]:
    data = _yaml_mapping(path, "a Prometheus rule file", "rules")
    found: dict[str, float] = {}
    try:
        for group in data.get("groups") or []:
            for rule in group.get("rules") or []:
                if "alert" in rule:
                    seconds = parse_duration_s(rule.get("for"), 0.0)
                    name = str(rule["alert"])
                    found[name] = max(found.get(name, 0.0), seconds)
    except (AttributeError, TypeError, ValueError) as exc:
        raise ProductionFileError(
            "rules", f"expected a Prometheus rule file, {path} is not ({exc})"
        ) from None
    return found
