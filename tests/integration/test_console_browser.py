"""The game-day console in a real browser, through one whole human drill on the bundled
replica: `gameday run --responder human --web`, headless Chromium (Debian's, driven by
Playwright) joins as a responder, acknowledges, runs the recovery command the page shows,
adds a note with markup in it, marks mitigated and reads the scoreboard. The journal must
show each action with who did it. Set GAMEDAY_SCREENSHOT_DIR to keep the two screenshots
(docs/img/console-live.png and console-scoreboard.png are made that way).
"""

from __future__ import annotations

import json
import os
import queue
import re
import shlex
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.docker]

REPO = Path(__file__).parents[2]
SCENARIO = REPO / "scenarios" / "database-outage.yml"
EVIL = (
    "<script>document.body.dataset.pwned='script'</script>"
    "<img src=x onerror=\"document.body.dataset.pwned='img'\">"
)
WHO = "Rita (responder)"


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("no Chromium to run the browser test (apt-get install chromium)")


class Run:
    """`gameday run --web` in a subprocess, its output read line by line."""

    def __init__(self, reports: Path) -> None:
        gameday = Path(sys.executable).with_name("gameday")
        self.process = subprocess.Popen(
            [
                *(str(gameday), "run", str(SCENARIO), "--responder", "human", "--web"),
                *("--time-box", "150", "--reports", str(reports)),
            ],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line.rstrip("\n"))
            self.lines.put(line)

    def console_url(self, timeout_s: float = 60) -> str:
        while True:
            line = self.lines.get(timeout=timeout_s)
            found = re.match(r"console: (http://127\.0\.0\.1:\d+/\?token=\S+)", line)
            if found:
                return found.group(1)

    def close(self) -> int:
        assert self.process.stdin is not None
        self.process.stdin.close()  # "press Enter to close it": the end of input does too
        return self.process.wait(timeout=240)


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Run]:
    running = Run(tmp_path / "reports")
    yield running
    if running.process.poll() is None:
        running.process.terminate()  # SIGTERM: gameday reverts and removes what it started
        running.process.wait(timeout=240)


def test_a_whole_drill_from_the_console(run: Run, tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    chromium = _chromium()
    url = run.console_url()
    token = url.split("token=")[1]
    keep = os.environ.get("GAMEDAY_SCREENSHOT_DIR")
    problems: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        assert page.goto(url.replace(token, "wrong")).status == 403  # type: ignore[union-attr]
        page.goto(url)
        page.wait_for_selector("#join-role option[value='responder']", state="attached")
        page.fill("#join-name", "Rita")
        page.select_option("#join-role", "responder")
        page.click("#join button")
        page.wait_for_selector("#me:has-text('you are Rita (responder)')")
        page.wait_for_selector("#phase.live", timeout=120_000)
        page.wait_for_selector(
            "#alerts li:has(.state-firing):has-text('DatabaseDown')", timeout=90_000
        )
        page.click("#ack")
        page.wait_for_selector("#answer:has-text('acknowledged')")
        command = page.text_content("pre.recovery[data-step='start_service postgres']") or ""
        assert command.startswith("docker start gameday-"), command
        done = subprocess.run(shlex.split(command), capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
        page.fill("#note", EVIL)
        page.click("#note-form button")
        page.wait_for_selector("#timeline li[data-kind='note'] .detail:has-text('<script>')")
        assert page.evaluate("document.body.dataset.pwned") is None
        notes = page.locator("#timeline li[data-kind='note'] .detail").all_text_contents()
        assert EVIL in notes
        if keep:
            page.screenshot(path=str(Path(keep) / "console-live.png"), full_page=True)
        page.click("#mitigate")
        page.wait_for_selector("#scoreboard-panel:not([hidden])", timeout=180_000)
        board = page.text_content("#scoreboard") or ""
        assert "MTTA" in board and "MTTD" in board and "MTTR" in board
        checks = page.locator("#scoreboard tr[data-check]").evaluate_all(
            "rows => rows.map(r => r.dataset.check)"
        )
        assert "mtta" in checks and "mttr" in checks
        report = page.get_attribute("#scoreboard a:has-text('the report')", "href")
        assert report == "report/index.html"
        page.set_viewport_size({"width": 1280, "height": 1400})
        if keep:
            page.locator("#scoreboard-panel").screenshot(
                path=str(Path(keep) / "console-scoreboard.png")
            )
        opened = page.goto(url.split("?")[0] + report)  # no token: the page's cookie
        assert opened is not None and opened.status == 200
        browser.close()
    status = run.close()
    assert status in (0, 1, 5), "\n".join(run.output[-40:])
    assert not [p for p in problems if "403" not in p], problems  # the wrong token's page
    journal = json.loads(next((tmp_path / "reports").glob("*/journal.json")).read_text())
    events = journal["scenarios"][0]["events"]
    by_kind = {(e["kind"], e["subject"]): e["detail"] for e in events}
    assert by_kind[("acknowledged", WHO)] == f"acknowledged by {WHO}"
    assert by_kind[("note", WHO)] == EVIL
    assert by_kind[("mitigated", WHO)] == f"marked mitigated by {WHO}"
    printed = "\n".join(run.output)
    assert f"acknowledged ({WHO})" in printed  # the terminal saw the page's actions
