"""The replica's capacity: the highest rate of the project's load that it carries within a
p95 latency and an error rate, with all services up or with some of them stopped.

:func:`find_capacity` offers a load source increasing rates, a few seconds each after a
warm-up that is not measured, and stops at the first rate above a carried one that the
replica does not carry (each tried twice: one noisy step on a shared machine must not
decide).
:class:`ProjectLoad` is the real source: the project's own load (stages/load.py, open loop)
on a running replica, a fresh generator per step. :func:`measure_capacity` runs the search
on a replica with the named services stopped through the fault ledger (so that a run that
is killed leaves nothing stopped for the next one) and started again, healthy, before it
returns.

It is a measurement, not a drill: nothing is graded and no journal written; the capacity
file (inputs/capacity.py) keeps the figures for ``gameday validate``.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from gameday import __version__
from gameday.errors import InputError, ReplicaError
from gameday.infra.replica import Replica
from gameday.inputs.capacity import CapacityStep, Condition, Machine, condition_name
from gameday.inputs.project import LoadSpec, Project
from gameday.inputs.scenario import Load, ServiceFault
from gameday.inputs.yamldoc import listed
from gameday.stages.faults import build_fault
from gameday.stages.faults.ledger import injected, revert_leftovers
from gameday.stages.load import LoadGenerator, load_for
from gameday.stages.steady_state import health_problems
from gameday.timeline import Timeline, utcnow
from gameday.waiting import poll

__all__ = [
    "DEFAULT_MAX_RATE",
    "DEFAULT_RATES",
    "Criteria",
    "LoadSample",
    "LoadSource",
    "ProjectLoad",
    "Search",
    "check_without",
    "find_capacity",
    "judge",
    "measure_capacity",
    "parse_rates",
    "rate_steps",
    "steps_table",
]

Progress = Callable[[str], None]

# Offered rates, requests/s: fine steps where small replicas give out, coarser above.
DEFAULT_RATES = (10, 20, 40, 60, 80, 100, 120, 150, 200, 250, 300, 400, 500)
# The load schema's own ceiling (LoadSpec.rate_per_s), and where the default steps end.
MAX_RATE = 500.0
DEFAULT_MAX_RATE = 300.0
# A step the load generator could not offer (this machine too busy to send the rate) says
# nothing about the replica: it does not pass.
MIN_SENT_SHARE = 0.9
# Rates not carried before any is: this many in a row end the search (see find_capacity).
MAX_LOW_MISSES = 3
# Time for the stopped services to be healthy again once they are started.
HEALTHY_AGAIN_TIMEOUT_S = 90.0


def _silent(_: str) -> None:
    pass


@dataclass(frozen=True)
class Criteria:
    """What carrying a rate means, and how long each step lasts."""

    p95_ms: float = 200.0
    max_error_rate: float = 0.01
    warmup_s: float = 2.0
    step_s: float = 5.0


@dataclass(frozen=True)
class LoadSample:
    """What the load saw in one step's measured window."""

    requests: int  # sent in the window, answered or not
    p95_ms: float | None  # of the successful requests; None when none succeeded
    error_rate: float


class LoadSource(Protocol):
    """Something that offers a rate of load and says what it saw."""

    def offer(self, rate_per_s: float, *, warmup_s: float, measure_s: float) -> LoadSample:
        """Offer ``rate_per_s`` for ``warmup_s`` unmeasured, then ``measure_s`` measured."""
        ...


@dataclass(frozen=True)
class Search:
    """The steps of one search and the capacity it found."""

    steps: tuple[CapacityStep, ...]
    capacity_per_s: float  # the highest rate carried; 0 when not even the first one
    at_least: bool  # every rate offered was carried
    limit: str  # what ended it, in words


def rate_steps(max_rate: float) -> list[float]:
    """The default steps up to ``max_rate``, which is always the last one."""
    if not 0 < max_rate <= MAX_RATE:
        raise InputError(f"--max-rate: expected a rate above 0 and at most {MAX_RATE:g}")
    return [float(r) for r in DEFAULT_RATES if r < max_rate] + [max_rate]


def parse_rates(text: str) -> list[float]:
    """Offered rates written as ``10,20,40``; raises InputError when they are not
    increasing rates above 0 and at most MAX_RATE."""
    try:
        rates = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        rates = []
    if not rates or any(not 0 < r <= MAX_RATE for r in rates):
        raise InputError(
            f"--rates: expected requests/s above 0 and at most {MAX_RATE:g}, separated by "
            f"commas (e.g. 10,20,40), got {text!r}"
        )
    _increasing(rates)
    return rates


