"""The extension's discovery is built from the modules: every name in an activity module's
``__all__`` is listed, with its kind, and nothing else is."""

from __future__ import annotations

import importlib
import inspect

from gameday.adapters import chaostoolkit
from gameday.adapters.chaostoolkit import actions, controls, probes


def test_discover_lists_every_action_and_probe_of_the_modules() -> None:
    discovery = chaostoolkit.discover(discover_system=False)
    listed = {(a["mod"], a["name"], a["type"]) for a in discovery["activities"]}
    expected = {
        (module, name, kind)
        for module, kind in chaostoolkit.ACTIVITY_MODULES
        for name in importlib.import_module(module).__all__
    }
    assert listed == expected
    assert {name for _, name, _ in listed} >= {
        "inject_faults",
        "run_recovery",
        "revert_faults",
        "steady_state_holds",
        "services_healthy",
        "no_alert_active",
        "alert_fired_within",
    }
    assert discovery["extension"]["name"] == "gameday"


def test_every_exported_name_is_a_documented_function_taking_configuration() -> None:
    for module in (actions, probes):
        for name in module.__all__:
            func = getattr(module, name)
            assert inspect.isfunction(func), f"{module.__name__}.{name}"
            assert func.__doc__, f"{module.__name__}.{name} has no docstring"
            assert "configuration" in inspect.signature(func).parameters


def test_discovered_arguments_are_the_functions_parameters() -> None:
    discovery = chaostoolkit.discover(discover_system=False)
    by_name = {a["name"]: a for a in discovery["activities"]}
    arguments = [a["name"] for a in by_name["alert_fired_within"]["arguments"]]
    assert arguments == ["alert", "within_s", "configuration"]


def test_the_control_module_has_the_functions_chaos_calls() -> None:
    for name in controls.__all__:
        assert callable(getattr(controls, name))
    assert {"before_experiment_control", "after_experiment_control"} <= set(controls.__all__)
