"""`gameday run --web` at the edges: refused with a responder that is no person, a clear
line when the [web] extra is missing, and a console that cannot listen."""

from __future__ import annotations

from pathlib import Path

import pytest

from gameday.adapters import cli
from gameday.adapters.cli import main
from gameday.adapters.responders import HumanResponder
from gameday.adapters.web import Console, ConsoleServer
from gameday.errors import EnvironmentProblem

REPO = Path(__file__).resolve().parents[2]
SCENARIO = REPO / "scenarios" / "database-outage.yml"


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    try:
        main(list(args))
        status = 0
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else 1
    return status, capsys.readouterr().err


def test_web_is_refused_with_an_automatic_responder(capsys: pytest.CaptureFixture[str]) -> None:
    status, err = run_cli(capsys, "run", str(SCENARIO), "--responder", "auto", "--web")
    assert status == 2
    assert "--web is the console for people: use it with --responder human" in err


def test_a_missing_web_extra_says_how_to_install_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_starlette(*args: object) -> None:
        raise ModuleNotFoundError("No module named 'starlette'", name="starlette")

    monkeypatch.setattr(cli, "_console", no_starlette)
    monkeypatch.chdir(REPO)
    status, err = run_cli(capsys, "run", str(SCENARIO), "--responder", "human", "--web")
    assert status == 3
    lines = [line for line in err.splitlines() if not line.startswith("[")]
    assert lines == ["gameday: error: starlette is not installed: pip install 'gameday[web]'"]


def test_a_port_in_use_is_an_environment_problem_not_a_traceback() -> None:
    import io

    human = HumanResponder(io.StringIO(""), io.StringIO())
    first = ConsoleServer(Console(human)).start()
    try:
        with pytest.raises(EnvironmentProblem, match=r"cannot listen on 127\.0\.0\.1:\d+"):
            ConsoleServer(Console(human), port=first.port)
    finally:
        first.stop()
