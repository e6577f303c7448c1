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
from typing import TYPE_CHECKING

import click
import docker.errors

from gameday import __version__, ownership
from gameday.compose import DEFAULT_COMPOSE_FILE, ComposeProject
from gameday.errors import GamedayError, InputError

if TYPE_CHECKING:
    from gameday.journal import Journal
    from gameday.replica import Replica
    from gameday.run import Responder
    from gameday.scenario import Scenario

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
        replica.project.discard_env()  # `gameday down` works from labels, not this file
        click.echo(f"\nreplica {replica.run_id} keeps running: `gameday down {replica.run_id}`")


def _print_endpoints(replica: Replica) -> None:
    from gameday.compose import PUBLISHED

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


DEFAULT_SCENARIOS = Path("scenarios")
DEFAULT_REPORTS = Path("reports")


def _load_scenarios(paths: tuple[Path, ...], run_all: bool) -> list[Scenario]:
    from gameday.scenario import load_all

    if run_all and paths:
        raise click.UsageError("give scenario files or --all, not both")
    if not run_all and not paths:
        raise click.UsageError("name scenario files to run, or --all for every one in scenarios/")
    if run_all and not DEFAULT_SCENARIOS.is_dir():
        raise InputError(
            f"--all runs the scenarios in ./{DEFAULT_SCENARIOS}, and there is no such directory "
            f"in {Path.cwd()}: run from the project's root, or name scenario files"
        )
    return load_all(list(paths) or [DEFAULT_SCENARIOS])


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--all", "run_all", is_flag=True, help="Run every scenario in ./scenarios.")
@compose_file_option
@click.option("--replica", "replica_run_id", help="Drill a replica kept by `gameday up`.")
@click.option(
    "--reports",
    type=click.Path(path_type=Path, file_okay=False),
    default=DEFAULT_REPORTS,
    show_default=True,
    help="Where reports/<run-id>/ is written.",
)
@click.option(
    "--responder",
    type=click.Choice(["auto", "human", "none"]),
    default=None,
    help="Who responds: the scenario's own (default), the automatic responder, people at "
    "this terminal (game day), or nobody.",
)
@click.option(
    "--time-box",
    "time_box_s",
    default=1800.0,
    show_default=True,
    help="Seconds people have to respond in human mode.",
)
def run(
    paths: tuple[Path, ...],
    run_all: bool,
    compose_file: Path,
    replica_run_id: str | None,
    reports: Path,
    responder: str | None,
    time_box_s: float,
) -> None:
    """Run drills: inject, detect, recover, grade, and write the journal.

    Exit status: 0 when every drill passed, 1 when any failed its grade, 2 on bad input.
    """
    from gameday.journal import write_journal
    from gameday.run import run_gameday

    scenarios = _load_scenarios(paths, run_all)
    journal = run_gameday(
        scenarios,
        progress=progress,
        compose_file=compose_file,
        replica_run_id=replica_run_id,
        responder=_responder(responder, time_box_s),
    )
    path = write_journal(journal, reports)
    report = _publish(path.parent, reports)
    click.echo(_summary_table(journal))
    click.echo(f"\njournal: {path}\nreport:  {report}")
    if not journal.passed:
        sys.exit(1)


def _responder(name: str | None, time_box_s: float) -> Responder | None:
    from gameday.responders import HumanResponder
    from gameday.run import AutoResponder, NoResponder

    if name == "human":
        return HumanResponder(sys.stdin, sys.stdout, time_box_s=time_box_s)
    if name == "auto":
        return AutoResponder()
    if name == "none":
        return NoResponder()
    return None


