"""Building the replica's images, offline if need be.

No image is pulled at drill time. The base image ``gameday-base:bookworm`` comes from
``debian:bookworm-slim`` where a registry answers, and otherwise from ``debootstrap`` +
``docker import`` (needs root and Debian's debootstrap). Every other image is built from
the Dockerfiles that ship in ``gameday/stack/images``, as the compose file's ``build``
sections name them; Docker's layer cache makes a second build take seconds.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker.errors

from gameday.errors import ImageBuildError
from gameday.infra.compose import BASE_IMAGE, ComposeProject
from gameday.infra.docker_engine import client

__all__ = ["BuiltImage", "build_images", "ensure_base_image"]

OFFICIAL_BASE = "debian:bookworm-slim"
DEFAULT_MIRROR = "http://deb.debian.org/debian"

Progress = Callable[[str], None]


@dataclass(frozen=True)
class BuiltImage:
    tag: str
    seconds: float
    cached: bool


def ensure_base_image(progress: Progress, name: str = BASE_IMAGE) -> str:
    """Make sure the base image exists: pull it, or bootstrap it when no registry answers."""
    docker_client = client()
    try:
        docker_client.images.get(name)
        return name
    except docker.errors.ImageNotFound:
        pass
    progress(f"base image {name}: pulling {OFFICIAL_BASE}")
    try:
        image = docker_client.images.pull(OFFICIAL_BASE)
        image.tag(name)
        return name
    except docker.errors.APIError as exc:
        progress(f"base image {name}: pull failed ({_first_line(exc)}); using debootstrap")
    _debootstrap_base(name, progress)
    return name


def _debootstrap_base(name: str, progress: Progress) -> None:
    if shutil.which("debootstrap") is None:
        raise ImageBuildError(
            f"cannot make the base image {name}: no registry answers and debootstrap is not "
            "installed (apt-get install debootstrap, or make the image yourself and tag it "
            f"{name})"
        )
    mirror = debian_mirror()
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="gameday-rootfs-") as root:
        cmd = ["debootstrap", "--variant=minbase", "bookworm", root, mirror]
        progress(f"base image {name}: {' '.join(cmd)} (about 30 s)")
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            tail = "\n".join(done.stdout.splitlines()[-10:] + done.stderr.splitlines()[-10:])
            raise ImageBuildError(f"debootstrap failed for {name}:\n{tail}")
        tar = subprocess.Popen(["tar", "-C", root, "-c", "."], stdout=subprocess.PIPE)
        imported = subprocess.run(
            ["docker", "import", "-", name],
            stdin=tar.stdout,
            capture_output=True,
            text=True,
            check=False,
        )
        tar.wait()
        if imported.returncode != 0 or tar.returncode != 0:
            raise ImageBuildError(f"docker import of {name} failed: {imported.stderr.strip()}")
    progress(f"base image {name}: ready in {time.monotonic() - start:.0f} s")


def debian_mirror() -> str:
    """The Debian mirror this machine's apt uses (containers reach the same one)."""
    for source in (Path("/etc/apt/sources.list.d/debian.sources"), Path("/etc/apt/sources.list")):
        try:
            text = source.read_text()
        except OSError:
            continue
        match = re.search(r"^URIs:\s*(\S+)", text, re.M) or re.search(
            r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+bookworm\s", text, re.M
        )
        if match:
            return match.group(1)
    return DEFAULT_MIRROR


def build_images(project: ComposeProject, progress: Progress) -> list[BuiltImage]:
    """Build every image the compose file names in a ``build`` section."""
    config = project.config()
    base = project.variables()["GAMEDAY_BASE_IMAGE"]
    if _reads_base_image(project):
        ensure_base_image(progress, base)
    seen: set[str] = set()
    built = []
    for service, spec in sorted(config["services"].items()):
        build, tag = spec.get("build"), spec.get("image")
        if not build or not tag or tag in seen:
            continue
        seen.add(tag)
        built.append(_build_one(service, tag, build, progress))
    return built


def _reads_base_image(project: ComposeProject) -> bool:
    """Whether a compose file asks for gameday's base image (a stack with images of its
    own needs none)."""
    texts = []
    for file in project.compose_files:
        try:
            texts.append(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            return True  # compose config read it already; err on the side of building
    return any("GAMEDAY_BASE_IMAGE" in text or BASE_IMAGE in text for text in texts)


def _build_one(service: str, tag: str, build: dict[str, Any], progress: Progress) -> BuiltImage:
    context = Path(build["context"])
    dockerfile = build.get("dockerfile", "Dockerfile")
    start = time.monotonic()
    progress(f"image {tag}: building")
    cached = True
    log: list[str] = []
    try:
        stream = client().api.build(
            path=str(context),
            dockerfile=dockerfile,
            tag=tag,
            rm=True,
            forcerm=True,
            buildargs=build.get("args") or {},
            decode=True,
        )
        for chunk in stream:
            if "error" in chunk:
                raise ImageBuildError(
                    f"image {tag} (service {service!r}, {context / dockerfile}) failed to "
                    f"build: {chunk['error'].strip()}\n  last build output:\n"
                    + "\n".join("    " + line for line in log[-15:])
                )
            line = str(chunk.get("stream", "")).rstrip()
            if line:
                log.append(line)
                if line.startswith(" ---> Running in"):
                    cached = False
    except docker.errors.APIError as exc:
        raise ImageBuildError(f"image {tag}: {_first_line(exc)}") from exc
    seconds = time.monotonic() - start
    progress(f"image {tag}: {'cached' if cached else 'built'} in {seconds:.1f} s")
    return BuiltImage(tag=tag, seconds=seconds, cached=cached)


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
