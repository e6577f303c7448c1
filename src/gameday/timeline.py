"""The drill's timeline: every event of a drill, timestamped, in one record.

Every stage appends to the same :class:`Timeline`; grading reads it and the report tells
it. Times are wall-clock UTC (the replica's containers share the host's clock, so
Alertmanager's ``startsAt`` and our own events are on one axis).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

__all__ = ["Event", "EventKind", "Timeline", "utcnow"]


def utcnow() -> datetime:
    return datetime.now(UTC)


class EventKind(StrEnum):
    """What happened. The values are the journal's words."""

    DRILL_STARTED = "drill_started"
    STEADY_STATE_VERIFIED = "steady_state_verified"
    FAULT_INJECTED = "fault_injected"
    FIRST_FAILED_REQUEST = "first_failed_request"
    ALERT_PENDING = "alert_pending"
    ALERT_FIRING = "alert_firing"
    ALERT_RESOLVED = "alert_resolved"
    ACKNOWLEDGED = "acknowledged"
    NOTE = "note"
    CLOCK_MARKED = "clock_marked"  # the responders did what a clock asks (subject: the clock)
    CLOCK_REMINDED = "clock_reminded"  # the screen said a clock is due or overdue
    RECOVERY_STARTED = "recovery_started"
    RECOVERY_STEP = "recovery_step"
    RECOVERY_DONE = "recovery_done"
    MITIGATED = "mitigated"
    STEADY_STATE_BACK = "steady_state_back"
    DETECTION_GAP = "detection_gap"  # users broken, no alert firing
    FAULT_REVERTED = "fault_reverted"
    DRILL_ENDED = "drill_ended"


@dataclass(frozen=True)
class Event:
    at: datetime
    kind: EventKind
    detail: str = ""
    subject: str = ""  # the alert, service or step the event is about

    def to_json(self) -> dict[str, str]:
        return {
            "at": self.at.isoformat(),
            "kind": self.kind.value,
            "subject": self.subject,
            "detail": self.detail,
        }


@dataclass
class Timeline:
    """Events in the order they were recorded; safe to append from several threads."""

    events: list[Event] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(
        self, kind: EventKind, detail: str = "", *, subject: str = "", at: datetime | None = None
    ) -> Event:
        event = Event(at=at or utcnow(), kind=kind, detail=detail, subject=subject)
        with self._lock:
            self.events.append(event)
        return event

    def first(self, kind: EventKind, subject: str | None = None) -> Event | None:
        with self._lock:
            for event in sorted(self.events, key=lambda e: e.at):
                if event.kind == kind and (subject is None or event.subject == subject):
                    return event
        return None

    def sorted(self) -> list[Event]:
        with self._lock:
            return sorted(self.events, key=lambda e: e.at)
