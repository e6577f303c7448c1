"""The Kubernetes target without a cluster: the namespace guard, the dry run, the generated
experiments (committed, accepted by ``chaos validate``, calling chaostoolkit-kubernetes
functions that exist with arguments they take), and a real ``chaos run`` that the guard
interrupts before anything could reach a cluster."""

from __future__ import annotations

import importlib
import inspect
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from chaoslib.exceptions import InterruptExecution

from gameday.adapters import kubernetes
from gameday.adapters.chaostoolkit.generate import stale
from gameday.adapters.kubernetes import NamespaceRefused, check_namespace, plan
from gameday.errors import EnvironmentProblem

REPO = Path(__file__).resolve().parents[2]
EXPERIMENTS = REPO / "experiments" / "kubernetes"
CHAOS = Path(sys.executable).parent / "chaos"


def committed() -> list[Path]:
    return sorted(EXPERIMENTS.glob("*.json"))


# -- the guard -------------------------------------------------------------------------------


def test_a_listed_namespace_is_allowed() -> None:
    assert check_namespace("shop-staging", ["shop-staging", "other"]) == "shop-staging"


@pytest.mark.parametrize("namespace", ["shop-prod", "shop", "shop-staging-2"])
def test_an_unlisted_namespace_is_refused(namespace: str) -> None:
    with pytest.raises(NamespaceRefused, match=f"namespace {namespace} is not allowed"):
        check_namespace(namespace, ["shop-staging"])


@pytest.mark.parametrize("namespace", sorted(kubernetes.PROTECTED_NAMESPACES))
def test_protected_namespaces_are_refused_unless_listed_by_name(namespace: str) -> None:
    with pytest.raises(NamespaceRefused, match="a protected namespace"):
        check_namespace(namespace, ["shop-staging"])
    assert check_namespace(namespace, [namespace]) == namespace


@pytest.mark.parametrize("namespace", ["", None, "*", "Shop", "a/b", "-x", "x" * 64, 3])
def test_what_is_not_a_namespace_name_is_refused(namespace: object) -> None:
    with pytest.raises(NamespaceRefused):
        check_namespace(namespace, ["*", "Shop", "a/b", "-x", "x" * 64])


def test_the_allow_list_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(kubernetes.ALLOWED_ENV, " shop-staging, drills  team-a ")
    assert kubernetes.allowed_namespaces() == {"shop-staging", "drills", "team-a"}
    assert check_namespace("drills") == "drills"
    monkeypatch.delenv(kubernetes.ALLOWED_ENV)
    with pytest.raises(NamespaceRefused, match="lists none"):
        check_namespace("drills")


# -- the control -------------------------------------------------------------------------------


def k8s_activity(**arguments: Any) -> dict[str, Any]:
    return {
        "type": "action",
        "name": "kill",
        "provider": {
            "type": "python",
            "module": "chaosk8s.pod.actions",
            "func": "terminate_pods",
            "arguments": arguments,
        },
    }


def test_the_control_refuses_each_activity_in_a_refused_namespace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(kubernetes.ALLOWED_ENV, "shop-staging")
    config = {"gameday_k8s_namespace": "shop-staging"}
    kubernetes.before_activity_control(k8s_activity(ns="${gameday_k8s_namespace}"), config)
    with pytest.raises(InterruptExecution, match="namespace shop-prod is not allowed"):
        kubernetes.before_activity_control(k8s_activity(ns="shop-prod"), config)
    # No ns: chaostoolkit-kubernetes would use "default".
    with pytest.raises(InterruptExecution, match=r"default \(a protected namespace\)"):
        kubernetes.before_activity_control(k8s_activity(), config)
    other = {"type": "probe", "name": "x", "provider": {"type": "http", "url": "x"}}
    kubernetes.before_activity_control(other, config)


def test_the_control_refuses_the_experiment_before_it_starts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(kubernetes.ALLOWED_ENV, "shop-staging")
    experiment = json.loads((EXPERIMENTS / "scale-down.json").read_text())
    kubernetes.before_experiment_control(experiment, {"gameday_k8s_namespace": "shop-staging"})
    with pytest.raises(InterruptExecution, match="kube-system"):
        kubernetes.before_experiment_control(experiment, {"gameday_k8s_namespace": "kube-system"})


# -- the experiments -------------------------------------------------------------------------


def test_committed_experiments_are_what_the_drills_generate() -> None:
    generated = kubernetes.generate(EXPERIMENTS)
    assert sorted(e.path for e in generated) == committed()
    assert stale(generated) == [], "regenerate them (gameday.adapters.kubernetes.generate)"


