"""The capacity search against a FakeReplicaLoad (a replica whose latency is a function of
the rate offered), the real ProjectLoad against a FakeGateway, and the options' checks."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from drill_fakes import FakeGateway
from smallproject import PROJECT, write_small_project

from gameday import __version__
from gameday.errors import InputError
from gameday.inputs.project import Project, load_project
from gameday.stages.capacity import (
    DEFAULT_RATES,
    Criteria,
    LoadSample,
    ProjectLoad,
    check_without,
    find_capacity,
    judge,
    measure_capacity,
    parse_rates,
    rate_steps,
    steps_table,
)

BUNDLED_PROJECT_FILE = Path(__file__).resolve().parents[2] / "gameday.yml"
QUICK = Criteria(p95_ms=200, max_error_rate=0.01, warmup_s=0, step_s=5)


class FakeReplicaLoad:
    """A replica that carries up to ``knee`` requests/s at 50 ms and answers slowly above
    it; ``surprises`` lists the offers (by their number, from 0) that see a noisy
    neighbour's 900 ms instead, and below ``slow_below`` a few slow requests weigh in the
    p95 (a load balancer retrying a dead backend). It records every rate offered."""

    def __init__(
        self,
        knee: float,
        *,
        surprises: tuple[int, ...] = (),
        slow_below: float = 0,
        errors: Callable[[float], float] = lambda rate: 0.0,
    ) -> None:
        self.knee = knee
        self.surprises = surprises
        self.slow_below = slow_below
        self.errors = errors
        self.offered: list[float] = []

    def offer(self, rate_per_s: float, *, warmup_s: float, measure_s: float) -> LoadSample:
        noisy = len(self.offered) in self.surprises
        self.offered.append(rate_per_s)
        slow = noisy or rate_per_s > self.knee or rate_per_s < self.slow_below
        p95 = 900.0 if slow else 50.0
        return LoadSample(round(rate_per_s * measure_s), p95, self.errors(rate_per_s))


def test_the_capacity_is_the_highest_rate_carried_and_the_search_stops_after_it() -> None:
    source = FakeReplicaLoad(knee=70)
    search = find_capacity(source, [10, 20, 40, 60, 80, 100], QUICK)
    assert search.capacity_per_s == 60
    assert not search.at_least
    # 80 is not carried, tried again, and nothing above it is offered.
    assert source.offered == [10, 20, 40, 60, 80, 80]
    assert [s.passed for s in search.steps] == [True, True, True, True, False, False]
    assert search.steps[-1].why == "p95 900 ms over 200 ms"
    assert search.limit == "p95 900 ms over 200 ms at 80 requests/s"


def test_one_noisy_step_is_tried_again_and_does_not_end_the_search() -> None:
    source = FakeReplicaLoad(knee=70, surprises=(1,))  # the first offer of 20 is unlucky
    search = find_capacity(source, [10, 20, 40, 60, 80], QUICK)
    assert source.offered == [10, 20, 20, 40, 60, 80, 80]
    assert search.capacity_per_s == 60


def test_a_replica_that_carries_nothing_has_capacity_0_after_three_rates() -> None:
    source = FakeReplicaLoad(knee=5)
    search = find_capacity(source, [10, 20, 40, 60], QUICK)
    assert source.offered == [10, 10, 20, 20, 40, 40]
    assert (search.capacity_per_s, search.at_least) == (0, False)
    assert search.limit == "no rate carried (10, 20, 40 requests/s: p95 900 ms over 200 ms)"
    assert find_capacity(FakeReplicaLoad(knee=5), [10, 20], QUICK).capacity_per_s == 0


def test_rates_too_low_to_carry_do_not_end_the_search_before_one_is_carried() -> None:
    source = FakeReplicaLoad(knee=70, slow_below=15)
    search = find_capacity(source, [5, 10, 20, 40, 60, 80], QUICK)
    assert source.offered == [5, 5, 10, 10, 20, 40, 60, 80, 80]
    assert search.capacity_per_s == 60
    assert search.limit == (
        "p95 900 ms over 200 ms at 80 requests/s; not carried at 5, 10 requests/s below it "
        "(p95 900 ms over 200 ms)"
    )


def test_a_replica_that_carries_every_rate_has_at_least_the_last() -> None:
    search = find_capacity(FakeReplicaLoad(knee=1000), [10, 20, 40], QUICK)
    assert (search.capacity_per_s, search.at_least) == (40, True)
    assert search.limit == "every rate up to 40 requests/s carried"


def test_errors_over_the_limit_end_the_search_whatever_the_latency() -> None:
    source = FakeReplicaLoad(knee=1000, errors=lambda rate: 0.05 if rate >= 40 else 0.0)
    search = find_capacity(source, [10, 20, 40, 60], QUICK)
    assert search.capacity_per_s == 20
    assert search.steps[-1].why == "errors 5.0% over 1.0%"


def test_a_step_whose_p95_is_exactly_the_threshold_is_carried() -> None:
    step = judge(20, LoadSample(100, 200.0, 0.01), QUICK)
    assert step.passed and step.why == ""
    assert (step.sent_per_s, step.p95_ms, step.error_rate) == (20.0, 200.0, 0.01)


def test_a_step_the_load_generator_could_not_offer_is_not_carried() -> None:
    step = judge(100, LoadSample(400, 20.0, 0.0), QUICK)  # 80 of 100 requests/s sent
    assert not step.passed
    assert step.why == ("only 80.0 of 100 requests/s were sent (the machine could not offer more)")


def test_a_step_where_nothing_succeeded_says_so() -> None:
    step = judge(10, LoadSample(50, None, 1.0), QUICK)
    assert not step.passed
    assert step.why == "no request succeeded; errors 100.0% over 1.0%"


def test_rates_must_increase() -> None:
    with pytest.raises(InputError, match="expected increasing rates, got 20, 10"):
        find_capacity(FakeReplicaLoad(knee=100), [20, 10], QUICK)
    with pytest.raises(InputError, match="expected increasing rates"):
        find_capacity(FakeReplicaLoad(knee=100), [], QUICK)


def test_the_default_steps_end_at_the_maximum_rate() -> None:
    assert rate_steps(70) == [10, 20, 40, 60, 70]
    assert rate_steps(60) == [10, 20, 40, 60]
    assert rate_steps(5) == [5]
    assert rate_steps(500) == [float(r) for r in DEFAULT_RATES]
    with pytest.raises(InputError, match="--max-rate"):
        rate_steps(501)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("10,x", "--rates: expected requests/s above 0 and at most 500"),
        ("0,10", "--rates: expected requests/s above 0"),
        ("10,600", "at most 500"),
        ("nan", "at most 500"),
        ("", "got ''"),
        ("20,20", "--rates: expected increasing rates, got 20, 20"),
    ],
)
def test_bad_rates_are_refused_in_words(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_rates(text)


def test_rates_parse() -> None:
    assert parse_rates("5, 10,20.5") == [5, 10, 20.5]


class FakeReplica:
    """Just enough of a replica for a measurement that stops nothing: its project and run id
    (the fault ledger is asked for leftovers by run id)."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.run_id = "fake-run"


