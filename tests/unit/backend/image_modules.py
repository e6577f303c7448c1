"""The replica's backend image holds plain scripts, not a package: tests load them by path."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

IMAGE = Path(__file__).resolve().parents[3] / "src/gameday/stack/images/backend"


def load(file: str, name: str) -> ModuleType:
    """``IMAGE/file`` as the module ``name``; each name is loaded once per test session."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, IMAGE / file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # dataclasses look their module up in sys.modules while a class is being made.
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
