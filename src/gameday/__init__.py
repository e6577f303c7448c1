"""gameday: chaos drills and game days on a real replica of the production stack.

The package is kept light to import: the proxy image imports ``gameday.proxy`` on its own,
so nothing here may pull in Docker, testcontainers or pydantic.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
