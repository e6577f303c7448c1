"""The `gameday` command: a thin adapter over the library, holding no drill logic.

Every command ends in one of these ways, each with its exit status:

    0    done (for `gameday run`: every drill passed)
    1    a drill failed its grade (`gameday run`)
    2    bad input: a scenario, compose file, journal or option gameday cannot use
    3    the environment or the replica failed (no Docker, an image, a fault, a service)
    4    an internal error, a bug in gameday: one line, the traceback in a log file
    130  Ctrl-C, 143 SIGTERM: unwound through the same clean-up as an error

A GamedayError is printed as one clear message with its exit code; any other exception
is an internal error (see :func:`main`), never a traceback on the terminal.

Its length is its commands: each is a thin function over the library, and they share
the options and main()'s error handling, which one module keeps in view.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import click
import docker.errors

from gameday import __version__
from gameday.errors import GamedayError, InputError
from gameday.infra import ownership

if TYPE_CHECKING:
    from gameday.adapters.web import ConsoleServer
    from gameday.infra.replica import Replica
    from gameday.inputs.project import Project
    from gameday.inputs.scenario import Scenario
    from gameday.record import CampaignRecord
    from gameday.stages.journal import Journal
    from gameday.stages.run import Responder

__all__ = ["main"]


def progress(message: str) -> None:
    click.echo(f"[{time.strftime('%H:%M:%S')}] {message}", err=True)


project_option = click.option(
    "--project",
    "-p",
    "project_path",
    type=click.Path(path_type=Path),
    default=None,
    envvar="GAMEDAY_PROJECT",
    help="The project file (gameday.yml) or its directory. Default: the first gameday.yml "
    "in the current directory or one above it.",
)


def _project(project_path: Path | None, *, announce: bool = True) -> Project:
    from gameday.inputs.project import find_project, load_project

    project = load_project(find_project(explicit=project_path))
    if announce:
        progress(f"project {project.name}: {project.source}")
    return project


def _scenario_paths(paths: tuple[str, ...], project: Project) -> list[Path]:
    # Paths stay text until here: click would read "" as Path("") (this directory).
    if any(path == "" for path in paths):
        raise click.UsageError("an empty scenario path names nothing; give a file")
    return [Path(path) for path in paths] or [project.scenarios_dir]


EXIT_STATUS_HELP = """\b
Exit status: 0 done (every drill passed), 1 a drill failed its grade, 2 bad input,
3 the environment or the replica failed, 4 internal error (a bug: see the log named),
5 inconclusive (no drill failed, but the host decided some: see the report),
130 interrupted, 143 terminated."""
EXIT_INTERNAL = 4


@click.group(
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=EXIT_STATUS_HELP,
)
@click.version_option(__version__, prog_name="gameday")
def cli() -> None:
    """Chaos drills and game days that prove an incident playbook works."""


@cli.command()
@project_option
def build(project_path: Path | None) -> None:
    """Build the replica's images (offline if need be; cached after the first time)."""
    from gameday.infra.compose import ComposeProject
    from gameday.infra.images import build_images

    project = _project(project_path)
    compose = ComposeProject(
        run_id="build",
        lease=ownership.MANUAL,
        compose_files=project.compose_files,
        port_variables=project.topology.port_variables,
    )
    try:
        images = build_images(compose, progress)
    finally:
        compose.discard_env()
    fresh = sum(1 for image in images if not image.cached)
    progress(f"{len(images)} images ready ({fresh} built, {len(images) - fresh} from cache)")


