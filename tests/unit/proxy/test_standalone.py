"""The proxy package imports only the standard library and aiohttp, with relative imports,
so that it can be copied into a Debian image (python3 + python3-aiohttp) on its own."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import gameday.proxy

PACKAGE = Path(gameday.proxy.__file__).parent


def test_only_stdlib_aiohttp_and_relative_imports() -> None:
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top != "aiohttp":
                    offenders.append(f"{path.relative_to(PACKAGE)}: {name}")
    assert offenders == []
