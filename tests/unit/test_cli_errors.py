"""The CLI's promise: one clear message and a non-zero exit, never a traceback."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType

import pytest

from gameday.adapters.cli import main
from gameday.infra.docker_engine import client
from gameday.stages import report


def gameday(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gameday", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def test_no_docker_engine_is_one_clear_message_and_exit_3(tmp_path: Path) -> None:
    import os

    env = {**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/no-such.sock"}
    done = gameday("status", env=env)
    assert done.returncode == 3
    assert "gameday: error: no Docker engine answers" in done.stderr
    assert "Traceback" not in done.stderr


def project_naming(tmp_path: Path, compose: Path) -> Path:
    """A project file whose compose file is ``compose``."""
    project = tmp_path / "gameday.yml"
    project.write_text(f"compose: {compose}\n")
    return project


def test_a_missing_compose_file_is_bad_input_exit_2(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yml"
    done = gameday("up", "--check", "--project", str(project_naming(tmp_path, missing)))
    assert done.returncode == 2
    assert f"field 'compose.0': expected a compose file, {missing} does not exist" in (done.stderr)
    assert "Traceback" not in done.stderr


def test_unknown_command_is_a_usage_error() -> None:
    done = gameday("explode")
    assert done.returncode == 2
    assert "No such command 'explode'" in done.stderr


# -- in this process: what the CLI says when the machine or gameday itself fails -----------
#
# Every test here that names `run` or `build` also takes Docker away entirely (no `docker`
# on PATH, DOCKER_HOST at a socket that does not exist): were the check it tests missing,
# nothing could start a replica.

REPO = Path(__file__).resolve().parents[2]
SCENARIO = REPO / "scenarios" / "database-outage.yml"


@pytest.fixture(autouse=True)
def _keep_sigterm() -> Iterator[None]:
    """main() installs its SIGTERM handler; the test process keeps its own."""
    before = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, before)


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "state"
    monkeypatch.setenv("GAMEDAY_STATE_DIR", str(path))
    return path


@pytest.fixture
def no_docker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-such.sock")
    monkeypatch.setenv("GAMEDAY_STATE_DIR", str(tmp_path / "state"))  # no fault ledger of ours
    client.cache_clear()


def in_process(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """Run the CLI in this process: its exit status and what it wrote to stderr."""
    try:
        main(list(args))
        status = 0
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else 1
    return status, capsys.readouterr().err


def one_line(err: str) -> str:
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if not line.startswith("[")]  # progress
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.usefixtures("no_docker")
@pytest.mark.parametrize("command", [["build"], ["run", str(SCENARIO)]])
def test_no_docker_command_is_exit_3_saying_how_to_install_it(
    capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    status, err = in_process(capsys, *command)
    assert status == 3
    line = one_line(err)
    assert line.startswith("gameday: error: no `docker` command on PATH")
    assert "install Docker" in line and "scripts/setup.sh" in line


@pytest.mark.usefixtures("no_docker")
@pytest.mark.parametrize("command", [["build"], ["run", str(SCENARIO)]])
def test_a_binary_compose_file_is_exit_2_expecting_utf8_yaml(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: list[str]
) -> None:
    compose = tmp_path / "compose.yml"
    compose.write_bytes(b"services:\n\xff\xfe\x00\x89PNG\r\n")
    project = project_naming(tmp_path, compose)
    status, err = in_process(capsys, *command, "--project", str(project))
    assert status == 2
    assert one_line(err) == (
        f"gameday: error: {compose}: expected UTF-8 YAML, but byte 10 is not UTF-8 "
        "(is it a binary file?)"
    )


def test_k8s_plan_without_the_chaos_extra_is_exit_3_with_the_pip_command(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "chaosk8s", None)  # `import chaosk8s` now fails
    monkeypatch.setenv("GAMEDAY_K8S_ALLOWED_NAMESPACES", "shop-staging")
    status, err = in_process(capsys, "k8s", "plan", "--namespace", "shop-staging")
    assert status == 3
    line = one_line(err)
    assert "[chaos] extra" in line and "pip install 'gameday[chaos]'" in line


def _explode(exc: BaseException) -> Callable[..., object]:
    def raise_it(*args: object, **kwargs: object) -> object:
        raise exc

    return raise_it


@pytest.fixture
def a_run(tmp_path: Path) -> Path:
    """A run directory with a journal, for `gameday report` to get as far as publishing."""
    run_dir = tmp_path / "reports" / "run-1"
    run_dir.mkdir(parents=True)
    (run_dir / "journal.json").write_text("{}")
    return run_dir


def test_an_unexpected_exception_is_exit_4_with_the_traceback_in_a_log(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    state_dir: Path,
    a_run: Path,
) -> None:
    monkeypatch.setattr(report, "publish_run", _explode(ZeroDivisionError("a bug\nline 2")))
    status, err = in_process(capsys, "report", str(a_run))
    assert status == 4
    line = one_line(err)
    (log,) = state_dir.glob("crash-*.log")
    assert line == f"gameday: internal error: ZeroDivisionError: a bug (details in {log})"
    details = log.read_text()
    assert f"command: gameday report {a_run}" in details
    assert "Traceback (most recent call last)" in details
    assert "ZeroDivisionError: a bug" in details and "raise_it" in details


def test_the_log_goes_to_the_temp_dir_if_the_state_dir_cannot_be_written(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    a_run: Path,
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("GAMEDAY_STATE_DIR", str(blocker / "state"))  # under a file
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    monkeypatch.setattr(report, "publish_run", _explode(RuntimeError("boom")))
    status, err = in_process(capsys, "report", str(a_run))
    (log,) = (tmp_path / "tmp").glob("crash-*.log")
    assert status == 4
    assert one_line(err).endswith(f"RuntimeError: boom (details in {log})")


def test_a_missing_optional_module_anywhere_is_exit_3_not_a_bug(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, a_run: Path
) -> None:
    missing = ModuleNotFoundError("No module named 'chaoslib'", name="chaoslib")
    monkeypatch.setattr(report, "publish_run", _explode(missing))
    status, err = in_process(capsys, "report", str(a_run))
    assert status == 3
    assert one_line(err) == (
        "gameday: error: chaoslib is not installed: pip install 'gameday[chaos]'"
    )


@pytest.mark.parametrize(
    ("exc", "status"),
    [(KeyboardInterrupt(), 130), (SystemExit(143), 143), (SystemExit(1), 1)],
)
def test_interrupts_and_exits_keep_their_status(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    state_dir: Path,
    a_run: Path,
    exc: BaseException,
    status: int,
) -> None:
    monkeypatch.setattr(report, "publish_run", _explode(exc))
    assert in_process(capsys, "report", str(a_run))[0] == status
    assert not state_dir.exists()


def test_the_exit_statuses_are_in_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert (
        "Exit status: 0 done (every drill passed), 1 a drill failed its grade, 2 bad input, "
        "3 the environment or the replica failed, 4 internal error" in shown
    )


# -- gameday proxy serve: what it cannot start with is one line, exit 2 or 3 --------------

PROXY_CASES = {
    # case: (arguments, exit code, what the one line says)
    "port too large": (["--port", "99999"], 2, "API port 99999 is out of range"),
    "negative port": (["--port", "-1"], 2, "API port -1 is out of range"),
    "port in use": (["--port", "{taken}"], 3, "Address already in use"),
    "address not local": (
        ["--host", "203.0.113.5", "--allow-remote"],
        3,
        "cannot listen on 203.0.113.5:0: Cannot assign requested address",
    ),
    "beyond loopback": (["--host", "0.0.0.0"], 2, "--allow-remote"),
    "bad JSON": (["--config", "{dir}/bad.json"], 2, "bad.json: invalid JSON at line 1 column 2"),
    "binary": (["--config", "{dir}/binary.json"], 2, "binary.json: not UTF-8 text"),
    "an object": (["--config", "{dir}/object.json"], 2, "object.json: expected a JSON list"),
    "missing file": (["--config", "{dir}/none.json"], 2, "none.json: cannot read it"),
    "listen in use": (["--config", "{dir}/in-use.json"], 3, "bind: address already in use"),
}


@pytest.fixture(scope="module")
def proxy_configs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The folder of the config files of PROXY_CASES, and a port that is taken."""
    folder = tmp_path_factory.mktemp("proxy-config")
    with socket.create_server(("127.0.0.1", 0)) as squatter:
        taken = squatter.getsockname()[1]
        write_proxy_configs(folder, taken)
        yield {"dir": str(folder), "taken": str(taken)}


