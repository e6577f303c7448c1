"""What a compose file says, read without Docker: its services, the networks each is on,
the container ports each publishes, the volumes each mounts, the named volumes it declares
and the ``GAMEDAY_PORT_*`` variables it reads.

Validation (``gameday validate``, the scenario loader) needs this on a machine that may
have no Docker at all; at run time ``docker compose config`` checks the whole file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gameday.errors import ProjectError

__all__ = ["PORT_VARIABLE", "Mount", "ServiceInfo", "Topology", "read_topology"]

PORT_VARIABLE = re.compile(r"\$\{?(GAMEDAY_PORT_[A-Z0-9_]+)")


@dataclass(frozen=True)
class Mount:
    """One entry of a service's ``volumes:``: a named volume, a host path or a tmpfs."""

    source: str  # the volume's name or the host path ('' for an anonymous volume)
    target: str  # the path in the container
    kind: str  # 'volume', 'bind' or 'tmpfs'


@dataclass(frozen=True)
class ServiceInfo:
    """One compose service, as the compose file(s) declare it."""

    networks: frozenset[str]
    ports: tuple[int, ...]  # the container ports it publishes, in the file's order
    environment: dict[str, str] = field(default_factory=dict)
    mounts: tuple[Mount, ...] = ()

    def named_volumes(self) -> tuple[str, ...]:
        """The named volumes it mounts, in the file's order."""
        return tuple(m.source for m in self.mounts if m.kind == "volume" and m.source)


@dataclass(frozen=True)
class Topology:
    """The services of the compose file(s), and the host-port variables they read."""

    services: dict[str, ServiceInfo]
    port_variables: tuple[str, ...]
    volumes: frozenset[str] = frozenset()  # the top-level named volumes

    def networks(self) -> frozenset[str]:
        return frozenset(n for s in self.services.values() for n in s.networks)

    def published(self) -> dict[str, int]:
        """Each publishing service's first container port."""
        return {name: s.ports[0] for name, s in self.services.items() if s.ports}


def read_topology(files: list[Path]) -> Topology:
    """Services, networks and published ports from compose files, merged in order (as
    ``docker compose -f a -f b`` merges them), without Docker. Follows ``include``."""
    services: dict[str, dict[str, Any]] = {}
    variables: list[str] = []
    volumes: set[str] = set()
    for file in files:
        for name, spec, text, declared in _compose_services(file, depth=0):
            merged = services.setdefault(name, {})
            for key in ("networks", "ports", "environment", "volumes"):
                if key in spec:
                    merged[key] = spec[key]
            variables.extend(PORT_VARIABLE.findall(text))
            volumes.update(declared)
    return Topology(
        services={name: _service_info(name, spec) for name, spec in services.items()},
        port_variables=tuple(dict.fromkeys(variables)),
        volumes=frozenset(volumes),
    )


def _compose_services(
    file: Path, depth: int
) -> Iterator[tuple[str, dict[str, Any], str, frozenset[str]]]:
    if depth > 8:
        raise ProjectError(f"{file}: compose includes nest deeper than 8 levels")
    try:
        text = file.read_text(encoding="utf-8")
        document = yaml.safe_load(text)
    except OSError as exc:
        raise ProjectError(f"{file}: cannot read the compose file ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise ProjectError(
            f"{file}: expected UTF-8 YAML, but byte {exc.start} is not UTF-8 (is it a binary file?)"
        ) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ProjectError(f"{file}{line}: not a valid compose file ({exc})") from exc
    if not isinstance(document, dict):
        raise ProjectError(f"{file}:1: expected a compose file (a mapping with services)")
    for include in document.get("include") or []:
        paths = include.get("path") if isinstance(include, dict) else include
        for path in [paths] if isinstance(paths, str) else paths or []:
            yield from _compose_services(file.parent / str(path), depth + 1)
    services = document.get("services") or {}
    if not isinstance(services, dict):
        raise ProjectError(f"{file}: field 'services': expected a mapping of services")
    declared = document.get("volumes")
    volumes = frozenset(str(v) for v in declared) if isinstance(declared, dict) else frozenset()
    for name, spec in services.items():
        yield str(name), spec if isinstance(spec, dict) else {}, text, volumes


def _service_info(name: str, spec: dict[str, Any]) -> ServiceInfo:
    networks = spec.get("networks")
    if isinstance(networks, dict | list):
        names = frozenset(str(n) for n in networks)
    else:
        names = frozenset({"default"})
    ports: list[int] = []
    for entry in spec.get("ports") or []:
        target = entry.get("target") if isinstance(entry, dict) else str(entry).rsplit(":", 1)[-1]
        digits = str(target).split("/")[0].split("-")[0]
        if digits.isdigit():
            ports.append(int(digits))
    environment = spec.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(str(e).partition("=")[::2] for e in environment)
    mounts = tuple(_mount(entry) for entry in spec.get("volumes") or [])
    return ServiceInfo(
        names, tuple(ports), {str(k): str(v) for k, v in environment.items()}, mounts
    )


def _mount(entry: object) -> Mount:
    """A ``volumes:`` entry in its short (``source:target[:mode]``) or long form."""
    if isinstance(entry, dict):
        source, target = str(entry.get("source") or ""), str(entry.get("target") or "")
        kind = str(entry.get("type") or "volume")
        return Mount(source, target, kind)
    parts = str(entry).split(":")
    if len(parts) == 1:
        return Mount("", parts[0], "volume")  # an anonymous volume
    source, target = parts[0], parts[1]
    # Compose reads a source that starts like a path as a host path, else as a volume.
    kind = "bind" if source.startswith(("/", ".", "~", "$")) else "volume"
    return Mount(source, target, kind)