def test_a_measurement_is_recorded_with_its_machine_limits_and_steps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GAMEDAY_STATE_DIR", str(tmp_path / "state"))
    replica = FakeReplica(load_project(write_small_project(tmp_path)))
    measured = measure_capacity(
        replica,  # type: ignore[arg-type]
        rates=[10, 20, 40],
        criteria=QUICK,
        source=FakeReplicaLoad(knee=30),
    )
    assert (measured.name, measured.without) == ("all services", [])
    assert (measured.capacity_per_s, measured.at_least) == (20, False)
    assert [s.rate_per_s for s in measured.steps] == [10, 20, 40, 40]
    assert (measured.warmup_s, measured.step_s) == (0, 5)
    assert measured.gameday_version == __version__
    assert measured.machine.cpu_count == os.cpu_count()
    assert measured.machine.load_average_1m_end is not None
    assert steps_table(measured).splitlines()[-2:] == [
        "capacity all services: 20 requests/s (p95 900 ms over 200 ms at 40 requests/s)",
        f"measured on {measured.machine.describe()}",
    ]
    assert measured.machine.describe().startswith(f"a {os.cpu_count()}-core machine (load ")


# -- the real load, against a fake gateway ---------------------------------------------------


@pytest.fixture
def gateway() -> Iterator[FakeGateway]:
    with FakeGateway() as fake:
        yield fake