def _increasing(rates: Sequence[float]) -> None:
    if not rates or any(b <= a for a, b in itertools.pairwise(rates)):
        raise InputError(
            f"--rates: expected increasing rates, got {', '.join(f'{r:g}' for r in rates)}"
        )


def judge(rate_per_s: float, sample: LoadSample, criteria: Criteria) -> CapacityStep:
    """Whether one step carried its rate, and if not, why not."""
    sent_per_s = sample.requests / criteria.step_s
    why = []
    if sent_per_s < MIN_SENT_SHARE * rate_per_s:
        why.append(
            f"only {sent_per_s:.1f} of {rate_per_s:g} requests/s were sent (the machine "
            "could not offer more)"
        )
    if sample.p95_ms is None:
        why.append("no request succeeded")
    elif sample.p95_ms > criteria.p95_ms:
        why.append(f"p95 {sample.p95_ms:.0f} ms over {criteria.p95_ms:g} ms")
    if sample.error_rate > criteria.max_error_rate:
        why.append(f"errors {sample.error_rate:.1%} over {criteria.max_error_rate:.1%}")
    return CapacityStep(
        rate_per_s=rate_per_s,
        requests=sample.requests,
        sent_per_s=round(sent_per_s, 2),
        p95_ms=None if sample.p95_ms is None else round(sample.p95_ms, 1),
        error_rate=round(sample.error_rate, 4),
        passed=not why,
        why="; ".join(why),
    )


def find_capacity(
    source: LoadSource,
    rates: Sequence[float],
    criteria: Criteria = Criteria(),
    progress: Progress = _silent,
) -> Search:
    """Offer ``rates`` in order; a rate not carried is offered once more. Once a rate was
    carried, the first rate not carried in either try ends the search, and the highest rate
    carried is the capacity. Until one is carried, a rate that is not is passed over, up to
    MAX_LOW_MISSES of them: a cost that a few requests pay whatever the rate (a load
    balancer that tries a dead backend again every few seconds) weighs more in the p95 of
    few requests than of many."""
    _increasing(rates)
    steps: list[CapacityStep] = []
    carried = 0.0
    low: list[CapacityStep] = []  # not carried, below every rate carried

    def step(rate: float) -> CapacityStep:
        sample = source.offer(rate, warmup_s=criteria.warmup_s, measure_s=criteria.step_s)
        result = judge(rate, sample, criteria)
        steps.append(result)
        progress(f"  {_step_line(result)}")
        return result

    for rate in rates:
        result = step(rate)
        if not result.passed:
            result = step(rate)  # once more: a neighbour's burst must not decide
        if not result.passed and carried:
            limit = f"{result.why} at {rate:g} requests/s{_below(low)}"
            return Search(tuple(steps), carried, False, limit)
        if not result.passed:
            low.append(result)
            if len(low) == MAX_LOW_MISSES:
                break
            continue
        carried = rate
    if not carried:
        tried = ", ".join(f"{s.rate_per_s:g}" for s in low)
        return Search(
            tuple(steps), 0.0, False, f"no rate carried ({tried} requests/s: {result.why})"
        )
    limit = f"every rate up to {carried:g} requests/s carried{_below(low)}"
    return Search(tuple(steps), carried, True, limit)


def _below(low: Sequence[CapacityStep]) -> str:
    """The rates not carried although a higher one was, in words."""
    if not low:
        return ""
    rates = ", ".join(f"{s.rate_per_s:g}" for s in low)
    return f"; not carried at {rates} requests/s below it ({low[-1].why})"


class ProjectLoad:
    """The project's load on a running service: a fresh open-loop generator per step, whose
    requests sent in the measured window are all waited for (a timeout is an error)."""

    def __init__(self, url: str, spec: LoadSpec) -> None:
        self._url = url
        self._spec = spec

    def offer(self, rate_per_s: float, *, warmup_s: float, measure_s: float) -> LoadSample:
        spec = load_for(self._spec, Load(rate_per_s=rate_per_s))
        # The whole timeout and a little: the slowest requests of the window count too.
        generator = LoadGenerator(self._url, spec, Timeline(), stop_grace_s=spec.timeout_s + 0.5)
        generator.start()
        try:
            time.sleep(warmup_s)
            begin = utcnow()
            time.sleep(measure_s)
            end = utcnow()
        finally:
            report = generator.stop()
        window = report.between(begin, end)
        return LoadSample(len(window.requests), window.p95_ms(), window.error_rate())


