"""What the report reads: a run's ``journal.json``, as the journal's own typed record.

The schema is :mod:`gameday.record`, the same models the engine wrote the journal with;
this module only finds and parses the file, turning every way it can fail (unreadable,
not JSON, nested too deeply, not a journal) into a :class:`ReportError` that names the
file and the field.
"""

from __future__ import annotations

import json
from pathlib import Path

from gameday.errors import ReportError
from gameday.record import (
    AlertSpan,
    CheckRecord,
    DrillRecord,
    EventRecord,
    LoadPoint,
    PlaybookRef,
    RunRecord,
    StepRecord,
    TargetsRecord,
    parse_record,
)

__all__ = [
    "AlertSpan",
    "Check",
    "Drill",
    "JournalEvent",
    "LoadPoint",
    "PlaybookRef",
    "ReportError",
    "Run",
    "StepRecord",
    "Targets",
    "load_json",
    "parse_journal",
    "read_journal",
]

# The report's names for the records it reads.
Run = RunRecord
Drill = DrillRecord
Check = CheckRecord
JournalEvent = EventRecord
Targets = TargetsRecord


def read_journal(path: Path) -> Run:
    """Read and check ``journal.json``; raise :class:`ReportError` naming what is wrong."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ReportError(f"{path}: no journal here (was the run interrupted?)") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportError(f"{path}: cannot read the journal ({exc})") from exc
    return parse_journal(load_json(text, str(path)), str(path))


def load_json(text: str, source: str) -> object:
    """Parse a journal's text, turning every way JSON can fail into a ReportError."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReportError(
            f"{source}:{exc.lineno}: not valid JSON ({exc.msg} at column {exc.colno})"
        ) from exc
    except RecursionError as exc:
        raise ReportError(f"{source}: nested too deeply to be a journal") from exc
    except ValueError as exc:  # an integer past Python's 4300-digit limit
        raise ReportError(f"{source}: not a journal ({exc})") from exc


def parse_journal(data: object, source: str = "journal") -> Run:
    """Check a journal already loaded from JSON; ``source`` names it in errors."""
    return parse_record(data, source)
