"""Durations in words people read: 4.2 s, 74 s, 2.5 min, 1.5 to 2.0 min.

One place for them, so the grade's reasons and the report say a time the same way.
"""

from __future__ import annotations

__all__ = ["range_text", "span_text"]


def span_text(seconds: float) -> str:
    """A duration in the unit that suits it: seconds, minutes or hours."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def range_text(low: float, high: float) -> str:
    """From ``low`` to ``high`` in one unit (the one that suits ``high``)."""
    if abs(high - low) < 0.05:
        return span_text(high)
    if high < 10:
        return f"{low:.1f} to {high:.1f} s"
    if high < 120:
        return f"{low:.0f} to {high:.0f} s"
    if high < 7200:
        return f"{low / 60:.1f} to {high / 60:.1f} min"
    return f"{low / 3600:.1f} to {high / 3600:.1f} h"
