"""Charts as inline SVG, drawn in Python: the report needs no script and no network.

Each function takes plain numbers (seconds on the drill's clock, milliseconds, fractions)
and returns SVG markup that is safe to put into an HTML page: every text that reaches the
SVG is escaped here. Colours are attributes rather than CSS so that an SVG copied out of
the page still looks the same.

It is long because it draws SVG by hand (no plotting library in a self-contained
page): axes, lines, lanes and sparklines, each a function.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

__all__ = [
    "MARKER_COLOURS",
    "AlertLane",
    "BarLane",
    "Marker",
    "MttdBar",
    "Series",
    "alert_lanes",
    "bar_lanes",
    "line_chart",
    "mttd_bars",
    "production_bars",
    "sparkline",
]

MARKER_COLOURS = {
    "fault": "#c0392b",
    "alert": "#d35400",
    "recovery": "#2471a3",
    "steady": "#1e8449",
}
INK = "#1f2933"
MUTED = "#616e7c"
GRID = "#e4e7eb"
MINUS = "\u2212"  # a typographic minus sign reads better than a hyphen in "T-5 s"
# Every chart on the drill's clock has the same plot area, so that their time axes line up.
PLOT_LEFT, PLOT_RIGHT_MARGIN = 64, 16
FONT = "font-family=\"system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif\""


@dataclass(frozen=True)
class Series:
    """A line: (seconds, value) points; a None value breaks the line."""

    name: str
    points: Sequence[tuple[float, float | None]]
    colour: str
    dashed: bool = False
    step: bool = False  # each point holds until the next: buckets of a per-second series


@dataclass(frozen=True)
class Marker:
    """A vertical line at a moment of the drill: fault, alert, recovery or steady state."""

    at_s: float
    label: str
    kind: str  # a key of MARKER_COLOURS


@dataclass(frozen=True)
class AlertLane:
    label: str
    pending_s: float | None
    firing_s: float | None
    resolved_s: float | None
    expected: bool


@dataclass(frozen=True)
class BarLane:
    """A lane of spans on one clock: (start, end, colour, what it is) each."""

    label: str
    spans: Sequence[tuple[float, float, str, str]]


@dataclass(frozen=True)
class MttdBar:
    """One expected alert's detection, in seconds from the fault (None: not seen)."""

    alert: str
    symptom_s: float | None  # the first sample that showed it
    pending_s: float | None
    firing_s: float | None
    notify_s: float | None
    production_least_s: float | None = None  # projected fault -> notification
    production_most_s: float | None = None


def nice_step(span: float, count: int = 6) -> float:
    """A round tick step (1, 2 or 5 times a power of ten) giving about ``count`` ticks."""
    if span <= 0:
        return 1.0
    raw = span / count
    power = 10.0 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * power:
            return factor * power
    return 10 * power


MAX_TICKS = 50


def _ticks(low: float, high: float, count: int = 6) -> list[float]:
    """Round values from ``low`` to ``high``, about ``count`` of them.

    Counted, not stepped: far from T0 (an event stamped years off) a tiny step added to a
    large value changes nothing, and a loop that adds it would never end."""
    step = nice_step(high - low, count)
    first = math.ceil(low / step) * step
    ticks = []
    for i in range(MAX_TICKS):
        value = first + i * step
        if value > high + step * 1e-9:
            break
        ticks.append(round(value, 9))
    return ticks


def _nice_ceiling(value: float) -> float:
    if value <= 0:
        return 1.0
    step = nice_step(value, 4)
    return math.ceil(value / step) * step


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _seconds_label(value: float) -> str:
    if abs(value) < 1e-9:
        return "T0"
    return f"{'+' if value > 0 else MINUS}{_fmt(abs(value))} s"


def _text(
    x: float,
    y: float,
    content: str,
    *,
    anchor: str = "start",
    size: float = 11,
    colour: str = MUTED,
    weight: str = "normal",
    halo: bool = False,
) -> str:
    # A halo (a white outline under the letters) keeps a label readable over lines and bars.
    outline = ' stroke="#fff" stroke-width="3" paint-order="stroke"' if halo else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" fill="{colour}" '
        f'text-anchor="{anchor}" font-weight="{weight}"{outline} {FONT}>{escape(content)}</text>'
    )


