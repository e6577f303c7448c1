"""gameday as a Chaos Toolkit extension: a drill's faults, recovery and steady state as
actions and probes, and a control that grades the run and writes gameday's journal.

Thin adapters over gameday's engine (see ``actions``, ``probes``, ``controls``);
``generate`` writes one experiment per playbook drill from the scenario files. The
activities that ``discover`` lists are read from the modules' ``__all__``.
"""

from __future__ import annotations

from typing import Any

from gameday import __version__

__all__ = ["ACTIVITY_MODULES", "__version__", "discover"]

# The modules whose ``__all__`` are the extension's activities, and their kind.
ACTIVITY_MODULES = (
    ("gameday.adapters.chaostoolkit.actions", "action"),
    ("gameday.adapters.chaostoolkit.probes", "probe"),
)


def discover(discover_system: bool = True) -> dict[str, Any]:
    """What ``chaos discover gameday`` reports: every action and probe of the extension."""
    from chaoslib.discovery.discover import (
        discover_actions,
        discover_probes,
        initialize_discovery_result,
    )

    discovery: dict[str, Any] = initialize_discovery_result("gameday", __version__, "gameday")
    finders = {"action": discover_actions, "probe": discover_probes}
    for module, kind in ACTIVITY_MODULES:
        discovery["activities"].extend(finders[kind](module))
    return discovery
