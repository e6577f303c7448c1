"""Drills on a Kubernetes namespace: Chaos Toolkit experiments that use
chaostoolkit-kubernetes, a guard that refuses every namespace not explicitly allowed, and a
dry run that shows what an experiment would do.

The experiments (``experiments/kubernetes/*.json``) are generated from :data:`DRILLS` and
name their target through configuration (``GAMEDAY_K8S_NAMESPACE``, ``..._DEPLOYMENT``,
``..._SELECTOR``, ``..._REPLICAS``). Each declares this module as a control: before the
experiment and before EVERY activity (rollbacks included) the namespace the activity would
touch must be in ``GAMEDAY_K8S_ALLOWED_NAMESPACES``; otherwise the run is interrupted before
anything reaches the cluster. kube-system, kube-public, kube-node-lease and default are
refused unless listed by name. What has and has not been run against a cluster is in
docs/kubernetes.md.
"""

from __future__ import annotations

import importlib
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gameday.adapters.chaostoolkit.generate import GeneratedExperiment, render
from gameday.errors import EnvironmentProblem, InputError, NamespaceRefused

__all__ = [
    "ALLOWED_ENV",
    "DRILLS",
    "PROTECTED_NAMESPACES",
    "K8sDrill",
    "NamespaceRefused",
    "after_activity_control",
    "allowed_namespaces",
    "before_activity_control",
    "before_experiment_control",
    "check_namespace",
    "experiment_for",
    "generate",
    "plan",
    "require_chaos_extra",
]

ALLOWED_ENV = "GAMEDAY_K8S_ALLOWED_NAMESPACES"
# Refused unless named in the allow-list itself: where a mistake takes a cluster down.
PROTECTED_NAMESPACES = frozenset({"kube-system", "kube-public", "kube-node-lease", "default"})
# chaostoolkit-kubernetes's own default namespace, used when an activity names none.
CHAOSK8S_DEFAULT_NS = "default"
DEFAULT_EXPERIMENTS = Path("experiments") / "kubernetes"
_NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")  # an RFC 1123 label
# What the [chaos] extra installs, as the modules these drills import: chaostoolkit-lib
# (the dry run substitutes configuration with it) and chaostoolkit-kubernetes.
CHAOS_MODULES = ("chaoslib", "chaosk8s")


def allowed_namespaces(environ: Mapping[str, str] | None = None) -> frozenset[str]:
    """The namespaces in ``GAMEDAY_K8S_ALLOWED_NAMESPACES`` (comma or space separated)."""
    raw = (os.environ if environ is None else environ).get(ALLOWED_ENV, "")
    return frozenset(name for name in re.split(r"[\s,]+", raw) if name)


def check_namespace(namespace: object, allowed: Iterable[str] | None = None) -> str:
    """Return ``namespace`` if a drill may touch it; raise :class:`NamespaceRefused` if not.

    ``allowed`` defaults to ``GAMEDAY_K8S_ALLOWED_NAMESPACES``. There are no wildcards: a
    namespace is allowed only by its own name, protected namespaces included."""
    names = allowed_namespaces() if allowed is None else frozenset(allowed)
    if not isinstance(namespace, str) or not namespace:
        raise NamespaceRefused(
            "no namespace given: set GAMEDAY_K8S_NAMESPACE (or `--var "
            "gameday_k8s_namespace=NAME`) to a namespace listed in " + ALLOWED_ENV
        )
    if not _NAMESPACE.match(namespace):
        raise NamespaceRefused(f"{namespace!r} is not a Kubernetes namespace name")
    if namespace not in names:
        listed = ", ".join(sorted(names)) or "none"
        why = " (a protected namespace)" if namespace in PROTECTED_NAMESPACES else ""
        raise NamespaceRefused(
            f"namespace {namespace}{why} is not allowed: {ALLOWED_ENV} lists {listed}"
        )
    return namespace


# -- the drills -----------------------------------------------------------------------------


@dataclass(frozen=True)
class K8sDrill:
    """One experiment: what breaks, how the system must come back, what undoes it."""

    name: str
    title: str
    description: str
    method: tuple[dict[str, Any], ...]
    rollbacks: tuple[dict[str, Any], ...] = ()


def _k8s(kind: str, label: str, module: str, func: str, /, **arguments: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "name": label,
        "provider": {
            "type": "python",
            "module": f"chaosk8s.{module}",
            "func": func,
            "arguments": {**arguments, "ns": "${gameday_k8s_namespace}"},
        },
    }


_DEPLOYMENT = "${gameday_k8s_deployment}"
_RECOVERED = _k8s(
    "probe",
    "deployment-recovers",
    "deployment.probes",
    "deployment_fully_available",
    name=_DEPLOYMENT,
    timeout="${gameday_k8s_recover_s}",
)

