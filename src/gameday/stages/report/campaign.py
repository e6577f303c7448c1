"""A campaign's report page (campaign.html beside campaign.json): the campaign as a
timeline (faults as bars, alerts, error rate, latency, the invariants that broke), the
waves, and the smallest schedule that still breaks the playbook."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from markupsafe import Markup

from gameday.errors import ReportError
from gameday.record import CampaignRecord, parse_campaign
from gameday.stages.report import charts
from gameday.stages.report.templating import environment, write_atomically

__all__ = ["CAMPAIGN_PAGE", "campaign_charts", "read_campaign", "write_campaign_report"]

CAMPAIGN_PAGE = "campaign.html"
CAPTION = "seconds from the campaign's start"
PLAYBOOK_COLOUR, REVERT_COLOUR = "#2471a3", "#7b8794"
ALERT_COLOUR = "#d35400"


def read_campaign(path: Path) -> CampaignRecord:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReportError(f"{path}: not a readable campaign journal: {exc}") from None
    return parse_campaign(data, str(path))


def _s(record: CampaignRecord, at: datetime | None) -> float | None:
    return None if at is None else (at - record.started_at).total_seconds()


def campaign_charts(record: CampaignRecord) -> dict[str, Markup]:
    end = max(record.duration_s, 1.0)
    x_range = (0.0, end)
    markers = [
        charts.Marker(_s(record, v.at) or 0.0, f"{v.invariant} (wave {v.wave})", "fault")
        for v in record.violations
        if v.at is not None
    ]
    fault_lanes = []
    for fault in record.faults:
        start, stop = _s(record, fault.injected_at), _s(record, fault.reverted_at)
        if start is None:
            continue
        colour = PLAYBOOK_COLOUR if fault.recovery == "playbook" else REVERT_COLOUR
        fault_lanes.append(
            charts.BarLane(
                f"w{fault.wave} {fault.scenario}",
                [(start, stop if stop is not None else end, colour, f"{fault.scenario}: in")],
            )
        )
    alert_spans: dict[str, list[tuple[float, float, str, str]]] = {}
    for alert in record.alerts:
        if alert.firing_at is None:
            continue
        start = _s(record, alert.firing_at) or 0.0
        stop = _s(record, alert.resolved_at)
        alert_spans.setdefault(alert.name, []).append(
            (start, end if stop is None else stop, ALERT_COLOUR, f"{alert.name}: firing")
        )
    alert_lanes = [charts.BarLane(name, spans) for name, spans in sorted(alert_spans.items())]
    series = record.load_series
    return {
        "faults": charts.bar_lanes(
            fault_lanes,
            markers,
            title="Faults (in until reverted)",
            x_range=x_range,
            caption=CAPTION,
            legend=[("out by playbook steps", PLAYBOOK_COLOUR), ("out by revert", REVERT_COLOUR)],
        ),
        "alerts": charts.bar_lanes(
            alert_lanes, [], title="Alerts firing", x_range=x_range, caption=CAPTION
        ),
        "errors": charts.line_chart(
            [
                charts.Series(
                    "error rate",
                    [(_s(record, p.at) or 0.0, p.error_rate) for p in series],
                    "#c0392b",
                    step=True,
                )
            ],
            markers,
            title="Error rate (per second)",
            x_range=x_range,
            unit="",
            percent=True,
            caption=CAPTION,
        ),
        "latency": charts.line_chart(
            [
                charts.Series(
                    "p95",
                    [(_s(record, p.at) or 0.0, p.p95_ms) for p in series],
                    "#2471a3",
                    step=True,
                )
            ],
            [],
            title="p95 latency (per second)",
            x_range=x_range,
            unit="ms",
            caption=CAPTION,
        ),
    }


def write_campaign_report(record: CampaignRecord, run_dir: Path) -> Path:
    """Render campaign.html into ``run_dir``; its path."""
    template = environment().get_template("campaign.html.j2")
    overhead = record.overhead_s
    wall = overhead.get("wall") or record.duration_s or 1.0
    own = sum(overhead.get(k, 0.0) for k in ("faults", "checks", "slip"))
    page = template.render(
        record=record,
        charts=campaign_charts(record),
        own_share=own / wall if wall else None,
        per_minute=len(record.faults) / (wall / 60) if wall else None,
        minimal_name=Path(record.shrink.scenario_file).name if record.shrink else "",
        schedule_name=Path(record.shrink.schedule_file).name if record.shrink else "",
    )
    path = run_dir / CAMPAIGN_PAGE
    write_atomically(path, page)
    return path
