"""The toxic registry lists exactly the toxic modules of the package."""

from __future__ import annotations

import pkgutil

from gameday.proxy import toxics
from gameday.proxy.toxics import REGISTRY

NOT_TOXICS = {"base", "wrapper"}


def test_registry_matches_modules() -> None:
    modules = {m.name for m in pkgutil.iter_modules(toxics.__path__)} - NOT_TOXICS
    assert set(REGISTRY) == modules


def test_every_toxic_has_its_own_test_module() -> None:
    from pathlib import Path

    here = Path(__file__).parent
    assert all((here / f"test_{name}.py").exists() for name in REGISTRY)