def _marker_rows(markers: Sequence[Marker], scale_x: _Scale) -> list[tuple[Marker, int]]:
    """Give each marker label a row so that labels next to each other do not overlap."""
    placed: list[tuple[Marker, int]] = []
    row_ends: list[float] = []
    for marker in sorted(markers, key=lambda m: m.at_s):
        x = scale_x(marker.at_s)
        width = 6.2 * len(marker.label) + 8
        row = next((i for i, end in enumerate(row_ends) if end < x), None)
        if row is None:
            row = len(row_ends)
            row_ends.append(0.0)
        row_ends[row] = x + width
        placed.append((marker, row))
    return placed


class _Scale:
    def __init__(self, low: float, high: float, out_low: float, out_high: float) -> None:
        self.low, self.high = low, high if high > low else low + 1
        self.out_low, self.out_high = out_low, out_high

    def __call__(self, value: float) -> float:
        fraction = (value - self.low) / (self.high - self.low)
        return self.out_low + fraction * (self.out_high - self.out_low)


def _label_rows(markers: Sequence[Marker], scale_x: _Scale) -> int:
    return max((row for _, row in _marker_rows(markers, scale_x)), default=0) + 1


def _draw_markers(
    parts: list[str], markers: Sequence[Marker], sx: _Scale, top: float, bottom: float
) -> None:
    for marker, row in _marker_rows([m for m in markers if sx.low <= m.at_s <= sx.high], sx):
        x = sx(marker.at_s)
        colour = MARKER_COLOURS.get(marker.kind, INK)
        label_y = top - 6 - 13 * row
        parts.append(
            f'<line x1="{x:.1f}" y1="{label_y + 3:.1f}" x2="{x:.1f}" y2="{bottom:.1f}" '
            f'stroke="{colour}" stroke-width="1.5" stroke-dasharray="4 3" '
            f'class="marker marker-{escape(marker.kind)}"/>'
        )
        # A label that would run off the plot's right edge is drawn to the left of its line.
        width = 6.2 * len(marker.label)
        if x + 3 + width > sx.out_high + PLOT_RIGHT_MARGIN:
            parts.append(
                _text(x - 3, label_y, marker.label, colour=colour, size=10, halo=True, anchor="end")
            )
        else:
            parts.append(_text(x + 3, label_y, marker.label, colour=colour, size=10, halo=True))


def _time_axis(parts: list[str], sx: _Scale, top: float, bottom: float, caption: str) -> None:
    for tick in _ticks(sx.low, sx.high, 8):
        x = sx(tick)
        parts.append(
            f'<line x1="{x:.1f}" y1="{top:.1f}" x2="{x:.1f}" y2="{bottom:.1f}" '
            f'stroke="{GRID}" stroke-width="1"/>'
        )
        parts.append(_text(x, bottom + 14, _seconds_label(tick), anchor="middle", size=10))
    parts.append(_text(sx.out_high, bottom + 27, caption, anchor="end", size=10))


def _svg(width: int, height: int, title: str, parts: list[str], css_class: str) -> Markup:
    body = "".join(parts)
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{css_class}" '
        f'viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'preserveAspectRatio="xMinYMin meet"><title>{escape(title)}</title>{body}</svg>'
    )