def chaosk8s_activities() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in committed():
        experiment = json.loads(path.read_text())
        for activity in kubernetes._activities(experiment):
            found.append((f"{path.stem}:{activity['name']}", activity["provider"]))
    return found


@pytest.mark.parametrize(("where", "provider"), chaosk8s_activities(), ids=lambda x: str(x)[:40])
def test_activities_call_real_chaosk8s_functions_with_their_arguments(
    where: str, provider: dict[str, Any]
) -> None:
    module = importlib.import_module(provider["module"])
    assert provider["func"] in module.__all__, f"{where}: not exported by {module.__name__}"
    parameters = inspect.signature(getattr(module, provider["func"])).parameters
    assert set(provider["arguments"]) <= set(parameters), where
    assert provider["arguments"]["ns"] == "${gameday_k8s_namespace}", where


def test_hypothesis_probes_raise_on_failure() -> None:
    for path in committed():
        experiment = json.loads(path.read_text())
        for probe in experiment["steady-state-hypothesis"]["probes"]:
            module = importlib.import_module(probe["provider"]["module"])
            parameters = inspect.signature(getattr(module, probe["provider"]["func"])).parameters
            assert parameters["raise_on_unavailable"].default is True
            assert "raise_on_unavailable" not in probe["provider"]["arguments"]


def no_cluster_env(**extra: str) -> dict[str, str]:
    # Nowhere for chaosk8s to go should the guard ever let an activity through.
    return {
        **os.environ,
        "KUBECONFIG": "/nonexistent/kubeconfig",
        "KUBERNETES_HOST": "http://127.0.0.1:9",
        **extra,
    }


def chaos(*args: str, env: dict[str, str], cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CHAOS), "--no-version-check", "--log-file", os.devnull, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("path", committed(), ids=lambda p: p.stem)
def test_chaos_validate_accepts_the_experiment(path: Path) -> None:
    done = chaos("validate", str(path), env=no_cluster_env())
    assert done.returncode == 0, done.stdout + done.stderr


def test_chaos_run_is_interrupted_by_the_guard_before_any_activity(tmp_path: Path) -> None:
    journal = tmp_path / "journal.json"
    env = no_cluster_env(GAMEDAY_K8S_NAMESPACE="kube-system", GAMEDAY_K8S_ALLOWED_NAMESPACES="")
    chaos(
        "run",
        "--journal-path",
        str(journal),
        str(EXPERIMENTS / "scale-down.json"),
        env=env,
        cwd=tmp_path,
    )
    record = json.loads(journal.read_text())
    assert record["status"] == "interrupted"
    assert record["run"] == []
    assert record["rollbacks"] == []
    assert not (record["steady_states"] or {}).get("before")


# -- the dry run -------------------------------------------------------------------------------


def test_plan_shows_every_call_with_the_namespace_and_sends_nothing() -> None:
    text = plan("shop-staging", committed(), allowed=["shop-staging"])
    assert text.startswith("namespace shop-staging: allowed")
    assert text.endswith("dry run: nothing was sent to a cluster")
    calls = [line for line in text.splitlines() if "chaosk8s." in line]
    assert len(calls) == len(chaosk8s_activities())
    assert all("ns='shop-staging'" in line for line in calls)
    assert (
        "chaosk8s.pod.actions.terminate_pods(label_selector='app=backend', qty=1, rand=True, "
        "ns='shop-staging')" in text
    )
    assert "scale_deployment(name='backend', replicas=2, ns='shop-staging')" in text


@pytest.mark.parametrize("module", ["chaoslib", "chaosk8s"])
def test_plan_without_the_chaos_extra_says_how_to_install_it(
    module: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # `import module` now fails
    with pytest.raises(EnvironmentProblem, match=rf"{module} cannot be imported") as caught:
        plan("shop-staging", allowed=["shop-staging"])
    assert "pip install 'gameday[chaos]'" in str(caught.value)
    assert caught.value.exit_code == 3


def test_plan_uses_overrides_for_the_target() -> None:
    text = plan(
        "drills",
        [EXPERIMENTS / "rollout-restart.json"],
        allowed=["drills"],
        overrides={"gameday_k8s_deployment": "api"},
    )
    assert "rollout_deployment(name='api', ns='drills')" in text


@pytest.mark.parametrize("namespace", ["shop-prod", "default", "kube-system"])
def test_plan_refuses_what_the_guard_refuses(namespace: str) -> None:
    with pytest.raises(NamespaceRefused, match=f"namespace {namespace}"):
        plan(namespace, committed(), allowed=["shop-staging"])
