"""A run's report: the page's sections and numbers, escaping, and the post-mortems."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from reportjournals import XSS, WriteRun, drill_json, journal_json, real_journal

from gameday.stages.report import ReportError, render_run

VOID = {"meta", "br", "img", "input", "link", "hr", "col", "wbr", "source", "area", "base"}
SVG_LEAVES = {"line", "polyline", "rect", "circle", "path"}


class _Tags(HTMLParser):
    """Collects problems with the nesting of tags, and every element's attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.elements: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()


def parse(html: str) -> _Tags:
    tags = _Tags()
    tags.feed(html)
    tags.close()
    return tags


def text_of(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


@pytest.fixture
def two_drills(write_run: WriteRun) -> Path:
    return write_run(
        journal_json(
            "run-1",
            drill_json(
                responder_notes=("paged the DBA " + XSS, "postgres is back"),
                noise=("HighResponseTime",),
            ),
            drill_json(
                "cache-failure",
                title="Cache failure",
                alert="RedisDown",
                drill="Cache failure simulation",
                mttd_s=None,
                mttr_s=None,
                lost_writes=2,
                notes=("the replica did not settle: " + XSS,),
            ),
        )
    )


def test_render_run_writes_the_page_and_one_post_mortem_per_scenario(two_drills: Path) -> None:
    written = render_run(two_drills)
    assert written == [
        two_drills / "index.html",
        two_drills / "postmortem-database-outage.md",
        two_drills / "postmortem-cache-failure.md",
    ]
    assert all(p.is_file() for p in written)
    assert not list(two_drills.glob(".*.tmp"))


def test_the_page_has_every_section(two_drills: Path) -> None:
    render_run(two_drills)
    html = (two_drills / "index.html").read_text()
    for anchor in ("summary", "scenario-database-outage", "scenario-cache-failure", "coverage"):
        assert f'id="{anchor}"' in html
    for heading in (
        "Summary",
        "Grade",
        "Through the drill",
        "Detection, part by part",
        "What it means in production",
        "Recovery",
        "Responders\u2019 notes",
        "Timeline",
        "Playbook coverage",
    ):
        assert f">{heading}" in html, heading
    # Per scenario: latency, error rate, alert lanes and MTTD breakdown, all inline SVG.
    assert html.count('class="chart line-chart"') == 4
    assert html.count('class="chart alert-lanes"') == 2
    assert html.count('class="chart mttd-bars"') == 2
    assert 'href="postmortem-database-outage.md"' in html


def test_the_page_is_well_formed_and_self_contained(two_drills: Path) -> None:
    render_run(two_drills)
    html = (two_drills / "index.html").read_text()
    tags = parse(html)
    open_tags = [t for t in tags.stack if t not in SVG_LEAVES]
    assert tags.problems == [] and open_tags == []
    assert "<script" not in html
    for tag, attrs in tags.elements:
        assert tag not in ("link", "img", "iframe", "object"), tag
        assert "src" not in attrs, (tag, attrs)
        href = attrs.get("href") or ""
        assert not href.startswith(("http:", "https:", "//")), href
    assert set(re.findall(r"https?://[^\s\"'<>]+", html)) == {"http://www.w3.org/2000/svg"}


def test_the_summary_shows_each_grade_against_its_targets(two_drills: Path) -> None:
    render_run(two_drills)
    html = (two_drills / "index.html").read_text()
    row = html.split('data-scenario="database-outage"')[1].split("</tr>")[0]
    text = text_of(row)
    assert "pass" in text
    assert "3.6 s budget ≤ 15 s production 1.5 to 2.0 min" in text
    assert "13 s budget ≤ 45 s" in text
    assert "340 ms target ≤ 2,500 ms" in text
    assert "12.0% target ≤ 50.0%" in text
    assert "88.00% no target" in text
    assert "0 of 140 acknowledged" in text
    assert 'data-reasons-for="database-outage"' not in html
    failed = text_of(html.split('data-scenario="cache-failure"')[1].split("</tr>")[0])
    assert "fail" in failed
    failed = text_of(html.split('data-reasons-for="cache-failure"')[1].split("</tr>")[0])
    assert "Why it failed: RedisDown never fired" in failed
    assert "steady state never came back (backend-1 unhealthy)" in failed
    assert "2 acknowledged writes lost" in failed
    assert 'class="num bad">2<' in html


def test_the_detection_table_gives_each_part_and_the_production_range(two_drills: Path) -> None:
    render_run(two_drills)
    html = (two_drills / "index.html").read_text()
    section = html.split('id="scenario-database-outage"')[1].split("</section>")[0]
    table = text_of(section.split('class="mttd"')[1].split("</table>")[0])
    # symptom 1.08 s, pending 1.8 s, firing 3.6 s, notified 4.6 s; drill settings add 1 to
    # 3 s; production 90 to 121 s
    assert "DatabaseDown 1.1 s 0.7 s 1.8 s 1.0 s 4.6 s 1.0 to 3.0 s 1.5 to 2.0 min pass" in table
    assert 'class="mttd-the"' in section and 'class="production-range"' in section
    cache = html.split('id="scenario-cache-failure"')[1].split("</section>")[0]
    assert "never fired" in cache


def test_charts_mark_the_fault_the_alert_the_recovery_and_the_steady_state(
    two_drills: Path,
) -> None:
    render_run(two_drills)
    html = (two_drills / "index.html").read_text()
    section = html.split('id="scenario-database-outage"')[1].split("</section>")[0]
    latency = section.split('class="chart line-chart"')[1].split("</svg>")[0]
    for kind, label in (
        ("fault", "fault injected"),
        ("alert", "DatabaseDown firing"),
        ("recovery", "recovery"),
        ("steady", "steady state back"),
    ):
        assert f"marker-{kind}" in latency
        assert f">{label}</text>" in latency
    assert 'data-series="p50"' in latency and 'data-series="p95"' in latency
    assert "p95 target 2500 ms" in latency


def test_the_timeline_and_notes_are_in_order_on_the_drills_clock(two_drills: Path) -> None:
    render_run(two_drills)
    html = (two_drills / "index.html").read_text()
    section = html.split('id="scenario-database-outage"')[1].split("</section>")[0]
    kinds = re.findall(r'data-kind="([a-z_]+)"', section)
    assert kinds[0] == "drill_started" and kinds[-1] == "drill_ended"
    assert kinds.index("fault_injected") < kinds.index("alert_firing")
    assert kinds.index("alert_firing") < kinds.index("steady_state_back")
    # The watch saw HighResponseTime without a journal event: it is on the timeline too.
    assert "HighResponseTime" in section.split('class="timeline"')[1]
    assert "T0" in section and "T+3.6 s" in section and "T\u22128.0 s" in section
    notes = section.split('class="notes"')[1].split("</ul>")[0]
    assert "paged the DBA" in notes and "postgres is back" in notes


def test_text_from_the_run_is_shown_as_text_never_as_markup(two_drills: Path) -> None:
    render_run(two_drills)
    html = (two_drills / "index.html").read_text()
    assert XSS not in html
    assert "<script" not in html
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert html.count(escaped) >= 3  # a responder's note (notes, timeline), an engine note


@pytest.mark.parametrize(
    "where",
    ["reason", "label", "title", "fault", "run_id", "step detail", "scenario name"],
)
def test_markup_anywhere_in_the_journal_is_escaped(write_run: WriteRun, where: str) -> None:
    evil = '"><img src=x onerror=alert(1)>' + XSS
    drill = drill_json(mttd_s=40.0)
    journal = journal_json("run-x", drill)
    if where == "reason":
        drill["reasons"] = [evil]
        drill["checks"][0]["reason"] = evil
    elif where == "label":
        drill["alerts"][0]["labels"]["instance"] = evil
    elif where == "title":
        drill["title"] = evil
    elif where == "fault":
        drill["faults"] = [evil]
        drill["events"][2]["subject"] = evil
    elif where == "run_id":
        journal["run_id"] = evil
    elif where == "step detail":
        drill["recovery_steps"][0].update(ok=False, detail=evil)
    elif where == "scenario name":
        drill["name"] = evil
    run_dir = write_run({**journal, "run_id": "run-x"})
    if where == "run_id":
        (run_dir / "journal.json").write_text(
            (run_dir / "journal.json").read_text().replace('"run-x"', '"\\"><img src=x>"', 1)
        )
    written = render_run(run_dir)
    html = written[0].read_text()
    assert "<script" not in html and "<img" not in html
    tags = parse(html)
    assert not any("onerror" in attrs for _, attrs in tags.elements)
    for path in written[1:]:
        # Inside a code span Markdown shows HTML as text; anywhere else it must be escaped.
        prose = re.sub(r"(`+).*?\1", "", path.read_text())
        assert "<script" not in prose and "<img" not in prose


MD_EVIL = "<img src=x>[x](javascript:alert(1))**b**"
UNESCAPED_LINK = re.compile(r"(?<!\\)\[[^\]\n]*(?<!\\)\]\(")


def test_every_value_in_the_post_mortem_is_escaped_markdown(write_run: WriteRun) -> None:
    drill = drill_json(mttd_s=40.0, noise=(MD_EVIL,), notes=(MD_EVIL,), responder_notes=(MD_EVIL,))
    drill.update(title=MD_EVIL, reasons=[MD_EVIL], faults=[MD_EVIL])
    drill["playbook"]["section"] = MD_EVIL
    drill["checks"][0].update(reason=MD_EVIL, measured=MD_EVIL, target=MD_EVIL)
    drill["recovery_steps"][0].update(ok=False, action=MD_EVIL, detail=MD_EVIL)
    drill["alerts"][0]["labels"]["instance"] = MD_EVIL
    for event in drill["events"]:
        event.update(subject=MD_EVIL, detail=MD_EVIL)
    drill["events"][1]["kind"] = MD_EVIL  # an event kind no gameday writes, shown as a label
    run_dir = write_run(journal_json("run-md", drill, responder=MD_EVIL))
    text = render_run(run_dir)[1].read_text()
    prose = re.sub(r"(`+).*?\1", "", text)  # code spans show their content as it is
    assert "<img" not in prose and "<script" not in prose
    assert not UNESCAPED_LINK.search(prose), UNESCAPED_LINK.search(prose)
    assert "**b**" not in prose
    assert prose.count(r"&lt;img src=x&gt;\[x\](javascript:alert(1))\*\*b\*\*") >= 10


def test_a_link_in_a_responders_note_is_shown_as_text(write_run: WriteRun) -> None:
    note = "fixed, see [runbook](javascript:alert(document.cookie))"
    run_dir = write_run(journal_json("run-link", drill_json(responder_notes=(note,))))
    text = render_run(run_dir)[1].read_text()
    assert r"see \[runbook\](javascript:alert(document.cookie))" in text
    assert "[runbook](" not in text


def test_a_real_journal_from_the_dataclasses_renders(write_run: WriteRun) -> None:
    run_dir = write_run(real_journal("real-run", note="rolled postgres " + XSS))
    written = render_run(run_dir)
    html = written[0].read_text()
    assert "Database outage" in html
    assert "4.2 s" in html  # DatabaseDown's MTTD
    assert "rolled postgres &lt;script&gt;" in html
    postmortem = written[1].read_text()
    assert "rolled postgres &lt;script&gt;alert(1)&lt;/script&gt;" in postmortem


def test_a_drill_without_load_or_injection_still_renders(write_run: WriteRun) -> None:
    drill = drill_json(mttd_s=None, mttr_s=None)
    drill.update(load_series=[], injected_at=None, alerts=[], recovery_steps=[], requests=0)
    drill["events"] = [e for e in drill["events"] if e["kind"] == "drill_started"]
    run_dir = write_run(journal_json("quiet", drill))
    html = render_run(run_dir)[0].read_text()
    assert "no load data in the journal" in html
    assert "no alert was seen during the drill" in html
    assert "(never injected)" in html
    assert "No recovery step ran." in html


def test_a_load_bucket_at_the_end_of_time_renders(write_run: WriteRun) -> None:
    drill = drill_json()
    drill["load_series"][-1]["start"] = "9999-12-31T23:59:59.999999+00:00"
    written = render_run(write_run(journal_json("far", drill)))
    assert 'class="chart line-chart"' in written[0].read_text()


def test_a_drill_stamped_at_both_ends_of_time_renders(write_run: WriteRun) -> None:
    journal = journal_json("ends")
    journal["scenarios"][0].update(
        injected_at="0001-01-01T00:00:00+00:00",
        started_at="9999-12-31T23:59:59.999800+00:00",
        ended_at="9999-12-31T23:59:59.999920+00:00",
        load_series=[],
    )
    written = render_run(write_run(journal))
    assert "Post-Mortem" in written[1].read_text()


def test_a_missing_journal_is_a_report_error(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match=r"run-9/journal\.json: no journal here"):
        render_run(tmp_path / "run-9")


def test_two_scenarios_with_one_file_name_are_refused(write_run: WriteRun) -> None:
    run_dir = write_run(journal_json("dup", drill_json("db"), drill_json("DB")))
    with pytest.raises(ReportError, match="two scenarios have the same name"):
        render_run(run_dir)


# -- post-mortems -------------------------------------------------------------------------

HEADINGS = [
    "# Incident Post-Mortem: Database outage",
    "## Summary",
    "## Timeline",
    "## Root Cause",
    "## Impact",
    "## Resolution",
    "## Prevention",
    "## Lessons Learned",
]


def test_the_post_mortem_follows_the_playbooks_template(two_drills: Path) -> None:
    render_run(two_drills)
    text = (two_drills / "postmortem-database-outage.md").read_text()
    lines = text.splitlines()
    positions = [lines.index(h) for h in HEADINGS]
    assert positions == sorted(positions)
    for field in ("**Date**", "**Duration**", "**Impact**", "**Severity**"):
        assert any(line.startswith(f"- {field}: ") for line in lines), field
    for field in ("**Users Affected**", "**Services Affected**", "**Business Impact**"):
        assert any(line.startswith(f"- {field}: ") for line in lines), field


def test_the_post_mortem_is_filled_from_the_journal(two_drills: Path) -> None:
    render_run(two_drills)
    text = (two_drills / "postmortem-database-outage.md").read_text()
    assert "- **Date**: 2025-03-14 (UTC)" in text
    assert "- **Duration**: 10:00:08 - 10:00:21 UTC (13 s)" in text
    assert "60 of 500 requests failed (12.0%" in text
    assert "- **Severity**: Critical" in text
    assert "- 10:00:08 (T0): Fault injected `postgres`: stop postgres" in text
    root_cause = text.split("## Root Cause")[1].split("##")[0]
    assert "- `stop postgres`" in root_cause
    assert "- **Services Affected**: `postgres`; alerts fired: `DatabaseDown`" in text
    resolution = text.split("## Resolution")[1].split("##")[0]
    assert "1. `start_service postgres`: done in 1.6 s" in resolution
    assert "MTTR 13 s against a budget of 45 s" in resolution
    lessons = text.split("## Lessons Learned")[1]
    assert "DatabaseDown fired 3.6 s after the fault, within the 15 s budget" in lessons
    assert "HighResponseTime" in lessons
    assert "paged the DBA &lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_the_post_mortem_of_a_failed_drill_lists_what_to_follow_up(two_drills: Path) -> None:
    render_run(two_drills)
    text = (two_drills / "postmortem-cache-failure.md").read_text()
    assert "not recovered when the drill ended" in text
    assert "The steady state did not come back before the drill ended." in text
    prevention = text.split("## Prevention")[1].split("##")[0]
    assert "- Follow up: RedisDown never fired" in prevention
    assert "- Follow up: 2 acknowledged writes lost" in prevention
    assert "the replica did not settle: &lt;script&gt;" in text.split("## Lessons Learned")[1]
    assert "**Severity**: **[FILL IN]**" in text


def test_what_the_journal_cannot_know_is_left_to_people(two_drills: Path) -> None:
    render_run(two_drills)
    text = (two_drills / "postmortem-database-outage.md").read_text()
    for section in ("## Root Cause", "## Impact", "## Prevention", "## Lessons Learned"):
        body = text.split(section)[1].split("\n## ")[0]
        assert "**[FILL IN]**" in body, section


def test_the_clocks_show_with_their_targets_and_verdicts(write_run: WriteRun) -> None:
    drill = drill_json()
    at = drill["injected_at"]
    drill["events"].append(
        {"at": at, "kind": "clock_marked", "subject": "status-page", "detail": "status page posted"}
    )
    drill["checks"] += [
        {
            "id": "clock:status-page",
            "label": "status page posted",
            "passed": False,
            "measured": "7.2 min",
            "target": "≤ 5 min",
            "reason": "status page posted after 7.2 min, over its 5 min clock",
            "subject": "status-page",
        },
        {
            "id": "clock:customer-email",
            "label": "customer email sent",
            "passed": False,
            "applicable": False,
            "measured": "not applicable",
            "target": "≤ 15 min, if the outage passes 15 min",
            "reason": "the outage lasted 13 s, not past the 15 min that calls for this clock",
            "subject": "customer-email",
        },
    ]
    written = render_run(write_run(journal_json("run-clocks", drill)))
    html = written[0].read_text()
    section = html.split("<h3>Communication and escalation clocks</h3>")[1].split("<h3>")[0]
    rows = re.findall(r'<tr class="(row-\w+)" data-clock="([\w-]+)">(.*?)</tr>', section)
    assert [(cls, name) for cls, name, _ in rows] == [
        ("row-fail", "status-page"),
        ("row-na", "customer-email"),
    ]
    assert "fail" in text_of(rows[0][2]) and "≤ 5 min" in rows[0][2]
    assert "n/a" in text_of(rows[1][2]) and "not past the 15 min" in rows[1][2]
    assert "status page posted" in text_of(html.split("notes</h3>")[1])
    postmortem = written[1].read_text()
    assert "### Communication and escalation clocks" in postmortem
    assert "- status page posted (target ≤ 5 min): MISSED, 7.2 min" in postmortem
    assert (
        "- customer email sent (target ≤ 15 min, if the outage passes 15 min): not applicable"
        in postmortem
    )
    # A clock that did not apply is no follow-up; one that was missed is.
    prevention = postmortem.split("## Prevention")[1].split("## Lessons")[0]
    assert "status page posted after 7.2 min" in prevention
    assert "customer email" not in prevention


def test_what_users_got_during_the_incident_is_shown_with_its_failures(
    write_run: WriteRun,
) -> None:
    drill = drill_json()
    drill["answers"] = [
        {"request": "pay-task", "answer": "HTTP 202", "count": 38, "failed": False, "p95_ms": 12},
        {"request": "pay-task", "answer": "HTTP 200", "count": 2, "failed": False},
        {"request": "read-task", "answer": "HTTP 503", "count": 4, "failed": True},
    ]
    run_dir = write_run(journal_json("run-1", drill))
    render_run(run_dir)
    html = (run_dir / "index.html").read_text()
    assert '<span class="flag" data-answer="read-task HTTP 503">' in html
    page = re.sub(r"<[^>]+>", "", html)
    assert (
        "Users gotfrom the fault to recovery: pay-task: 38 HTTP 202 (p95 12 ms), 2 HTTP 200; "
        "read-task: 4 HTTP 503 (failed)"
    ) in page
    postmortem = (run_dir / "postmortem-database-outage.md").read_text()
    assert (
        "- **What Users Got** (from the fault to recovery): `pay-task`: 38 HTTP 202 (p95 12 ms), "
        "2 HTTP 200; `read-task`: 4 HTTP 503 (failed)"
    ) in postmortem


def test_a_drill_without_answers_shows_no_line_for_them(write_run: WriteRun) -> None:
    drill = drill_json()
    drill["answers"] = []
    run_dir = write_run(journal_json("run-1", drill))
    render_run(run_dir)
    assert "Users got" not in (run_dir / "index.html").read_text()
    assert "What Users Got" not in (run_dir / "postmortem-database-outage.md").read_text()