def line_chart(
    series: Sequence[Series],
    markers: Sequence[Marker],
    *,
    title: str,
    x_range: tuple[float, float],
    unit: str,
    threshold: float | None = None,
    threshold_label: str = "target",
    percent: bool = False,
    width: int = 760,
    height: int = 240,
    caption: str = "seconds from the fault (T0)",
) -> Markup:
    """Lines over the drill's clock with vertical event markers and an optional target."""
    left, right = PLOT_LEFT, width - PLOT_RIGHT_MARGIN
    label_rows = _label_rows(markers, _Scale(*x_range, left, right))
    top, bottom = 22 + 13 * label_rows, height - 34
    sx = _Scale(x_range[0], x_range[1], left, right)
    values = [v for s in series for _, v in s.points if v is not None]
    peak = max([*values, threshold or 0.0, 0.0])
    y_high = _nice_ceiling(peak * 1.08) if peak > 0 else (0.05 if percent else 1.0)
    if percent:
        y_high = min(y_high, 1.0) if peak <= 1.0 else y_high
    sy = _Scale(0.0, y_high, bottom, top)
    parts: list[str] = [_text(left, 12, title, colour=INK, size=12, weight="600")]
    for tick in _ticks(0.0, y_high, 4):
        y = sy(tick)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="{GRID}"/>')
        shown = f"{_fmt(tick * 100)}%" if percent else f"{_fmt(tick)} {unit}"
        parts.append(_text(left - 6, y + 3.5, shown, anchor="end", size=10))
    _time_axis(parts, sx, top, bottom, caption)
    if threshold is not None and threshold <= y_high:
        y = sy(threshold)
        shown = f"{_fmt(threshold * 100)}%" if percent else f"{_fmt(threshold)} {unit}"
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="{MUTED}" '
            f'stroke-width="1" stroke-dasharray="2 3" class="threshold"/>'
        )
        parts.append(_text(right - 2, y - 4, f"{threshold_label} {shown}", anchor="end", size=10))
    if not values:
        parts.append(
            _text(
                (left + right) / 2,
                (top + bottom) / 2,
                "no load data in the journal",
                anchor="middle",
                size=12,
            )
        )
    for line in series:
        dash = ' stroke-dasharray="5 3"' if line.dashed else ""
        points = _steps(line.points) if line.step else line.points
        for segment in _segments(points):
            if len(segment) == 1:
                x, v = segment[0]
                parts.append(
                    f'<circle cx="{sx(x):.1f}" cy="{sy(v):.1f}" r="2" fill="{line.colour}"/>'
                )
                continue
            coords = " ".join(f"{sx(x):.1f},{sy(v):.1f}" for x, v in segment)
            parts.append(
                f'<polyline points="{coords}" fill="none" stroke="{line.colour}" '
                f'stroke-width="1.8" stroke-linejoin="round"{dash} '
                f'class="series" data-series="{escape(line.name)}"/>'
            )
    _draw_markers(parts, markers, sx, top, bottom)
    legend_x = float(left)
    for line in series:
        parts.append(
            f'<line x1="{legend_x}" y1="{height - 6}" x2="{legend_x + 16}" y2="{height - 6}" '
            f'stroke="{line.colour}" stroke-width="2"/>'
        )
        parts.append(_text(legend_x + 20, height - 2.5, line.name, size=10, colour=INK))
        legend_x += 30 + 6.2 * len(line.name)
    return _svg(width, height, title, parts, "chart line-chart")


def _steps(points: Sequence[tuple[float, float | None]]) -> list[tuple[float, float | None]]:
    ordered = sorted(points, key=lambda p: p[0])
    result: list[tuple[float, float | None]] = []
    for i, (x, value) in enumerate(ordered):
        if i + 1 < len(ordered):
            width = ordered[i + 1][0] - x
        else:
            width = x - ordered[i - 1][0] if i else 1.0
        result += [(x, value), (x + width, value)]
    return result


def _segments(
    points: Sequence[tuple[float, float | None]],
) -> list[list[tuple[float, float]]]:
    segments: list[list[tuple[float, float]]] = [[]]
    for x, v in sorted(points, key=lambda p: p[0]):
        if v is None:
            if segments[-1]:
                segments.append([])
        else:
            segments[-1].append((x, v))
    return [s for s in segments if s]


