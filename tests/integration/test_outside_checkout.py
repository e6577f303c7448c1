"""gameday as a new user meets it: a wheel installed in a fresh virtual environment, used
from a directory outside this checkout, on a stack that is not the bundled one.

The second example stack (examples/orders: an order API, MariaDB, a beanstalkd queue and
a worker, with its own rules, playbook and scenarios) is copied to a temporary directory,
validated, built and drilled end to end with the wheel's own ``gameday`` command; and
``gameday init`` starts a project from its compose file alone.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.docker

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "orders"


def run(args: list[str], cwd: Path, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GAMEDAY_", "VIRTUAL_ENV"))}
    env["GAMEDAY_STATE_DIR"] = str(cwd / ".state")
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="module")
def gameday_command(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``gameday`` of a wheel of this checkout, in a virtual environment of its own."""
    work = tmp_path_factory.mktemp("wheel")
    built = run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(work), str(REPO)],
        cwd=work,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = work.glob("gameday-*.whl")
    venv = work / "venv"
    made = run([sys.executable, "-m", "venv", str(venv)], cwd=work)
    assert made.returncode == 0, made.stderr
    installed = run(
        [str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", str(wheel)],
        cwd=work,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return venv / "bin" / "gameday"


@pytest.fixture(scope="module")
def orders(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the example stack, far from this checkout."""
    target = tmp_path_factory.mktemp("team-repo") / "orders"
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns("reports"))
    assert REPO not in target.parents
    return target


def test_the_wheel_validates_the_example_project_from_its_own_directory(
    gameday_command: Path, orders: Path
) -> None:
    done = run([str(gameday_command), "validate"], cwd=orders / "scenarios")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"ok  {orders / 'gameday.yml'}" in done.stdout
    assert "scenarios valid" in done.stdout


def test_the_wheel_drills_the_example_stack_end_to_end(gameday_command: Path, orders: Path) -> None:
    built = run([str(gameday_command), "build"], cwd=orders)
    assert built.returncode == 0, built.stderr[-3000:]
    done = run([str(gameday_command), "run", "--all"], cwd=orders, timeout=1500)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    journal = json.loads((orders / "reports" / "latest" / "journal.json").read_text())
    drills = journal["scenarios"]
    assert len(drills) >= 3
    for drill in drills:
        assert drill["passed"], (drill["name"], drill["reasons"])
        assert drill["mttd_s"] is not None and drill["mttr_s"] is not None
        assert drill["lost_writes"] == 0
        fired = {a["name"] for a in drill["alerts"] if a.get("firing_at")}
        assert set(drill["alert_mttd_s"]) <= fired
    assert (orders / "reports" / "latest" / "index.html").is_file()
    assert (orders / "reports" / "index.html").is_file()


def test_init_starts_a_project_that_validates(gameday_command: Path, orders: Path) -> None:
    fresh = orders.parent / "fresh"
    fresh.mkdir()
    shutil.copy(orders / "docker-compose.yml", fresh / "docker-compose.yml")
    if (orders / "monitoring").is_dir():
        shutil.copytree(orders / "monitoring", fresh / "monitoring")
    done = run([str(gameday_command), "init", "--compose-file", "docker-compose.yml"], cwd=fresh)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (fresh / "gameday.yml").is_file()
    checked = run([str(gameday_command), "validate"], cwd=fresh)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "1 scenarios valid" in checked.stdout


def test_a_directory_without_a_project_is_told_where_gameday_looked(
    gameday_command: Path, tmp_path: Path
) -> None:
    done = run([str(gameday_command), "validate"], cwd=tmp_path)
    assert done.returncode == 2
    assert f"no gameday.yml in {tmp_path}" in done.stderr
    assert "Traceback" not in done.stderr
