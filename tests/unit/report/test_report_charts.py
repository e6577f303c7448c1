"""Charts and formats: round ticks, readable labels, escaped text, safe Markdown."""

from __future__ import annotations

import math
import re
import threading

import pytest

from gameday.stages.report import charts
from gameday.stages.report.templating import format_seconds, md_code, md_text


@pytest.mark.parametrize(
    ("span", "step"), [(60, 10), (25, 5), (1, 0.2), (0.03, 0.005), (900, 200), (0, 1)]
)
def test_ticks_are_round(span: float, step: float) -> None:
    assert charts.nice_step(span) == pytest.approx(step)


def test_an_axis_far_from_t0_with_a_tiny_span_has_few_ticks_and_ends() -> None:
    # 3e11 s (an event stamped in year 1, the drill in 9999) and a span of two floats
    # there (120 us): its round step, 2e-5 s, added to 3e11 changes nothing, so an axis
    # that stepped from tick to tick would never end.
    done: list[str] = []
    low = 3.15e11
    high = low + 2 * math.ulp(low)

    def draw() -> None:
        chart = charts.line_chart(
            [charts.Series("p95", [(low, 1.0)], "#000")],
            [],
            title="t",
            x_range=(low, high),
            unit="ms",
        )
        done.append(str(chart))

    worker = threading.Thread(target=draw, daemon=True)
    worker.start()
    worker.join(timeout=10)
    assert done, "the chart's time axis did not end"
    assert done[0].count("<text") <= 2 * charts.MAX_TICKS + 10


def test_a_gap_in_a_series_breaks_the_line() -> None:
    svg = charts.line_chart(
        [charts.Series("p95", [(0, 1.0), (1, 2.0), (2, None), (3, 2.0), (4, 1.0)], "#000")],
        [],
        title="t",
        x_range=(0, 4),
        unit="ms",
    )
    assert svg.count("<polyline") == 2


def test_step_series_hold_each_bucket_until_the_next() -> None:
    svg = charts.line_chart(
        [charts.Series("p95", [(0, 1.0), (1, 2.0)], "#000", step=True)],
        [],
        title="t",
        x_range=(0, 2),
        unit="ms",
    )
    (points,) = re.findall(r'points="([^"]+)"', svg)
    assert len(points.split()) == 4


def test_marker_labels_close_together_go_on_separate_rows() -> None:
    markers = [
        charts.Marker(0, "fault injected", "fault"),
        charts.Marker(0.5, "DatabaseDown firing", "alert"),
        charts.Marker(30, "steady state back", "steady"),
    ]
    rows = {m.label: row for m, row in charts._marker_rows(markers, charts._Scale(0, 60, 64, 744))}
    assert rows == {"fault injected": 0, "DatabaseDown firing": 1, "steady state back": 0}


def test_text_in_charts_is_escaped() -> None:
    evil = "<script>alert(1)</script>"
    svg = (
        str(
            charts.line_chart(
                [charts.Series(evil, [(0, 1.0)], "#000")],
                [charts.Marker(0, evil, "fault")],
                title=evil,
                x_range=(0, 1),
                unit="ms",
            )
        )
        + str(
            charts.alert_lanes(
                [charts.AlertLane(evil, 0, 1, None, False)], [], title=evil, x_range=(0, 2)
            )
        )
        + str(charts.mttd_bars([charts.MttdBar(evil, None, None, 1.0, 2.0)], budget_s=5))
        + str(charts.production_bars([charts.MttdBar(evil, 1, 2, 3, 4, 90, 120)], objective_s=300))
        + str(charts.sparkline([1.0, None], [False, True], title=evil))
    )
    assert "<script" not in svg
    assert svg.count("&lt;script&gt;") >= 6


def _width(svg: str, css: str) -> float:
    found = re.search(rf'width="([0-9.]+)" height="16" fill="[^"]+" class="{css}"', svg)
    assert found, css
    return float(found.group(1))


def test_mttd_bars_show_each_part_of_a_detection_to_scale() -> None:
    # symptom at 1 s, pending at 2 s, firing at 4 s, notified at 5 s
    svg = str(charts.mttd_bars([charts.MttdBar("DatabaseDown", 1.0, 2.0, 4.0, 5.0)], budget_s=15))
    system, evaluation = _width(svg, "mttd-the"), _width(svg, "mttd-evaluation")
    for_, group_wait = _width(svg, "mttd-for"), _width(svg, "mttd-group-wait")
    assert system == pytest.approx(evaluation, rel=0.01)
    assert for_ == pytest.approx(2 * system, rel=0.01)
    assert group_wait == pytest.approx(system, rel=0.01)
    assert "budget 15 s" in svg and "fired 4 s" in svg


def test_production_bars_mark_a_range_over_the_objective() -> None:
    bars = [
        charts.MttdBar("Fast", 1, 2, 3, 4, 90.0, 150.0),
        charts.MttdBar("Slow", 1, 2, 3, 4, 240.0, 420.0),
        charts.MttdBar("Never", None, None, None, None),
    ]
    svg = str(charts.production_bars(bars, objective_s=300))
    assert "playbook: MTTD &lt; 5 min" in svg
    ranges = re.findall(r'fill="(#[0-9a-f]+)" fill-opacity="0.75" class="production-range"', svg)
    assert ranges == ["#1e8449", "#c0392b"]  # within the objective, then over it
    assert "1.5 to 2.5 min" in svg and "4 to 7 min" in svg and "never fired" in svg


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "—"),
        (4.25, "4.2 s"),
        (74.4, "74 s"),
        (200, "3 min 20 s"),
        (2_592_000, "30 days"),
        (180, "3 min"),
        (9000, "2 h 30 min"),
    ],
)
def test_durations_read_like_a_person_would_say_them(seconds: float | None, text: str) -> None:
    assert format_seconds(seconds) == text


def test_markdown_prose_keeps_html_as_text_on_one_line() -> None:
    assert md_text("a <b>\nc & d") == "a &lt;b&gt; c &amp; d"


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("[x](javascript:alert(1))", r"\[x\](javascript:alert(1))"),
        ("![i](http://e/x.png)", r"!\[i\](http://e/x.png)"),
        ("[x][ref]", r"\[x\]\[ref\]"),
        ("<javascript:alert(1)>", "&lt;javascript:alert(1)&gt;"),
        ("**bold** _em_ ~~gone~~ `code`", r"\*\*bold\*\* \_em\_ \~\~gone\~\~ \`code\`"),
        ("# heading | cell", r"\# heading \| cell"),
        (r"a \[ b", r"a \\\[ b"),
        ("&lt; stays text", "&amp;lt; stays text"),
    ],
)
def test_markdown_prose_neutralises_links_and_formatting(text: str, escaped: str) -> None:
    assert md_text(text) == escaped


@pytest.mark.parametrize(
    ("text", "span"),
    [("start_service redis", "`start_service redis`"), ("a`b", "``a`b``"), ("`x`", "`` `x` ``")],
)
def test_markdown_code_spans_survive_backticks(text: str, span: str) -> None:
    assert md_code(text) == span
