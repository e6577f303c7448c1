"""gameday: chaos drills and game days on a real replica of the production stack.

The package is kept light to import: the proxy image imports ``gameday.proxy`` on its own,
so nothing here may pull in Docker, testcontainers or pydantic.
"""

from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "discover"]


def discover(discover_system: bool = True) -> dict[str, Any]:
    """`chaos discover gameday`: the Chaos Toolkit extension's activities (imported late)."""
    from gameday.chaostoolkit import discover as discover_extension

    return discover_extension(discover_system=discover_system)