DRILLS: tuple[K8sDrill, ...] = (
    K8sDrill(
        "pod-termination",
        "A backend pod is terminated",
        "One pod of the deployment is deleted at random (a crashed instance, the playbook's "
        "Service Down). The deployment must be fully available again within the budget.",
        (
            _k8s(
                "action",
                "terminate-one-pod",
                "pod.actions",
                "terminate_pods",
                label_selector="${gameday_k8s_selector}",
                qty=1,
                rand=True,
            ),
            _RECOVERED,
        ),
    ),
    K8sDrill(
        "rollout-restart",
        "The deployment is restarted by a rollout",
        "Every pod is replaced by a rolling restart (kubectl rollout restart), as a deploy "
        "does. The deployment must stay serving and be fully available within the budget.",
        (
            _k8s(
                "action",
                "rollout-restart",
                "deployment.actions",
                "rollout_deployment",
                name=_DEPLOYMENT,
            ),
            _RECOVERED,
        ),
    ),
    K8sDrill(
        "scale-down",
        "The deployment loses all but one replica",
        "The deployment is scaled to one replica (lost capacity), then back to its size; the "
        "rollback scales it back if the run stops half-way.",
        (
            _k8s(
                "action",
                "scale-to-one",
                "deployment.actions",
                "scale_deployment",
                name=_DEPLOYMENT,
                replicas=1,
            ),
            _k8s(
                "action",
                "scale-back",
                "deployment.actions",
                "scale_deployment",
                name=_DEPLOYMENT,
                replicas="${gameday_k8s_replicas}",
            ),
            _RECOVERED,
        ),
        (
            _k8s(
                "action",
                "scale-back",
                "deployment.actions",
                "scale_deployment",
                name=_DEPLOYMENT,
                replicas="${gameday_k8s_replicas}",
            ),
        ),
    ),
)


def _env(key: str, default: Any, kind: str | None = None) -> dict[str, Any]:
    value: dict[str, Any] = {"type": "env", "key": key, "default": default}
    if kind:
        value["env_var_type"] = kind
    return value


def experiment_for(drill: K8sDrill) -> dict[str, Any]:
    hypothesis = _k8s(
        "probe",
        "deployment-available-and-healthy",
        "deployment.probes",
        "deployment_available_and_healthy",
        name=_DEPLOYMENT,
    )
    # The probe raises when the deployment is unhealthy (raise_on_unavailable defaults to
    # True), so a broken deployment before the method fails the hypothesis.
    hypothesis["tolerance"] = True
    return {
        "version": "1.0.0",
        "title": drill.title,
        "description": drill.description
        + " Generated by gameday.adapters.kubernetes.generate: edit DRILLS, not this file.",
        "tags": ["gameday", "kubernetes", drill.name],
        "configuration": {
            "gameday_k8s_namespace": _env("GAMEDAY_K8S_NAMESPACE", ""),
            "gameday_k8s_deployment": _env("GAMEDAY_K8S_DEPLOYMENT", "backend"),
            "gameday_k8s_selector": _env("GAMEDAY_K8S_SELECTOR", "app=backend"),
            "gameday_k8s_replicas": _env("GAMEDAY_K8S_REPLICAS", 2, "int"),
            "gameday_k8s_recover_s": _env("GAMEDAY_K8S_RECOVER_S", 120, "int"),
        },
        "controls": [
            {
                "name": "gameday-namespace-guard",
                "provider": {"type": "python", "module": "gameday.adapters.kubernetes"},
            }
        ],
        "steady-state-hypothesis": {
            "title": "The deployment is available and healthy",
            "probes": [hypothesis],
        },
        "method": list(drill.method),
        "rollbacks": list(drill.rollbacks),
    }


def generate(out_dir: Path = DEFAULT_EXPERIMENTS) -> list[GeneratedExperiment]:
    """Each drill's experiment file and its text (``chaostoolkit.generate.write`` and
    ``stale`` take them, as they take the scenarios' experiments)."""
    return [
        GeneratedExperiment(out_dir / f"{drill.name}.json", render(experiment_for(drill)))
        for drill in DRILLS
    ]


# -- the guard, as a Chaos Toolkit control -------------------------------------------------