def _bundled_load_source(url: str) -> ProjectLoad:
    load = load_project(BUNDLED_PROJECT_FILE).spec.load
    assert load is not None
    return ProjectLoad(url, load)


def test_the_project_load_measures_only_the_window_after_the_warm_up(
    gateway: FakeGateway,
) -> None:
    sample = _bundled_load_source(gateway.url).offer(40, warmup_s=0.5, measure_s=1.0)
    assert 30 <= sample.requests <= 44  # 40 offered in the window; a busy machine sends fewer
    assert sample.error_rate == 0.0
    assert sample.p95_ms is not None and sample.p95_ms < 1000
    # The warm-up's requests reached the service but were not counted.
    assert len(gateway.tasks) > 0


def test_the_project_load_counts_failures(gateway: FakeGateway) -> None:
    gateway.fail_with = 503
    sample = _bundled_load_source(gateway.url).offer(20, warmup_s=0, measure_s=1.0)
    assert sample.requests > 0
    assert sample.error_rate == 1.0
    assert sample.p95_ms is None


# -- which services may be stopped -----------------------------------------------------------


def test_services_to_stop_are_checked_against_the_project(tmp_path: Path) -> None:
    project = load_project(write_small_project(tmp_path))
    assert check_without(project, ["db", "db"]) == ["db"]
    with pytest.raises(InputError, match=r"--without: expected a service this project lets "):
        check_without(project, ["cache"])
    with pytest.raises(InputError, match="--without web: the load goes to web"):
        check_without(project, ["web"])


def test_a_project_without_load_has_no_capacity(tmp_path: Path) -> None:
    without_load = PROJECT.split("load:")[0] + "commands:" + PROJECT.split("commands:")[1]
    project = load_project(write_small_project(tmp_path, without_load))
    with pytest.raises(InputError, match=r"the project has no load \(load: in gameday.yml\)"):
        check_without(project, [])


# -- the command's options, refused before anything starts -----------------------------------


def gameday(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "GAMEDAY_PROJECT"}
    # No Docker engine: an option that got as far as a replica would fail with exit 3.
    environment["DOCKER_HOST"] = f"unix://{cwd}/no-such.sock"
    return subprocess.run(
        [sys.executable, "-m", "gameday", "capacity", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=environment,
        check=False,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--without", "cache"],
            "gameday: error: --without: expected a service this project "
            "lets faults target (db, web), got 'cache'",
        ),
        (["--without", "web"], "gameday: error: --without web: the load goes to web"),
        (["--rates", "20,10"], "gameday: error: --rates: expected increasing rates, got 20, 10"),
        (["--rates", "ten"], "gameday: error: --rates: expected requests/s above 0"),
        (["--rates", "10", "--max-rate", "50"], "give --rates or --max-rate, not both"),
        (["--max-rate", "900"], "Invalid value for '--max-rate': 900.0 is not in the range"),
        (["--p95-ms", "0"], "Invalid value for '--p95-ms': 0.0 is not in the range 0<x<=3600000"),
        (["--max-error-rate", "2"], "Invalid value for '--max-error-rate'"),
        (["--step-s", "0.1"], "Invalid value for '--step-s'"),
    ],
)
def test_bad_options_are_one_clear_message_and_exit_2(
    tmp_path: Path, args: list[str], message: str
) -> None:
    write_small_project(tmp_path)
    done = gameday(*args, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "capacity.json").exists()


def test_a_broken_capacity_file_is_refused_before_the_measurement(tmp_path: Path) -> None:
    write_small_project(tmp_path)
    (tmp_path / "capacity.json").write_text("[]")
    done = gameday(cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert f"gameday: error: {tmp_path / 'capacity.json'}: " in done.stderr