def check_without(project: Project, without: Iterable[str]) -> list[str]:
    """The services to stop, sorted, once each is known to be one that may be stopped;
    raises InputError naming the first that may not."""
    load = project.spec.load
    if load is None:
        raise InputError(
            f"{project.source}: the project has no load (load: in gameday.yml), and "
            "capacity is the rate of that load the replica carries"
        )
    allowed = project.fault_targets("service")
    for name in without:
        if name == load.target:
            raise InputError(
                f"--without {name}: the load goes to {name} (load.target); without it "
                "nothing answers"
            )
        if name not in allowed:
            raise InputError(
                f"--without: expected a service this project lets faults target "
                f"({listed(allowed)}), got {name!r}"
            )
    return sorted(set(without))


def measure_capacity(
    replica: Replica,
    *,
    without: Iterable[str] = (),
    rates: Sequence[float] | None = None,
    criteria: Criteria = Criteria(),
    progress: Progress = _silent,
    source: LoadSource | None = None,
) -> Condition:
    """The replica's capacity with ``without`` stopped (all services up when empty).

    The stopped services are started again (in any case, and recorded in the fault ledger
    while they are stopped); on a normal return the project's health endpoints answer
    again, else ReplicaError. ``source`` replaces the project's load (tests).
    """
    project = replica.project
    stopped = check_without(project, without)
    assert project.spec.load is not None  # check_without refuses a project without one
    chosen = list(rates) if rates is not None else rate_steps(DEFAULT_MAX_RATE)
    source = source or ProjectLoad(
        replica.endpoint(project.spec.load.target).url, project.spec.load
    )
    for entry in revert_leftovers(replica):
        progress(f"reverted a fault a dead run left: {entry.spec.type}")
    name = condition_name(stopped)
    machine = Machine.this_one()
    busy = machine.load_average_1m or 0.0
    if machine.cpu_count and busy > machine.cpu_count:
        progress(
            f"note: load average {busy:g} on {machine.cpu_count} cores: other work shares the "
            "machine, and the replica will carry less than on its own"
        )
    measured_at = utcnow()
    faults = [build_fault(ServiceFault(type="stop_service", service=s)) for s in stopped]
    progress(f"capacity {name}: {', '.join(f'{r:g}' for r in chosen)} requests/s")
    with injected(faults, replica):
        if faults:
            progress(f"  stopped {', '.join(stopped)}")
        search = find_capacity(source, chosen, criteria, progress)
    machine = machine.model_copy(update={"load_average_1m_end": Machine.this_one().load_average_1m})
    if faults:
        progress(f"  started {', '.join(stopped)} again")
        _wait_healthy(replica, stopped)
    return Condition(
        name=name,
        without=stopped,
        capacity_per_s=search.capacity_per_s,
        at_least=search.at_least,
        limit=search.limit,
        measured_at=measured_at,
        gameday_version=__version__,
        machine=machine,
        warmup_s=criteria.warmup_s,
        step_s=criteria.step_s,
        steps=list(search.steps),
    )


def _wait_healthy(replica: Replica, started: list[str]) -> None:
    waited = poll(
        lambda: health_problems(replica),
        lambda problems: not problems,
        timeout_s=HEALTHY_AGAIN_TIMEOUT_S,
        interval_s=0.5,
    )
    if not waited.ok:
        raise ReplicaError(
            f"after {', '.join(started)} started again, the replica was not healthy within "
            f"{HEALTHY_AGAIN_TIMEOUT_S:g} s: {'; '.join(waited.last)}"
        )


def _step_line(step: CapacityStep) -> str:
    p95 = "-" if step.p95_ms is None else f"{step.p95_ms:.0f} ms"
    verdict = "carried" if step.passed else f"not carried: {step.why}"
    return (
        f"{step.rate_per_s:g} requests/s: sent {step.sent_per_s:.1f}/s, p95 {p95}, "
        f"errors {step.error_rate:.1%}, {verdict}"
    )


def steps_table(condition: Condition) -> str:
    """The steps of one condition as a table, and the capacity found."""
    rows = [("offered", "sent", "requests", "p95", "errors", "result")]
    for step in condition.steps:
        rows.append(
            (
                f"{step.rate_per_s:g}/s",
                f"{step.sent_per_s:.1f}/s",
                str(step.requests),
                "-" if step.p95_ms is None else f"{step.p95_ms:.0f} ms",
                f"{step.error_rate:.1%}",
                "ok" if step.passed else step.why,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append(f"capacity {condition.name}: {condition.describe()} ({condition.limit})")
    lines.append(f"measured on {condition.machine.describe()}")
    return "\n".join(lines)