def _activities(experiment: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    hypothesis = experiment.get("steady-state-hypothesis") or {}
    return [
        *(hypothesis.get("probes") or []),
        *(experiment.get("method") or []),
        *(experiment.get("rollbacks") or []),
    ]


def _target_namespace(
    activity: Mapping[str, Any], configuration: Mapping[str, Any] | None
) -> str | None:
    """The namespace a chaosk8s activity would touch (None for any other activity)."""
    provider = activity.get("provider") or {}
    if not str(provider.get("module", "")).startswith("chaosk8s"):
        return None
    from chaoslib import substitute

    arguments = substitute(provider.get("arguments") or {}, dict(configuration or {}), {})
    namespace = arguments.get("ns", CHAOSK8S_DEFAULT_NS)
    return namespace if isinstance(namespace, str) else repr(namespace)


def _interrupt(exc: NamespaceRefused, what: str) -> Exception:
    from chaoslib.exceptions import InterruptExecution

    return InterruptExecution(f"gameday refuses {what}: {exc}")  # type: ignore[no-any-return]


def before_experiment_control(
    context: Mapping[str, Any], configuration: Mapping[str, Any] | None = None, **kwargs: Any
) -> None:
    """Interrupt the run before it starts if any activity would touch a refused namespace."""
    for activity in _activities(context):
        try:
            namespace = _target_namespace(activity, configuration)
            if namespace is not None:
                check_namespace(namespace)
        except NamespaceRefused as exc:
            raise _interrupt(exc, f"the experiment {context.get('title', '')!r}") from exc


def before_activity_control(
    context: Mapping[str, Any], configuration: Mapping[str, Any] | None = None, **kwargs: Any
) -> None:
    """Check each activity again just before it runs (rollbacks too)."""
    try:
        namespace = _target_namespace(context, configuration)
        if namespace is not None:
            check_namespace(namespace)
    except NamespaceRefused as exc:
        raise _interrupt(exc, f"the activity {context.get('name', '')!r}") from exc


def after_activity_control(context: Mapping[str, Any], **kwargs: Any) -> None:
    """Nothing to do after an activity; declared so that the control's levels are explicit."""


# -- the dry run ---------------------------------------------------------------------------


def require_chaos_extra() -> None:
    """Raise EnvironmentProblem (exit 3) with the command that fixes it if the [chaos]
    extra is not installed: an optional extra, so its absence is the machine's, not a bug."""
    for module in CHAOS_MODULES:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise EnvironmentProblem(
                f"the Kubernetes drills need the [chaos] extra, and {module} cannot be "
                f"imported ({exc}): pip install 'gameday[chaos]'"
            ) from exc


def plan(
    namespace: str,
    experiments: Iterable[Path] | None = None,
    *,
    allowed: Iterable[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> str:
    """What the experiments would do to ``namespace``, in words; nothing is sent anywhere.

    Raises :class:`NamespaceRefused` when the guard would refuse the namespace (or any
    activity's namespace) so that a plan never shows a run that could not happen, and
    EnvironmentProblem without the [chaos] extra."""
    require_chaos_extra()
    from chaoslib import substitute
    from chaoslib.configuration import load_configuration

    names = allowed_namespaces() if allowed is None else frozenset(allowed)
    check_namespace(namespace, names)
    paths = (
        sorted(experiments)
        if experiments is not None
        else sorted(DEFAULT_EXPERIMENTS.glob("*.json"))
    )
    if not paths:
        raise InputError(f"no Kubernetes experiments in {DEFAULT_EXPERIMENTS}")
    lines = [f"namespace {namespace}: allowed ({ALLOWED_ENV}={','.join(sorted(names))})"]
    for path in paths:
        try:
            experiment = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise InputError(f"{path}: cannot read the experiment ({exc})") from exc
        extra = {"gameday_k8s_namespace": namespace, **(overrides or {})}
        configuration = load_configuration(experiment.get("configuration") or {}, extra)
        lines.append(f"\n{path}: {experiment.get('title', '')}")
        sections = (
            ("steady state", (experiment.get("steady-state-hypothesis") or {}).get("probes")),
            ("method", experiment.get("method")),
            ("rollbacks", experiment.get("rollbacks")),
        )
        for title, activities in sections:
            lines.append(f"  {title}:")
            for i, activity in enumerate(activities or [], start=1):
                target = _target_namespace(activity, configuration)
                if target is not None:
                    check_namespace(target, names)
                provider = activity.get("provider") or {}
                arguments = substitute(provider.get("arguments") or {}, configuration, {})
                shown = ", ".join(f"{k}={v!r}" for k, v in arguments.items())
                call = f"{provider.get('module')}.{provider.get('func')}({shown})"
                lines.append(f"    {i}. {activity.get('type')} {activity.get('name')}: {call}")
            if not activities:
                lines.append("    (none)")
    lines.append("\ndry run: nothing was sent to a cluster")
    return "\n".join(lines)
