"""The report in a real browser: headless Chromium opens index.html from a file:// URL.

Checks that the page renders its sections with no console message at all (the page has
no script, so any message is a problem: an error, a blocked resource, a CSP violation),
and that markup smuggled into the journal stays text. A control page proves the console
check sees errors. Set GAMEDAY_SCREENSHOT_DIR to keep the screenshot (docs/img/report.png
is made that way).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gameday.inputs.scenario import Scenario, load_scenario
from gameday.record import AlertSpan, LoadPoint, StepRecord
from gameday.stages.grading import Measurements, grade
from gameday.stages.journal import DrillResult, Journal, write_journal
from gameday.stages.report import record_run, render_history, render_run
from gameday.timeline import Event, EventKind

pytestmark = pytest.mark.browser

REPO = Path(__file__).parents[2]
T0 = datetime(2025, 3, 14, 10, 0, 0, tzinfo=UTC)
# Would change the page if it ran: the DOM is checked for its marks.
EVIL = (
    "<script>document.body.dataset.pwned='script'</script>"
    "<img src=x onerror=\"document.body.dataset.pwned='img'\">"
)
BROWSERS = ("chromium", "chromium-browser", "google-chrome")


@dataclass(frozen=True)
class Page:
    dom: str
    console: list[str]


def _browser() -> str:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("no Chromium to run the browser test (apt-get install chromium)")


def open_page(url: str, tmp_path: Path, *, screenshot: Path | None = None) -> Page:
    """Load ``url`` in headless Chromium; return the DOM after load and console lines."""
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    base = [
        _browser(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
    ]
    done = subprocess.run(
        [*base, "--dump-dom", url], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    if screenshot is not None:
        shot = subprocess.run(
            [*base, "--window-size=1280,2300", f"--screenshot={screenshot}", url],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert shot.returncode == 0, shot.stderr[-2000:]
    console = [
        line for line in done.stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line
    ]
    return Page(done.stdout, console)


def _drill(
    scenario: Scenario,
    *,
    start: datetime,
    mttd_s: float,
    mttr_s: float,
    note: str,
    noise: tuple[str, ...] = (),
) -> DrillResult:
    injected = start + timedelta(seconds=8)
    steady = injected + timedelta(seconds=mttr_s)
    fired = injected + timedelta(seconds=mttd_s)
    end = steady + timedelta(seconds=4)
    measurements = Measurements(
        alert_mttd_s={"DatabaseDown": mttd_s},
        mttr_s=mttr_s,
        p95_ms=410.0,
        error_rate=0.12,
        availability=0.88,
        lost_writes=0,
        noise=noise,
    )

    def at(seconds: float) -> datetime:
        return injected + timedelta(seconds=seconds)

    events = (
        Event(start, EventKind.DRILL_STARTED, scenario.title),
        Event(start + timedelta(seconds=6), EventKind.STEADY_STATE_VERIFIED),
        Event(injected, EventKind.FAULT_INJECTED, "stop postgres", "postgres"),
        Event(at(0.3), EventKind.FIRST_FAILED_REQUEST, "POST /tasks: 503"),
        Event(fired - timedelta(seconds=2), EventKind.ALERT_PENDING, "", "DatabaseDown"),
        Event(fired, EventKind.ALERT_FIRING, "", "DatabaseDown"),
        Event(fired + timedelta(seconds=0.4), EventKind.ACKNOWLEDGED, "on it", "alice"),
        Event(fired + timedelta(seconds=0.6), EventKind.NOTE, note, "alice"),
        Event(fired + timedelta(seconds=0.8), EventKind.RECOVERY_STARTED, "automatic responder"),
        Event(
            fired + timedelta(seconds=2.4),
            EventKind.RECOVERY_STEP,
            "done",
            "start_service postgres",
        ),
        Event(steady - timedelta(seconds=1), EventKind.ALERT_RESOLVED, "", "DatabaseDown"),
        Event(steady, EventKind.STEADY_STATE_BACK),
        Event(end - timedelta(seconds=1), EventKind.FAULT_REVERTED, "", "postgres"),
        Event(end, EventKind.DRILL_ENDED),
    )
    broken_until = mttr_s - 3
    series: list[dict[str, Any]] = []
    for second in range(int((end - start).total_seconds())):
        offset = second - 8
        broken = 0 <= offset < broken_until
        series.append(
            {
                "start": (start + timedelta(seconds=second)).isoformat(),
                "requests": 20,
                "errors": (7 if offset < 3 else 4) if broken else 0,
                "p50_ms": (160.0 + 10 * (offset % 3)) if broken else 11.0 + second % 2,
                "p95_ms": (880.0 + 40 * (offset % 4)) if broken else 32.0 + 3 * (second % 3),
            }
        )
    alerts = [
        {
            "name": "DatabaseDown",
            "labels": {"severity": "critical", "instance": "postgres-exporter:9187"},
            "pending_at": (fired - timedelta(seconds=2)).isoformat(),
            "firing_at": fired.isoformat(),
            "resolved_at": (steady - timedelta(seconds=1)).isoformat(),
        }
    ] + [
        {
            "name": name,
            "labels": {"severity": "warning", "instance": "gateway:8080"},
            "pending_at": at(1).isoformat(),
            "firing_at": at(4).isoformat(),
            "resolved_at": at(mttr_s - 2).isoformat(),
        }
        for name in noise
    ]
    return DrillResult(
        scenario=scenario,
        started_at=start,
        ended_at=end,
        injected_at=injected,
        events=events,
        measurements=measurements,
        grade=grade(scenario, measurements),
        faults=("stop postgres",),
        alerts=tuple(AlertSpan.model_validate(a) for a in alerts),
        steps=(
            StepRecord(
                action="start_service",
                target="postgres",
                ok=True,
                started_at=fired + timedelta(seconds=0.8),
                ended_at=fired + timedelta(seconds=2.4),
            ),
        ),
        load_series=tuple(LoadPoint.model_validate(point) for point in series),
        requests=20 * len(series),
        acknowledged=140,
        notes=(),
    )


@pytest.fixture
def report(tmp_path: Path) -> Path:
    """A reports directory with two runs a quarter apart; the second is slower."""
    base = load_scenario(REPO / "scenarios" / "database-outage.yml")
    slow = base.model_copy(
        update={
            "name": "database-outage-slow-responder",
            "title": "Database outage, slow responder",
        }
    )
    reports = tmp_path / "reports"
    run_dir = reports  # the last run's, once the loop is done
    for quarter, (mttd, mttr) in enumerate([(3.4, 14.0), (3.8, 21.0)]):
        start = T0 + timedelta(days=91 * quarter)
        journal = Journal(
            run_id=f"2025q{quarter + 1}",
            started_at=start,
            ended_at=start + timedelta(minutes=2),
            results=(
                _drill(
                    base,
                    start=start,
                    mttd_s=mttd,
                    mttr_s=mttr,
                    note="paged the DBA " + EVIL,
                    noise=("HighResponseTime",),
                ),
                _drill(
                    slow,
                    start=start + timedelta(seconds=40),
                    mttd_s=mttd,
                    mttr_s=mttr * 3,
                    note="waited for the DBA",
                ),
            ),
            timings_s={"bring_up": 38.2, "teardown": 5.9},
        )
        run_dir = write_journal(journal, reports).parent
        render_run(run_dir, scenarios_dir=REPO / "scenarios")
        record_run(journal.to_json(), reports / "history.sqlite")
    render_history(reports, scenarios_dir=REPO / "scenarios")
    return run_dir


def test_the_run_page_renders_its_sections_without_console_errors(
    report: Path, tmp_path: Path
) -> None:
    screenshot = tmp_path / "report.png"
    page = open_page((report / "index.html").as_uri(), tmp_path, screenshot=screenshot)
    assert page.console == []
    for anchor in (
        "summary",
        "scenario-database-outage",
        "scenario-database-outage-slow-responder",
        "coverage",
    ):
        assert f'id="{anchor}"' in page.dom
    assert page.dom.count("<svg") >= 8
    assert "Detection, part by part" in page.dom and "Responders\u2019 notes" in page.dom
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert screenshot.stat().st_size > 20_000  # a blank page is a few KB
    keep = os.environ.get("GAMEDAY_SCREENSHOT_DIR")
    if keep:
        shutil.copy(screenshot, Path(keep) / "report.png")


def test_markup_from_the_journal_does_not_run(report: Path, tmp_path: Path) -> None:
    page = open_page((report / "index.html").as_uri(), tmp_path)
    body = re.search(r"<body[^>]*>", page.dom)
    assert body is not None and "pwned" not in body.group(0)
    assert '<img src="x"' not in page.dom
    assert "paged the DBA &lt;script&gt;document.body.dataset.pwned" in page.dom


def test_the_history_page_renders_without_console_errors(report: Path, tmp_path: Path) -> None:
    page = open_page((report.parent / "index.html").as_uri(), tmp_path)
    assert page.console == []
    assert 'id="trends"' in page.dom and 'id="runs"' in page.dom and 'id="coverage"' in page.dom
    assert 'data-slower="true"' in page.dom  # the slow responder's MTTR got 50% slower
    assert 'href="2025q1/index.html"' in page.dom


def test_the_console_check_sees_errors(tmp_path: Path) -> None:
    control = tmp_path / "control.html"
    control.write_text("<!DOCTYPE html><p>x</p><script>console.error('seen'); nosuch();</script>")
    page = open_page(control.as_uri(), tmp_path)
    assert any("seen" in line for line in page.console)
    assert any("Uncaught ReferenceError" in line for line in page.console)