def alert_lanes(
    lanes: Sequence[AlertLane],
    markers: Sequence[Marker],
    *,
    title: str,
    x_range: tuple[float, float],
    width: int = 760,
) -> Markup:
    """One lane per alert: pending (light) then firing (strong) until resolved."""
    left, right = PLOT_LEFT, width - PLOT_RIGHT_MARGIN
    label_rows = _label_rows(markers, _Scale(*x_range, left, right))
    top = 22 + 13 * label_rows
    lane_h = 30
    bottom = top + max(len(lanes), 1) * lane_h + 4
    height = int(bottom + 34)
    sx = _Scale(x_range[0], x_range[1], left, right)
    parts: list[str] = [_text(left, 12, title, colour=INK, size=12, weight="600")]
    _time_axis(parts, sx, top, bottom, "seconds from the fault (T0)")
    _draw_markers(parts, markers, sx, top, bottom)  # under the lanes and their labels
    if not lanes:
        parts.append(
            _text(
                (left + right) / 2,
                top + 15,
                "no alert was seen during the drill",
                anchor="middle",
                size=12,
                halo=True,
            )
        )
    for i, lane in enumerate(lanes):
        y = top + 16 + i * lane_h
        label = lane.label if lane.expected else f"{lane.label} (unexpected)"
        parts.append(
            _text(
                left + 2, y - 3, label, size=10.5, colour=INK if lane.expected else MUTED, halo=True
            )
        )
        end_s = lane.resolved_s if lane.resolved_s is not None else x_range[1]
        colour = "#d35400" if lane.expected else "#7b8794"
        if lane.pending_s is not None:
            stop = lane.firing_s if lane.firing_s is not None else end_s
            parts.append(_bar(sx, lane.pending_s, stop, y, colour, 0.3, "pending"))
        if lane.firing_s is not None:
            parts.append(_bar(sx, lane.firing_s, end_s, y, colour, 0.9, "firing"))
    legend = [("pending", 0.3), ("firing", 0.9)]
    x = left
    for name, opacity in legend:
        parts.append(
            f'<rect x="{x}" y="{height - 12}" width="14" height="9" fill="#d35400" '
            f'fill-opacity="{opacity}"/>'
        )
        parts.append(_text(x + 18, height - 4, name, size=10, colour=INK))
        x += 80
    return _svg(width, height, title, parts, "chart alert-lanes")


def bar_lanes(
    lanes: Sequence[BarLane],
    markers: Sequence[Marker],
    *,
    title: str,
    x_range: tuple[float, float],
    caption: str,
    legend: Sequence[tuple[str, str]] = (),
    width: int = 760,
) -> Markup:
    """One lane per subject (a fault, an alert), its spans as bars on a shared clock."""
    left, right = PLOT_LEFT, width - PLOT_RIGHT_MARGIN
    sx = _Scale(x_range[0], x_range[1], left, right)
    top = 22 + 13 * _label_rows(markers, sx)
    lane_h = 24
    bottom = top + max(len(lanes), 1) * lane_h + 4
    height = int(bottom + 34)
    parts: list[str] = [_text(left, 12, title, colour=INK, size=12, weight="600")]
    _time_axis(parts, sx, top, bottom, caption)
    _draw_markers(parts, markers, sx, top, bottom)
    for i, lane in enumerate(lanes):
        y = top + 13 + i * lane_h
        parts.append(_text(left + 2, y - 2, lane.label, size=10.5, colour=INK, halo=True))
        for start, stop, colour, what in lane.spans:
            x0 = sx(max(start, sx.low))
            x1 = sx(min(max(stop, start), sx.high))
            parts.append(
                f'<rect x="{x0:.1f}" y="{y:.1f}" width="{max(x1 - x0, 2):.1f}" height="9" '
                f'rx="2" fill="{colour}" fill-opacity="0.85"><title>{escape(what)}</title></rect>'
            )
    x = float(left)
    for name, colour in legend:
        parts.append(f'<rect x="{x}" y="{height - 12}" width="14" height="9" fill="{colour}"/>')
        parts.append(_text(x + 18, height - 4, name, size=10, colour=INK))
        x += 40 + 6 * len(name)
    return _svg(width, height, title, parts, "chart bar-lanes")


def _bar(
    sx: _Scale, start: float, stop: float, y: float, colour: str, opacity: float, state: str
) -> str:
    x0 = sx(max(start, sx.low))
    x1 = sx(min(max(stop, start), sx.high))
    return (
        f'<rect x="{x0:.1f}" y="{y:.1f}" width="{max(x1 - x0, 2):.1f}" height="11" rx="2" '
        f'fill="{colour}" fill-opacity="{opacity}" class="alert-{state}"/>'
    )