def _summary_table(journal: Journal) -> str:
    def fmt(value: float | None, unit: str, digits: int = 1) -> str:
        return "-" if value is None else f"{value:.{digits}f}{unit}"

    rows = [("scenario", "result", "MTTD", "floor", "MTTR", "p95", "errors", "lost")]
    for r in journal.results:
        m = r.measurements
        floor = max(r.mttd_floor_s.values()) if r.mttd_floor_s else None
        rows.append(
            (
                r.scenario.name,
                "PASS" if r.passed else "FAIL",
                fmt(m.mttd_s, " s"),
                fmt(floor, " s"),
                fmt(m.mttr_s, " s"),
                fmt(m.p95_ms, " ms", 0),
                f"{m.error_rate:.1%}",
                str(m.lost_tasks),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    for r in journal.results:
        for reason in r.grade.reasons:
            lines.append(f"{r.scenario.name}: {reason}")
    return "\n".join(lines)


def _publish(run_dir: Path, reports: Path) -> Path:
    """Record a run in the history and write its report and the history page."""
    import json

    from gameday.report import record_run, render_history, render_run

    history = reports / "history.sqlite"
    scenarios_dir = DEFAULT_SCENARIOS if DEFAULT_SCENARIOS.is_dir() else None
    try:
        journal = json.loads((run_dir / "journal.json").read_text())
    except (OSError, ValueError) as exc:
        raise InputError(f"{run_dir / 'journal.json'}: not a readable journal ({exc})") from exc
    record_run(journal, history)
    written = render_run(run_dir, scenarios_dir=scenarios_dir, history_db=history)
    render_history(reports, db=history, scenarios_dir=scenarios_dir)
    return written[0]


@cli.command()
@click.argument("run", default="latest")
@click.option(
    "--reports",
    type=click.Path(path_type=Path, file_okay=False),
    default=DEFAULT_REPORTS,
    show_default=True,
    help="The reports directory that holds the run.",
)
def report(run: str, reports: Path) -> None:
    """Regenerate a run's report (index.html, post-mortems) and the history page from its
    journal. RUN is a run id, `latest`, or a run's directory."""
    run_dir = Path(run) if Path(run).is_dir() else reports / run
    if not (run_dir / "journal.json").is_file():
        raise InputError(f"{run_dir}: no journal.json there (is {run!r} a run id in {reports}?)")
    click.echo(f"report: {_publish(run_dir.resolve(), reports)}")


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
def validate(paths: tuple[Path, ...]) -> None:
    """Check scenario files (default: every one in ./scenarios) without running them."""
    from gameday.scenario import load_all

    scenarios = load_all(list(paths) or [DEFAULT_SCENARIOS])
    for scenario in scenarios:
        click.echo(f"ok  {scenario.source}  ({scenario.name})")
    click.echo(f"{len(scenarios)} scenarios valid")


@cli.command("list")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
def list_scenarios(paths: tuple[Path, ...]) -> None:
    """List scenarios: what breaks, which alert must fire, how fast."""
    from gameday.scenario import load_all

    for s in load_all(list(paths) or [DEFAULT_SCENARIOS]):
        alerts = ", ".join(s.detection.expect)
        click.echo(
            f"{s.name:<28} {alerts:<28} MTTD ≤ {s.targets.mttd_s:.0f} s, "
            f"MTTR ≤ {s.targets.mttr_s:.0f} s  {s.title}"
        )


@cli.group()
def experiments() -> None:
    """Chaos Toolkit experiments generated from the scenarios."""


@experiments.command("generate")
@click.option("--check", is_flag=True, help="Only say which experiments are out of date.")
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("experiments"),
    show_default=True,
)
def experiments_generate(check: bool, out: Path) -> None:
    """Write experiments/*.json from scenarios/ (and the Kubernetes ones), or --check them."""
    from gameday import kubernetes
    from gameday.chaostoolkit.generate import generate, stale, write

    found = generate([DEFAULT_SCENARIOS], out) + kubernetes.generate(out / "kubernetes")
    if check:
        drifted = stale(found)
        for path in drifted:
            click.echo(f"out of date: {path}")
        if drifted:
            raise InputError(
                "experiments differ from the scenarios: run `gameday experiments generate`"
            )
        click.echo(f"{len(found)} experiments match their scenarios")
        return
    for path in write(found):
        click.echo(f"wrote {path}")


@cli.group()
def k8s() -> None:
    """Drills of a Kubernetes namespace (chaostoolkit-kubernetes)."""


@k8s.command("plan")
@click.option("--namespace", required=True, help="The namespace to drill (must be allowed).")
def k8s_plan(namespace: str) -> None:
    """Print what the Kubernetes drills would do in NAMESPACE, without doing it."""
    from gameday import kubernetes

    click.echo(kubernetes.plan(namespace))


@cli.group()
def proxy() -> None:
    """The Toxiproxy-compatible network-fault proxy."""


@proxy.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address of the HTTP API.")
@click.option("--port", default=8474, show_default=True, help="Port of the HTTP API.")
@click.option(
    "--config", type=click.Path(path_type=Path), help="JSON list of proxies to create at start."
)
@click.option(
    "--allow-remote", is_flag=True, help="Let the API and the proxies listen beyond loopback."
)
@click.option(
    "--allow-public-upstreams",
    is_flag=True,
    help="Let proxies forward to public addresses, not only to names and local ones.",
)
@click.option(
    "--log-level",
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
    default="INFO",
    show_default=True,
)
def proxy_serve(
    host: str,
    port: int,
    config: Path | None,
    allow_remote: bool,
    allow_public_upstreams: bool,
    log_level: str,
) -> None:
    """Serve Toxiproxy's HTTP API and its proxies."""
    from gameday.errors import EnvironmentProblem
    from gameday.proxy import StartupError, configure_logging, serve

    configure_logging(log_level.upper())
    try:
        serve(
            host,
            port,
            config,
            allow_remote=allow_remote,
            allow_public_upstreams=allow_public_upstreams,
        )
    except StartupError as exc:
        # The proxy package stands alone; its errors become gameday's here (exit 2 or 3).
        error = InputError if exc.exit_code == InputError.exit_code else EnvironmentProblem
        raise error(str(exc)) from exc


def _terminate(signum: int, frame: FrameType | None) -> None:
    # SIGTERM unwinds like Ctrl-C so that every `finally` reverts faults and removes containers.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> None:
    signal.signal(signal.SIGTERM, _terminate)
    try:
        cli.main(args=argv, prog_name="gameday", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo(
            "gameday: interrupted; injected faults were reverted and what this run "
            "started was removed",
            err=True,
        )
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except GamedayError as exc:
        click.echo(f"gameday: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except docker.errors.DockerException as exc:
        # The last line of defence: modules wrap the errors they expect; this one was not.
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        click.echo(f"gameday: error: Docker failed: {first}", err=True)
        sys.exit(3)
    except KeyboardInterrupt:
        click.echo(
            "gameday: interrupted; injected faults were reverted and what this run "
            "started was removed",
            err=True,
        )
        sys.exit(130)