@cli.command()
@project_option
@click.option("--check", is_flag=True, help="Bring the replica up, show it is ready, take it down.")
@click.option(
    "--timeout", "timeout_s", default=180.0, show_default=True, help="Seconds to be ready."
)
def up(project_path: Path | None, check: bool, timeout_s: float) -> None:
    """Start a replica and keep it running until `gameday down`."""
    from gameday.infra.replica import Replica

    replica = Replica(
        _project(project_path),
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
        replica.compose.discard_env()  # `gameday down` works from labels, not this file
        click.echo(f"\nreplica {replica.run_id} keeps running: `gameday down {replica.run_id}`")


def _print_endpoints(replica: Replica) -> None:
    click.echo(f"replica {replica.run_id} ({replica.compose.name}) is ready:")
    published = replica.project.published
    width = max((len(s) for s in published), default=0) + 2
    for service in sorted(published):
        click.echo(f"  {service:<{width}} {replica.endpoint(service).url}")


@cli.command()
def status() -> None:
    """List the replicas gameday has in Docker, and whose they are."""
    runs = ownership.find_runs()
    if not runs:
        click.echo("no gameday replicas in Docker")
        return
    from gameday.infra.docker_engine import client
    from gameday.infra.replica import Replica

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
        containers = [client().containers.get(c) for c in run.containers]
        for container in sorted(containers, key=lambda c: str(c.name)):
            service = container.labels.get("com.docker.compose.service", container.name)
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
        _say_removed(ownership.remove_run(run_id))


@cli.command()
@click.option("--all", "everything", is_flag=True, help="Also remove live and kept replicas.")
def cleanup(everything: bool) -> None:
    """Remove what dead gameday runs left in Docker (found by gameday's labels only)."""
    removed = ownership.sweep(everything=everything)
    for run in removed:
        _say_removed(run)
    if not removed:
        click.echo("nothing to clean up")


def _say_removed(run: ownership.RunResources) -> None:
    """What `down` and `cleanup` removed of one run, and what Docker would not remove."""
    click.echo(
        f"removed {run.run_id}: {len(run.containers)} containers, "
        f"{len(run.networks)} networks, {len(run.volumes)} volumes"
    )
    for warning in run.warnings:
        click.echo(f"warning: {warning}", err=True)


def _load_scenarios(project: Project, paths: tuple[str, ...], run_all: bool) -> list[Scenario]:
    from gameday.inputs.scenario import load_all

    if run_all and paths:
        raise click.UsageError("give scenario files or --all, not both")
    if not run_all and not paths:
        raise click.UsageError(
            "name scenario files to run, or --all for every one in the project's scenarios"
        )
    if run_all and not project.scenarios_dir.is_dir():
        raise InputError(
            f"--all runs the scenarios in {project.scenarios_dir} (scenarios: in "
            f"{project.source}), and there is no such directory: create it, or name "
            "scenario files"
        )
    return load_all(_scenario_paths(paths, project), project)


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--all", "run_all", is_flag=True, help="Run every scenario of the project.")
@project_option
@click.option("--replica", "replica_run_id", help="Drill a replica kept by `gameday up`.")
@click.option(
    "--reports",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Where <run-id>/ is written (default: the project's reports directory).",
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
@click.option(
    "--web",
    is_flag=True,
    help="Also serve the game-day console: the live drill in a browser, where people join "
    "with a role and act (needs gameday[web]; see docs/console.md).",
)
@click.option(
    "--web-host",
    default="127.0.0.1",
    show_default=True,
    help="Where the console listens (another address lets other machines in: the token "
    "still guards it).",
)
@click.option("--web-port", default=0, show_default=True, help="The console's port (0: any free).")
def run(
    paths: tuple[str, ...],
    run_all: bool,
    project_path: Path | None,
    replica_run_id: str | None,
    reports: Path | None,
    responder: str | None,
    time_box_s: float,
    web: bool,
    web_host: str,
    web_port: int,
) -> None:
    """Run drills: inject, detect, recover, grade, and write the journal.

    Exit status: 0 when every drill passed, 1 when any failed its grade, 2 on bad input,
    3 when the environment or the replica failed, 4 on an internal error, 5 when none
    failed but some were inconclusive (the host was saturated or the load fell behind).
    """
    from gameday.stages.publish import publish
    from gameday.stages.run import run_gameday

    if web and responder in ("auto", "none"):
        raise click.UsageError("--web is the console for people: use it with --responder human")
    project = _project(project_path)
    scenarios = _load_scenarios(project, paths, run_all)
    reports = reports or project.reports_dir
    console = _console(time_box_s, web_host, web_port) if web else None
    chosen = _responder(responder, time_box_s)
    people = _responder("human", time_box_s) if responder is None else None
    say = progress
    if console is not None:
        chosen = console.console.responder if responder == "human" else chosen
        people = console.console.responder if responder is None else None

        def say(message: str) -> None:
            progress(message)
            console.console.progress(message)

    try:
        journal = run_gameday(
            project,
            scenarios,
            progress=say,
            replica_run_id=replica_run_id,
            responder=chosen,
            # A scenario that asks for people gets them at this terminal (and the console).
            people=people,
        )
        published = publish(journal, reports, project)
        path, report = published.journal, published.report
        click.echo(_summary_table(journal))
        click.echo(f"\njournal: {path}\nreport:  {report}")
        if console is not None:
            console.console.finish(journal, report.parent)
            click.echo(f"console: the scoreboard is at {console.url}\npress Enter to close it")
            with contextlib.suppress(KeyboardInterrupt):
                console.console.responder.wait_line()
    finally:
        if console is not None:
            console.stop()
    sys.exit(_exit_status(journal.verdict))


def _console(time_box_s: float, host: str, port: int) -> ConsoleServer:
    """Serve the game-day console for a run; people answer at this terminal too."""
    from gameday.adapters.responders import HumanResponder
    from gameday.adapters.web import Console, ConsoleServer

    human = HumanResponder(sys.stdin, sys.stdout, time_box_s=time_box_s, keys_end_drill=False)
    server = ConsoleServer(Console(human), host=host, port=port).start()
    click.echo(f"console: {server.url}")
    if host not in ("127.0.0.1", "::1", "localhost"):
        click.echo(f"console: listening on {host}: anyone with the URL and its token can act")
    return server


# A run that failed nothing but could not tell for some drill (the host was saturated, the
# load fell behind) exits with its own status, so CI can tell "retry on a quieter machine"
# from "the playbook is broken".
EXIT_INCONCLUSIVE = 5


def _exit_status(verdict: str) -> int:
    return {"passed": 0, "inconclusive": EXIT_INCONCLUSIVE}.get(verdict, 1)


def _responder(name: str | None, time_box_s: float) -> Responder | None:
    from gameday.adapters.responders import HumanResponder
    from gameday.stages.run import AutoResponder, NoResponder

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

    rows = [("scenario", "result", "MTTD", "in prod.", "MTTR", "p95", "errors", "lost")]
    results = {"passed": "PASS", "failed": "FAIL", "inconclusive": "INCONCLUSIVE"}
    for r in journal.results:
        m = r.measurements
        projected = [t.production_most_s for t in m.timings]
        prod = (
            max(v for v in projected if v is not None)
            if projected and None not in projected
            else None
        )
        rows.append(
            (
                r.scenario.name,
                results[r.verdict],
                fmt(m.mttd_s, " s"),
                "-" if prod is None else f"≤ {prod / 60:.1f} min",
                fmt(m.mttr_s, " s"),
                fmt(m.p95_ms, " ms", 0),
                f"{m.error_rate:.1%}",
                str(m.lost_writes),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    for r in journal.results:
        recovery = [
            f"{c.label} {c.measured} ({c.target})" for c in r.grade.checks if c.id in ("rto", "rpo")
        ]
        if recovery:  # a disaster-recovery drill: its objectives on a line of their own
            lines.append(f"{r.scenario.name}: " + ", ".join(recovery))
        for why in r.grade.inconclusive:
            lines.append(f"{r.scenario.name}: INCONCLUSIVE: {why}")
        scopes = r.grade.failed_scopes()
        for reason in r.grade.reasons:
            lines.append(f"{r.scenario.name}: {reason}")
        if scopes:
            lines.append(f"{r.scenario.name}: failed {' and '.join(scopes)}")
        if not any(c.id == "silent" and not c.passed for c in r.grade.checks):
            for gap in r.measurements.gaps:  # a finding, when it is not a failed check
                lines.append(f"{r.scenario.name}: detection gap: {gap.detail}")
    return "\n".join(lines)


@cli.command()
@click.argument("run", default="latest")
@project_option
@click.option(
    "--reports",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="The reports directory that holds the run (default: the project's, else ./reports).",
)
def report(run: str, project_path: Path | None, reports: Path | None) -> None:
    """Regenerate a run's report (index.html, post-mortems) and the history page from its
    journal. RUN is a run id, `latest`, or a run's directory."""
    from gameday.errors import ProjectError

    try:
        project: Project | None = _project(project_path, announce=False)
    except ProjectError:
        if project_path is not None:
            raise
        project = None  # a report can be made from its journal alone
    reports = reports or (project.reports_dir if project else Path("reports"))
    run_dir = Path(run) if Path(run).is_dir() else reports / run
    if not (run_dir / "journal.json").is_file():
        raise InputError(f"{run_dir}: no journal.json there (is {run!r} a run id in {reports}?)")
    from gameday.stages.publish import republish

    click.echo(f"report: {republish(run_dir.resolve(), reports, project)}")


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path())
@project_option
def validate(paths: tuple[str, ...], project_path: Path | None) -> None:
    """Check the project file and scenario files (default: every one in the project's
    scenarios directory) without running anything."""
    from gameday.inputs.scenario import load_all
    from gameday.units import span_text

    project = _project(project_path, announce=False)
    click.echo(f"ok  {project.source}  (project {project.name})")
    if project.playbook is not None:
        playbook = project.playbook
        click.echo(
            f"ok  {playbook.path}  ({len(playbook.sections)} sections, "
            f"{len(playbook.alerts)} alerts, {len(playbook.drills)} drills)"
        )
    if project.production is not None:
        settings = project.production
        click.echo(
            f"ok  production monitoring  (scrape {span_text(settings.scrape_interval_s)}, "
            f"evaluation {span_text(settings.evaluation_interval_s)}, group_wait "
            f"{span_text(settings.group_wait_s)}, `for` of {len(settings.for_s)} alerts)"
        )
    objectives = project.spec.objectives
    if objectives is not None:
        named = [
            f"MTTD < {span_text(objectives.mttd)}" if objectives.mttd else "",
            f"MTTR < {span_text(objectives.mttr)}" if objectives.mttr else "",
            f"p95 < {objectives.p95_ms:g} ms" if objectives.p95_ms else "",
            f"errors < {objectives.error_rate:.1%}" if objectives.error_rate is not None else "",
            f"availability {objectives.availability:.2%}" if objectives.availability else "",
        ]
        click.echo(f"ok  objectives  ({', '.join(n for n in named if n) or 'none'})")
    scenarios = load_all(_scenario_paths(paths, project), project)
    for scenario in scenarios:
        click.echo(f"ok  {scenario.source}  ({scenario.name})")
    from gameday.inputs.capacity import rate_warnings

    # Warnings, not errors: the capacity was measured on some machine, maybe not this one.
    for warning in rate_warnings(project, scenarios):
        click.echo(f"warn  {warning}")
    if not paths and scenarios:  # the campaign draws from the project's scenarios
        from gameday.stages.campaign.schedule import fault_pool

        pool = fault_pool(project, scenarios)
        count = f"{len(pool)} scenario" + ("" if len(pool) == 1 else "s")
        click.echo(f"ok  campaign  (draws from {count}: {', '.join(pool)})")
    click.echo(f"{len(scenarios)} scenarios valid")


def _rates(text: str | None, max_rate: float | None) -> list[float]:
    from gameday.stages.capacity import DEFAULT_MAX_RATE, parse_rates, rate_steps

    if text is not None and max_rate is not None:
        raise click.UsageError("give --rates or --max-rate, not both")
    return parse_rates(text) if text is not None else rate_steps(max_rate or DEFAULT_MAX_RATE)


@cli.command()
@project_option
@click.option(
    "--without",
    multiple=True,
    metavar="SERVICE",
    help="Measure with this service stopped (repeat to stop several together).",
)
@click.option(
    "--p95-ms",
    type=click.FloatRange(min=0, min_open=True, max=3_600_000),
    default=200.0,
    show_default=True,
    help="The p95 latency a carried rate stays at or under.",
)
@click.option(
    "--max-error-rate",
    type=click.FloatRange(0, 1),
    default=0.01,
    show_default=True,
    help="The share of failed requests a carried rate stays at or under.",
)
@click.option(
    "--max-rate",
    type=click.FloatRange(min=0, min_open=True, max=500),
    default=None,
    help="The highest rate offered, requests/s (default 300); the steps below it are "
    "10, 20, 40, 60, 80, 100, 120, 150, 200, 250, ...",
)
@click.option("--rates", help="The offered rates instead, requests/s: e.g. 10,20,40.")
@click.option(
    "--step-s",
    type=click.FloatRange(min=1, max=600),
    default=5.0,
    show_default=True,
    help="Seconds each rate is measured.",
)
@click.option(
    "--warmup-s",
    type=click.FloatRange(min=0, max=600),
    default=2.0,
    show_default=True,
    help="Seconds each rate runs before it is measured.",
)
@click.option("--replica", "replica_run_id", help="Measure a replica kept by `gameday up`.")
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="The capacity file (default: the project's, capacity: in gameday.yml).",
)
def capacity(
    project_path: Path | None,
    without: tuple[str, ...],
    p95_ms: float,
    max_error_rate: float,
    max_rate: float | None,
    rates: str | None,
    step_s: float,
    warmup_s: float,
    replica_run_id: str | None,
    out: Path | None,
) -> None:
    """Measure the highest rate of the project's load the replica carries (p95 and errors
    within limits), with all services up or --without some, and write the capacity file
    that `gameday validate` checks scenarios' load rates against."""
    from gameday.infra.replica import Replica
    from gameday.inputs.capacity import merged, read_capacity, write_capacity
    from gameday.stages.capacity import Criteria, check_without, measure_capacity, steps_table

    offered = _rates(rates, max_rate)
    project = _project(project_path)
    stopped = check_without(project, without)
    path = out or project.capacity_file
    existing = read_capacity(path)  # a broken file fails before the measurement, not after
    criteria = Criteria(
        p95_ms=p95_ms, max_error_rate=max_error_rate, warmup_s=warmup_s, step_s=step_s
    )
    if replica_run_id is not None:
        replica = Replica.attach(replica_run_id, project)
        replica.progress = progress
        measured = measure_capacity(
            replica, without=stopped, rates=offered, criteria=criteria, progress=progress
        )
    else:
        with Replica(project, progress=progress) as replica:
            measured = measure_capacity(
                replica, without=stopped, rates=offered, criteria=criteria, progress=progress
            )
    record, dropped = merged(existing, measured, p95_ms=p95_ms, max_error_rate=max_error_rate)
    if dropped:
        progress(f"dropped from {path}, measured under other limits: {', '.join(dropped)}")
    write_capacity(path, record)
    click.echo(steps_table(measured))
    for condition in record.conditions:
        if condition.name != measured.name:
            click.echo(
                f"capacity {condition.name}: {condition.describe()} "
                f"(measured {condition.measured_at:%Y-%m-%d %H:%M})"
            )
    click.echo(f"\ncapacity file: {path}")


@cli.command()
@project_option
@click.option(
    "--duration",
    help="How long to draw waves for, as a Prometheus duration (10m, 90s); a wave begun "
    "is finished. Default: campaign.duration in gameday.yml (10m).",
)
@click.option(
    "--waves",
    "max_waves",
    type=click.IntRange(1, 10_000),
    default=None,
    help="Stop after this many waves (with --duration: whichever comes first).",
)
@click.option(
    "--seed",
    type=click.IntRange(0, 2**63 - 1),
    default=None,
    help="The seed of the schedule (default: a new one, printed). The same seed on the "
    "same project draws the same waves.",
)
@click.option(
    "--replay",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Run the schedule of a campaign journal (campaign.json) or a schedule file again.",
)
@click.option("--no-shrink", is_flag=True, help="Do not shrink a broken schedule.")
@click.option(
    "--reports",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Where <run-id>/ is written (default: the project's reports directory).",
)
def campaign(
    project_path: Path | None,
    duration: str | None,
    max_waves: int | None,
    seed: int | None,
    replay: Path | None,
    no_shrink: bool,
    reports: Path | None,
) -> None:
    """Run a chaos campaign: waves of overlapping faults drawn from the project's scenarios
    under continuous load, the invariants checked after each wave (alerts fired in time,
    steady state back, no silent failure, no acknowledged write lost), and the first break
    shrunk to the smallest schedule that still breaks it, written as a scenario file.

    Exit status: 0 every invariant held, 1 one broke, 2 bad input, 3 the environment or
    the replica failed, 5 inconclusive (an invariant broke while the host was saturated).
    """
    import secrets

    from gameday.inputs.campaign import read_schedule
    from gameday.inputs.monitoring import parse_duration_s
    from gameday.inputs.scenario import load_all
    from gameday.stages.campaign import CampaignPlan, run_campaign
    from gameday.stages.report.campaign import write_campaign_report

    if replay is not None and (duration or max_waves or seed is not None):
        raise click.UsageError(
            "--replay runs a recorded schedule: drop --duration, --waves, --seed"
        )
    project = _project(project_path)
    scenarios = load_all([project.scenarios_dir], project) if project.scenarios_dir.is_dir() else []
    if not scenarios:
        raise InputError(
            f"a campaign draws its faults from the project's scenarios, and "
            f"{project.scenarios_dir} (scenarios: in {project.source}) has none"
        )
    if replay is not None:
        schedule = read_schedule(replay, [s.name for s in scenarios])
        plan = CampaignPlan(replay=schedule, shrink=not no_shrink)
    else:
        try:
            duration_s = (
                parse_duration_s(duration, 0.0) if duration else project.spec.campaign.duration
            )
        except ValueError:
            raise click.BadParameter(
                f"expected a duration such as 10m or 90s, got {duration!r}", param_hint="--duration"
            ) from None
        if duration_s <= 0:
            raise click.BadParameter("expected a duration above 0", param_hint="--duration")
        plan = CampaignPlan(
            seed=secrets.randbelow(1_000_000) if seed is None else seed,
            duration_s=None if max_waves and not duration else duration_s,
            max_waves=max_waves,
            shrink=not no_shrink,
        )
    reports = reports or project.reports_dir
    record, path = run_campaign(project, scenarios, plan, progress=progress, reports_dir=reports)
    page = write_campaign_report(record, path.parent)
    click.echo(_campaign_summary(record))
    click.echo(f"\njournal: {path}\nreport:  {page}")
    if record.shrink is not None:
        click.echo(f"smallest failing scenario: {record.shrink.scenario_file}")
    sys.exit({"held": 0, "inconclusive": EXIT_INCONCLUSIVE, "not_run": 3}.get(record.verdict, 1))


def _campaign_summary(record: CampaignRecord) -> str:
    minutes = record.duration_s / 60
    faults = len(record.faults)
    lines = [
        f"\ncampaign {record.run_id} (seed {record.seed}): {record.verdict.upper()}: "
        f"{len(record.waves)} waves, {faults} faults in {minutes:.1f} min",
    ]
    for violation in record.violations:
        mark = "inconclusive" if violation.inconclusive else "broken"
        lines.append(f"  wave {violation.wave}: {mark}: {violation.detail}")
    if record.shrink is not None and record.shrink.minimal is not None:
        kept = [f.scenario for w in record.shrink.minimal.waves for f in w.faults]
        runs = len(record.shrink.attempts)
        lines.append(
            f"  shrunk in {runs} runs to: {' + '.join(kept)}"
            + ("" if record.shrink.complete else " (stopped at the run limit)")
        )
    lines.extend(f"  note: {note}" for note in record.notes)
    return "\n".join(lines)


@cli.command("list")
@click.argument("paths", nargs=-1, type=click.Path())
@project_option
def list_scenarios(paths: tuple[str, ...], project_path: Path | None) -> None:
    """List scenarios: what breaks, which alert must fire, how fast."""
    from gameday.inputs.scenario import load_all

    project = _project(project_path, announce=False)
    for s in load_all(_scenario_paths(paths, project), project):
        alerts = ", ".join(s.detection.expect)
        click.echo(
            f"{s.name:<28} {alerts:<28} MTTD ≤ {s.targets.mttd_s:.0f} s, "
            f"MTTR ≤ {s.targets.mttr_s:.0f} s  {s.title}"
        )


@cli.command()
@click.option(
    "--compose-file",
    "compose_files",
    multiple=True,
    required=True,
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="The stack's compose file (repeat for overrides).",
)
@click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path(),
    help="Where gameday.yml and scenarios/ are written (default: here).",
)
@click.option("--force", is_flag=True, help="Overwrite files that exist.")
def init(compose_files: tuple[Path, ...], directory: Path, force: bool) -> None:
    """Write a project file (gameday.yml) and a first scenario for a compose file."""
    from gameday.inputs.scaffold import write_project

    for path in write_project(list(compose_files), directory, force=force):
        click.echo(f"wrote {path}")
    click.echo("next: edit them, then `gameday validate` and `gameday run --all`")


@cli.command()
@click.argument("which", type=click.Choice(["project", "scenario"]))
def schema(which: str) -> None:
    """Print the JSON Schema of the project file or of a scenario file (for editors)."""
    import json

    from gameday.inputs.project import ProjectSpec
    from gameday.inputs.scenario import Scenario

    model = ProjectSpec if which == "project" else Scenario
    click.echo(json.dumps(model.model_json_schema(), indent=2))


@cli.group()
def experiments() -> None:
    """Chaos Toolkit experiments generated from the scenarios."""


@experiments.command("generate")
@click.option("--check", is_flag=True, help="Only say which experiments are out of date.")
@project_option
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Where the experiments go (default: experiments/ beside the project file).",
)
def experiments_generate(check: bool, project_path: Path | None, out: Path | None) -> None:
    """Write experiments/*.json from the scenarios (and the Kubernetes ones), or --check them."""
    from gameday.adapters import kubernetes
    from gameday.adapters.chaostoolkit.generate import generate, stale, write

    project = _project(project_path, announce=False)
    out = out or project.root / "experiments"
    found = generate(project, out) + kubernetes.generate(out / "kubernetes")
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
    from gameday.adapters import kubernetes

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
    """Run the CLI and turn every way it can end into its exit status (see the module).

    The one place that catches everything: an exception no module wrapped is a bug, said
    in one line, with the traceback in a log file for the bug report (exit 4; exit 1 means
    a drill failed its grade, and a crash must not read as that)."""
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
    except Exception as exc:  # the last line of defence, by design
        _internal_error(exc, argv)


# The optional extras, by the top-level modules they install.
CHAOS_EXTRA_MODULES = frozenset({"chaoslib", "chaosk8s", "chaostoolkit"})
WEB_EXTRA_MODULES = frozenset({"starlette", "uvicorn"})


def _internal_error(exc: Exception, argv: list[str] | None) -> None:
    """Say in one line that gameday failed and where the details are, and exit 4.

    A missing optional extra is no bug: it is exit 3 with the command that installs it."""
    top = (exc.name or "").split(".")[0] if isinstance(exc, ModuleNotFoundError) else ""
    extra = "chaos" if top in CHAOS_EXTRA_MODULES else "web" if top in WEB_EXTRA_MODULES else ""
    if extra:
        click.echo(
            f"gameday: error: {top} is not installed: pip install 'gameday[{extra}]'",
            err=True,
        )
        sys.exit(3)
    details = "".join(traceback.format_exception(exc))
    try:
        lines = str(exc).strip().splitlines()
    except Exception:  # an exception whose message itself fails: its type says enough
        lines = []
    summary = f"{type(exc).__name__}: {lines[0][:300]}" if lines else type(exc).__name__
    log = _write_crash_log(details, argv)
    where = f"details in {log}" if log else "no log could be written; traceback follows"
    click.echo(f"gameday: internal error: {summary} ({where})", err=True)
    if log is None:
        click.echo(details, err=True, nl=False)
    sys.exit(EXIT_INTERNAL)


def _write_crash_log(details: str, argv: list[str] | None) -> Path | None:
    """Write a crash's traceback to the user's state dir (else the temp dir); its path,
    or None if neither can be written."""
    args = sys.argv[1:] if argv is None else argv
    text = (
        f"gameday {__version__}, Python {sys.version.split()[0]}, "
        f"{time.strftime('%Y-%m-%dT%H:%M:%S%z')}\n"
        f"command: gameday {' '.join(args)}\n\n{details}"
    )
    name = f"crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    for folder in (_state_dir(), Path(tempfile.gettempdir())):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / name
            path.write_text(text, encoding="utf-8", errors="replace")
            return path
        except OSError:
            continue
    return None


def _state_dir() -> Path:
    """Where gameday keeps state of its own: ``$GAMEDAY_STATE_DIR``, else
    ``~/.local/state/gameday`` (the fault ledger's folder too)."""
    configured = os.environ.get("GAMEDAY_STATE_DIR")
    if configured:
        return Path(configured)
    try:
        return Path.home() / ".local" / "state" / "gameday"
    except RuntimeError:  # no home directory to be found
        return Path(tempfile.gettempdir())