@pytest.fixture
def watchdog() -> Iterator[None]:
    """In-process runs of a server: if one did start, fail instead of serving for ever."""

    def expire(signum: int, frame: FrameType | None) -> None:
        raise AssertionError("the server started and kept running")

    previous = signal.signal(signal.SIGALRM, expire)
    sigterm = signal.getsignal(signal.SIGTERM)  # gameday.adapters.cli.main replaces it
    signal.alarm(30)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)
    signal.signal(signal.SIGTERM, sigterm)


@pytest.mark.usefixtures("watchdog")
@pytest.mark.parametrize("case", PROXY_CASES)
def test_proxy_serve_that_cannot_start_says_why_in_one_line(
    case: str, proxy_configs: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    from gameday.adapters.cli import main

    args, exit_code, says = PROXY_CASES[case]
    with pytest.raises(SystemExit) as exited:
        main(["proxy", "serve", "--port", "0", *(arg.format(**proxy_configs) for arg in args)])
    stderr = capsys.readouterr().err
    assert exited.value.code == exit_code, stderr
    errors = [line for line in stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1 and errors[0].startswith("gameday: error: "), stderr
    assert says in errors[0]


def test_proxy_serve_with_a_bad_port_is_one_line_in_a_real_process() -> None:
    done = gameday("proxy", "serve", "--port", "99999")
    assert done.returncode == 2
    assert done.stderr == "gameday: error: API port 99999 is out of range: it must be 0..65535\n"


def write_proxy_configs(folder: Path, taken: int) -> None:
    (folder / "bad.json").write_text("{bad")
    (folder / "binary.json").write_bytes(b"\xff\xfe\x00\x01binary")
    (folder / "object.json").write_text('{"name": "a"}')
    in_use = [{"name": "a", "listen": f"127.0.0.1:{taken}", "upstream": "postgres:5432"}]
    (folder / "in-use.json").write_text(json.dumps(in_use))