# The parts of a detection, in the order they happen, and their colours.
MTTD_PARTS = (
    ("the system (fault to symptom)", "#d35400"),
    ("evaluation", "#f5b041"),
    ("for", "#9fb3c8"),
    ("group_wait", "#5d6d7e"),
)


def mttd_bars(bars: Sequence[MttdBar], *, budget_s: float | None, width: int = 760) -> Markup:
    """Each expected alert's detection in the drill, part by part, on its own clock."""
    left, right = 170, width - 90
    top, bar_h = 20, 26
    bottom = top + max(len(bars), 1) * bar_h
    height = bottom + 30
    longest = max([v or 0.0 for b in bars for v in (b.notify_s, b.firing_s)] + [budget_s or 0.0])
    sx = _Scale(0.0, _nice_ceiling(longest * 1.05) if longest > 0 else 1.0, left, right)
    parts: list[str] = []
    for tick in _ticks(0.0, sx.high, 6):
        x = sx(tick)
        parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{bottom}" stroke="{GRID}"/>')
        parts.append(_text(x, bottom + 14, f"{_fmt(tick)} s", anchor="middle", size=10))
    for i, bar in enumerate(bars):
        y = top + i * bar_h + 4
        parts.append(_text(left - 8, y + 13, bar.alert, anchor="end", size=11, colour=INK))
        if bar.firing_s is None:
            parts.append(
                _text(left + 4, y + 13, "never fired", size=11, colour="#c0392b", weight="600")
            )
            continue
        # Each boundary as far as it is known; an unknown one takes the next known one.
        pending = bar.pending_s if bar.pending_s is not None else bar.firing_s
        symptom = bar.symptom_s if bar.symptom_s is not None else pending
        notify = bar.notify_s if bar.notify_s is not None else bar.firing_s
        edges = [0.0, symptom, pending, bar.firing_s, notify]
        for (name, colour), start, stop in zip(MTTD_PARTS, edges, edges[1:], strict=False):
            if stop > start:
                x0, x1 = sx(start), sx(stop)
                css = name.split(" ")[0].replace("_", "-")
                parts.append(
                    f'<rect x="{x0:.1f}" y="{y}" width="{x1 - x0:.1f}" height="16" '
                    f'fill="{colour}" class="mttd-{css}"><title>{escape(name)}: '
                    f"{_fmt(stop - start)} s</title></rect>"
                )
        parts.append(
            _text(sx(notify) + 6, y + 12, f"fired {_fmt(bar.firing_s)} s", size=11, colour=INK)
        )
    if budget_s is not None:
        x = sx(budget_s)
        parts.append(
            f'<line x1="{x:.1f}" y1="{top - 6}" x2="{x:.1f}" y2="{bottom}" '
            f'stroke="#c0392b" stroke-width="1.5" stroke-dasharray="4 3"/>'
        )
        parts.append(
            _text(
                x, top - 9, f"budget {_fmt(budget_s)} s", anchor="middle", size=10, colour="#c0392b"
            )
        )
    x = 8
    for name, colour in MTTD_PARTS:
        parts.append(f'<rect x="{x}" y="{height - 12}" width="14" height="9" fill="{colour}"/>')
        parts.append(_text(x + 18, height - 4, name, size=10, colour=INK))
        x += 60 + 6 * len(name)
    return _svg(width, height, "Detection in the drill, part by part", parts, "chart mttd-bars")


