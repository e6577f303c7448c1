"""Silent failures: users broken while no alert fires.

An expected alert that fires in time proves that detection works for the fault the
scenario names. It does not prove that nobody suffered unseen: users may fail before the
alert, after it resolves, or for a reason no rule looks at. :func:`detection_gaps` walks
the drill's load in windows of the steady state's length and finds the stretches, from
the fault on, in which the users' error rate (or p95, when the steady state limits it)
broke the steady state's limits while no alert at all was firing. Stretches shorter than
the scenario allows (by default its detection budget: detection takes some time) are
left out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from gameday.record import AlertSpan, DetectionGap
from gameday.stages.load import RequestRecord, percentile

__all__ = ["GapLimits", "detection_gaps"]


@dataclass(frozen=True)
class GapLimits:
    max_error_rate: float
    max_p95_ms: float | None
    window_s: float
    min_gap_s: float  # shorter stretches are detection latency, not a gap


def detection_gaps(
    requests: Sequence[RequestRecord],
    alerts: Sequence[AlertSpan],
    since: datetime,
    until: datetime,
    limits: GapLimits,
) -> tuple[DetectionGap, ...]:
    """The silent stretches between ``since`` (the fault) and ``until``."""
    if until <= since or limits.window_s <= 0:
        return ()
    count = math.ceil((until - since).total_seconds() / limits.window_s)
    window = timedelta(seconds=limits.window_s)
    buckets: list[list[RequestRecord]] = [[] for _ in range(count)]
    for request in requests:
        if since <= request.at < until:
            index = int((request.at - since).total_seconds() // limits.window_s)
            buckets[min(index, count - 1)].append(request)
    firing = [_span(a, until) for a in alerts if a.firing_at is not None]
    gaps: list[DetectionGap] = []
    run: list[int] = []
    for i in range(count + 1):
        silent = False
        if i < count:
            start = since + i * window
            silent = _broken(buckets[i], limits) and not any(
                f0 < start + window and start < f1 for f0, f1 in firing
            )
        if silent:
            run.append(i)
            continue
        if run:
            gap = _gap(run, buckets, limits)
            if gap.seconds >= limits.min_gap_s:
                gaps.append(gap)
            run = []
    return tuple(gaps)


def _span(alert: AlertSpan, until: datetime) -> tuple[datetime, datetime]:
    assert alert.firing_at is not None
    return alert.firing_at, alert.resolved_at or until


def _broken(records: Sequence[RequestRecord], limits: GapLimits) -> bool:
    if not records:
        return False
    error_rate = sum(1 for r in records if r.failed) / len(records)
    if error_rate > limits.max_error_rate:
        return True
    if limits.max_p95_ms is None:
        return False
    p95 = percentile([r.latency_ms for r in records if not r.failed], 0.95)
    return p95 is not None and p95 > limits.max_p95_ms


def _gap(
    run: Sequence[int], buckets: Sequence[Sequence[RequestRecord]], limits: GapLimits
) -> DetectionGap:
    records = [r for i in run for r in buckets[i]]
    failed = sum(1 for r in records if r.failed)
    error_rate = failed / len(records) if records else 0.0
    p95 = percentile([r.latency_ms for r in records if not r.failed], 0.95)
    start_s, end_s = run[0] * limits.window_s, (run[-1] + 1) * limits.window_s
    seconds = end_s - start_s
    what = f"{error_rate:.0%} errors"
    if limits.max_p95_ms is not None and p95 is not None and p95 > limits.max_p95_ms:
        what += f" and a p95 of {p95:.0f} ms"
    return DetectionGap(
        start_s=start_s,
        end_s=end_s,
        error_rate=round(error_rate, 4),
        p95_ms=None if p95 is None else round(p95, 1),
        detail=f"users saw {what} for {seconds:.0f} s (T+{start_s:.0f} s); no alert was firing",
    )
