"""The `gameday` command: a thin adapter over the library, holding no drill logic.

Every command ends in one of three ways: exit 0; a GamedayError, printed as one clear
message with its exit code (2 for bad input, 3 for the environment or the replica); or
Ctrl-C / SIGTERM, which unwinds through the same clean-up as an error (exit 130 / 143).
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path
from types import FrameType

import click

from gameday import __version__, ownership
from gameday.compose import DEFAULT_COMPOSE_FILE, ComposeProject
from gameday.errors import GamedayError

__all__ = ["main"]


def progress(message: str) -> None:
    click.echo(f"[{time.strftime('%H:%M:%S')}] {message}", err=True)


compose_file_option = click.option(
    "--compose-file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=DEFAULT_COMPOSE_FILE,
    show_default="the replica that ships with gameday",
    help="Compose file of the replica.",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gameday")
def cli() -> None:
    """Chaos drills and game days that prove an incident playbook works."""


@cli.command()
@compose_file_option
def build(compose_file: Path) -> None:
    """Build the replica's images (offline if need be; cached after the first time)."""
    from gameday.images import build_images

    project = ComposeProject(run_id="build", lease=ownership.MANUAL, compose_file=compose_file)
    try:
        images = build_images(project, progress)
    finally:
        project.discard_env()
    fresh = sum(1 for image in images if not image.cached)
    progress(f"{len(images)} images ready ({fresh} built, {len(images) - fresh} from cache)")


@cli.command()
@compose_file_option
@click.option("--check", is_flag=True, help="Bring the replica up, show it is ready, take it down.")
@click.option(
    "--timeout", "timeout_s", default=180.0, show_default=True, help="Seconds to be ready."
)
def up(compose_file: Path, check: bool, timeout_s: float) -> None:
    """Start a replica and keep it running until `gameday down`."""
    from gameday.replica import Replica

    replica = Replica(
        compose_file=compose_file,
        persistent=not check,
        progress=progress,
        ready_timeout_s=timeout_s,
    )
    replica.start()
    try:
        _print_endpoints(replica)
    finally:
        if check:
            replica.stop()
    if not check:
        click.echo(f"\nreplica {replica.run_id} keeps running: `gameday down {replica.run_id}`")


def _print_endpoints(replica: object) -> None:
    from gameday.replica import PUBLISHED, Replica

    assert isinstance(replica, Replica)
    click.echo(f"replica {replica.run_id} ({replica.project.name}) is ready:")
    for service in PUBLISHED:
        click.echo(f"  {service:<13} {replica.endpoint(service).url}")


@cli.command()
def status() -> None:
    """List the replicas gameday has in Docker, and whose they are."""
    runs = ownership.find_runs()
    if not runs:
        click.echo("no gameday replicas in Docker")
        return
    from gameday.replica import Replica

    for run in sorted(runs.values(), key=lambda r: r.run_id):
        if run.lease == ownership.PERSISTENT:
            owner = "kept by `gameday up`"
        elif run.lease == ownership.MANUAL:
            owner = "started by hand"
        elif ownership.lease_is_alive(run.lease):
            owner = f"in use by process {run.lease.split(':')[2]}"
        else:
            owner = "LEFTOVER of a dead process (`gameday cleanup` removes it)"
        click.echo(
            f"{run.run_id}: {len(run.containers)} containers, {len(run.networks)} networks, "
            f"{len(run.volumes)} volumes; {owner}"
        )
        replica = Replica.attach(run.run_id)
        for service, container in sorted(replica.containers().items()):
            click.echo(f"  {service:<18} {Replica.health_of(container)}")


@cli.command()
@click.argument("run_ids", nargs=-1)
def down(run_ids: tuple[str, ...]) -> None:
    """Remove replicas started by `gameday up` (all of them, or the ones named)."""
    runs = ownership.find_runs()
    chosen = run_ids or tuple(r for r, res in runs.items() if res.lease == ownership.PERSISTENT)
    unknown = [r for r in chosen if r not in runs]
    if unknown:
        raise click.UsageError(
            f"no replica with run id {', '.join(unknown)} (see `gameday status`)"
        )
    if not chosen:
        click.echo("no replica started by `gameday up` is running")
    for run_id in chosen:
        removed = ownership.remove_run(run_id)
        click.echo(
            f"removed {run_id}: {len(removed.containers)} containers, "
            f"{len(removed.networks)} networks, {len(removed.volumes)} volumes"
        )


@cli.command()
@click.option("--all", "everything", is_flag=True, help="Also remove live and kept replicas.")
def cleanup(everything: bool) -> None:
    """Remove what dead gameday runs left in Docker (found by gameday's labels only)."""
    removed = ownership.sweep(everything=everything)
    for run in removed:
        click.echo(
            f"removed {run.run_id}: {len(run.containers)} containers, "
            f"{len(run.networks)} networks, {len(run.volumes)} volumes"
        )
    if not removed:
        click.echo("nothing to clean up")


@cli.group()
def proxy() -> None:
    """The Toxiproxy-compatible network-fault proxy."""


@proxy.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8474, show_default=True)
@click.option("--config", type=click.Path(path_type=Path, dir_okay=False, exists=True))
def proxy_serve(host: str, port: int, config: Path | None) -> None:
    """Serve Toxiproxy's HTTP API and its proxies."""
    from gameday.proxy import serve

    serve(host, port, config)


def _terminate(signum: int, frame: FrameType | None) -> None:
    # SIGTERM unwinds like Ctrl-C so that every `finally` reverts faults and removes containers.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> None:
    signal.signal(signal.SIGTERM, _terminate)
    try:
        cli.main(args=argv, prog_name="gameday", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("gameday: interrupted; everything started was removed", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except GamedayError as exc:
        click.echo(f"gameday: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("gameday: interrupted; everything started was removed", err=True)
        sys.exit(130)