def production_bars(
    bars: Sequence[MttdBar], *, objective_s: float | None, width: int = 760
) -> Markup:
    """Each alert's projected time to a notification in production, least to most, against
    the playbook's MTTD objective."""
    left, right = 170, width - 110
    top, bar_h = 22, 26
    bottom = top + max(len(bars), 1) * bar_h
    height = bottom + 34
    longest = max([b.production_most_s or 0.0 for b in bars] + [objective_s or 0.0])
    high_s = _nice_ceiling(longest / 60 * 1.05) * 60 if longest > 0 else 60.0
    sx = _Scale(0.0, high_s, left, right)
    parts: list[str] = []
    for tick in _ticks(0.0, high_s / 60, 6):
        x = sx(tick * 60)
        parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{bottom}" stroke="{GRID}"/>')
        parts.append(_text(x, bottom + 14, f"{_fmt(tick)} min", anchor="middle", size=10))
    for i, bar in enumerate(bars):
        y = top + i * bar_h + 4
        parts.append(_text(left - 8, y + 13, bar.alert, anchor="end", size=11, colour=INK))
        least, most = bar.production_least_s, bar.production_most_s
        if least is None or most is None:
            why = "never fired" if bar.firing_s is None else "no production settings"
            parts.append(_text(left + 4, y + 13, why, size=11, colour=MUTED))
            continue
        over = objective_s is not None and most > objective_s
        colour = "#c0392b" if over else "#1e8449"
        x0, x1 = sx(least), sx(most)
        parts.append(
            f'<rect x="{x0:.1f}" y="{y + 2}" width="{max(x1 - x0, 2):.1f}" height="12" rx="2" '
            f'fill="{colour}" fill-opacity="0.75" class="production-range">'
            f"<title>{escape(bar.alert)}: {_fmt(least / 60)} to {_fmt(most / 60)} min"
            "</title></rect>"
        )
        label = f"{_fmt(least / 60)} to {_fmt(most / 60)} min"
        parts.append(_text(x1 + 6, y + 12, label, size=11, colour=INK))
    if objective_s is not None:
        x = sx(objective_s)
        parts.append(
            f'<line x1="{x:.1f}" y1="{top - 6}" x2="{x:.1f}" y2="{bottom}" '
            f'stroke="#c0392b" stroke-width="1.5" stroke-dasharray="4 3"/>'
        )
        parts.append(
            _text(
                x,
                top - 10,
                f"playbook: MTTD < {_fmt(objective_s / 60)} min",
                anchor="middle",
                size=10,
                colour="#c0392b",
            )
        )
    parts.append(
        _text(
            8,
            height - 4,
            "bar: least to most time from the fault to a notification with production's settings",
            size=10,
            colour=MUTED,
        )
    )
    return _svg(width, height, "Detection in production, projected", parts, "chart production-bars")


def sparkline(
    values: Sequence[float | None],
    flagged: Sequence[bool] = (),
    *,
    width: int = 140,
    height: int = 30,
    title: str = "trend",
) -> Markup:
    """A small trend line; flagged points (regressions) are drawn as red dots."""
    known = [v for v in values if v is not None]
    parts: list[str] = []
    if len(values) >= 1 and known:
        sx = _Scale(0, max(len(values) - 1, 1), 4, width - 4)
        high = max(known) or 1.0
        sy = _Scale(0.0, high, height - 4, 4)
        points = [(float(i), v) for i, v in enumerate(values)]
        for segment in _segments(points):
            coords = " ".join(f"{sx(x):.1f},{sy(v):.1f}" for x, v in segment)
            parts.append(
                f'<polyline points="{coords}" fill="none" stroke="{MARKER_COLOURS["recovery"]}" '
                'stroke-width="1.5"/>'
            )
        for i, v in enumerate(values):
            if v is None:
                if i < len(flagged) and flagged[i]:  # never reached: a cross on the floor
                    x, y = sx(i), height - 5.0
                    parts.append(
                        f'<path d="M{x - 3:.1f},{y - 3:.1f}L{x + 3:.1f},{y + 3:.1f}'
                        f'M{x - 3:.1f},{y + 3:.1f}L{x + 3:.1f},{y - 3:.1f}" '
                        f'stroke="{MARKER_COLOURS["fault"]}" stroke-width="1.8" '
                        'class="regression"/>'
                    )
                continue
            bad = i < len(flagged) and flagged[i]
            colour = MARKER_COLOURS["fault"] if bad else MARKER_COLOURS["recovery"]
            css = "regression" if bad else "point"
            parts.append(
                f'<circle cx="{sx(i):.1f}" cy="{sy(v):.1f}" r="{3 if bad else 1.8}" '
                f'fill="{colour}" class="{css}"/>'
            )
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="sparkline" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img">'
        f"<title>{escape(title)}</title>{''.join(parts)}</svg>"
    )
