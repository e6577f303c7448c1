"""The history database: every run's results in one SQLite file (stdlib sqlite3, no server).

Readable with the ``sqlite3`` shell too: ``runs``, ``drills`` (one row per scenario of a
run), ``detections`` (one row per expected alert of a drill), ``verdicts`` and
``procedures`` (the playbook procedures a drill names as proved). Saving a
run again replaces what was saved for it. The pages are made elsewhere (history.py).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from gameday.stages.report.model import PlaybookRef, ReportError, Run

__all__ = [
    "DEFAULT_HISTORY",
    "DrillRecord",
    "History",
    "RunRecord",
    "drill_records",
    "load_history",
    "recording",
    "save_run",
]

DEFAULT_HISTORY = "history.sqlite"
# 2: each drill's verdict (passed, failed or inconclusive) in `verdicts`; a drill of a
# version 1 history has none and reads as passed or failed.
# 3: the playbook procedures each drill names (`procedures`); none in an older history.
SCHEMA_VERSION = 3

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    started_at TEXT NOT NULL,          -- UTC, ISO 8601: sorts in time order
    ended_at TEXT NOT NULL,
    passed INTEGER NOT NULL,
    responder TEXT NOT NULL,
    gameday_version TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS drills (
    run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    scenario TEXT NOT NULL,
    title TEXT NOT NULL,
    started_at TEXT NOT NULL,
    passed INTEGER NOT NULL,
    mttd_s REAL,
    mttr_s REAL,
    p95_ms REAL,
    error_rate REAL,
    availability REAL,
    lost_tasks INTEGER,
    requests INTEGER,
    reasons TEXT NOT NULL,             -- JSON list of strings
    playbook_section TEXT NOT NULL,
    playbook_drill TEXT,
    playbook_alerts TEXT NOT NULL,     -- JSON list of alert names
    PRIMARY KEY (run_id, scenario)
);
CREATE TABLE IF NOT EXISTS detections (
    run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    scenario TEXT NOT NULL,
    alert TEXT NOT NULL,
    mttd_s REAL,                       -- NULL: the alert never fired
    floor_s REAL,                      -- the most the drill's monitoring settings add
    passed INTEGER NOT NULL,           -- fired within the detection budget
    PRIMARY KEY (run_id, scenario, alert)
);
CREATE TABLE IF NOT EXISTS verdicts (
    run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    scenario TEXT NOT NULL,
    verdict TEXT NOT NULL,             -- passed, failed or inconclusive
    PRIMARY KEY (run_id, scenario)
);
CREATE TABLE IF NOT EXISTS procedures (
    run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    scenario TEXT NOT NULL,
    procedure TEXT NOT NULL,           -- as the scenario's playbook.procedures names it
    PRIMARY KEY (run_id, scenario, procedure)
);
"""


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    started_at: datetime
    ended_at: datetime
    passed: bool
    responder: str
    gameday_version: str


@dataclass(frozen=True)
class DrillRecord:
    """One scenario's result in one run, as the history keeps it."""

    run_id: str
    scenario: str
    title: str
    started_at: datetime
    passed: bool
    mttd_s: float | None
    mttr_s: float | None
    p95_ms: float | None
    error_rate: float | None
    availability: float | None
    lost_writes: int | None  # the column is lost_tasks, its name in the first version
    requests: int | None
    reasons: tuple[str, ...]
    playbook: PlaybookRef
    alert_mttd_s: Mapping[str, float | None]
    alert_config_s: Mapping[str, float | None]  # the most the drill's settings add
    alert_passed: Mapping[str, bool]
    verdict: str = ""  # passed, failed or inconclusive; "" in a version 1 history

    @property
    def outcome(self) -> str:
        return self.verdict or ("passed" if self.passed else "failed")


@dataclass(frozen=True)
class History:
    runs: tuple[RunRecord, ...]  # oldest first
    drills: tuple[DrillRecord, ...]  # oldest first

    def latest_by_scenario(self) -> dict[str, DrillRecord]:
        return {d.scenario: d for d in self.drills}


def drill_records(run: Run) -> list[DrillRecord]:
    """The history's view of a run's drills (also used for a run not recorded yet)."""
    records = []
    for d in run.drills:
        alert_passed = {}
        for alert, mttd in d.alert_mttd_s.items():
            check = d.check(f"mttd:{alert}")
            alert_passed[alert] = check.passed if check is not None else mttd is not None
        records.append(
            DrillRecord(
                run_id=run.run_id,
                scenario=d.name,
                title=d.title,
                started_at=d.started_at,
                passed=d.passed,
                mttd_s=d.mttd_s,
                mttr_s=d.mttr_s,
                p95_ms=d.p95_ms,
                error_rate=d.error_rate,
                availability=d.availability,
                lost_writes=d.lost_writes,
                requests=d.requests,
                reasons=d.reasons,
                playbook=d.playbook,
                alert_mttd_s=dict(d.alert_mttd_s),
                alert_config_s={
                    a: (t.config_most_s if (t := d.timing(a)) else None) for a in d.alert_mttd_s
                },
                alert_passed=alert_passed,
                verdict=d.verdict,
            )
        )
    return records


def save_run(run: Run, db: Path) -> None:
    """Save a run in ``db`` (created if missing), replacing what was saved for it before."""
    with recording(run, db):
        pass


@contextmanager
def recording(run: Run, db: Path) -> Iterator[History]:
    """Save a run in ``db`` in a transaction that commits only if the block succeeds.

    The block gets the history as it will be once committed, to write the pages that show
    it; if it raises (a page could not be written), the run is not recorded, so the
    history never holds a run that its pages do not show.
    """
    with _connect(db, create=True) as conn:
        with _database_errors(db):
            _insert(conn, run)
            history = _read(conn)
        try:
            yield history
        except BaseException:
            with _database_errors(db):
                conn.rollback()
            raise
        with _database_errors(db):
            conn.commit()


def _insert(conn: sqlite3.Connection, run: Run) -> None:
    """Replace what ``conn`` holds of ``run`` (in the caller's transaction)."""
    conn.execute("DELETE FROM runs WHERE run_id = ?", (run.run_id,))
    conn.execute(
        "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?)",
        (
            run.run_id,
            _iso(run.started_at),
            _iso(run.ended_at),
            int(run.passed),
            run.responder,
            run.gameday_version,
        ),
    )
    for r in drill_records(run):
        conn.execute(
            "INSERT INTO drills VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                r.run_id,
                r.scenario,
                r.title,
                _iso(r.started_at),
                int(r.passed),
                r.mttd_s,
                r.mttr_s,
                r.p95_ms,
                r.error_rate,
                r.availability,
                r.lost_writes,
                r.requests,
                json.dumps(list(r.reasons)),
                r.playbook.section,
                r.playbook.drill,
                json.dumps(list(r.playbook.alerts)),
            ),
        )
        conn.execute("INSERT INTO verdicts VALUES (?, ?, ?)", (r.run_id, r.scenario, r.outcome))
        conn.executemany(
            "INSERT INTO procedures VALUES (?, ?, ?)",
            [(r.run_id, r.scenario, p) for p in dict.fromkeys(r.playbook.procedures)],
        )
        conn.executemany(
            "INSERT INTO detections VALUES (?, ?, ?, ?, ?, ?)",
            [
                (
                    r.run_id,
                    r.scenario,
                    alert,
                    mttd,
                    r.alert_config_s.get(alert),
                    int(r.alert_passed[alert]),
                )
                for alert, mttd in r.alert_mttd_s.items()
            ],
        )


def load_history(db: Path) -> History:
    """Everything recorded in ``db``, oldest first; an empty history if there is no file."""
    if not db.exists():
        return History((), ())
    with _connect(db, create=False) as conn, _database_errors(db):
        return _read(conn)


def _read(conn: sqlite3.Connection) -> History:
    runs = tuple(
        RunRecord(
            run_id=row[0],
            started_at=_time(row[1]),
            ended_at=_time(row[2]),
            passed=bool(row[3]),
            responder=row[4],
            gameday_version=row[5],
        )
        for row in conn.execute("SELECT * FROM runs ORDER BY started_at, run_id")
    )
    detections: dict[tuple[str, str], list[tuple[str, float | None, float | None, int]]] = {}
    for run_id, scenario, alert, mttd, floor, ok in conn.execute(
        "SELECT * FROM detections ORDER BY rowid"
    ):
        detections.setdefault((run_id, scenario), []).append((alert, mttd, floor, ok))
    verdicts = {
        (run_id, scenario): verdict
        for run_id, scenario, verdict in conn.execute("SELECT * FROM verdicts")
    }
    procedures: dict[tuple[str, str], list[str]] = {}
    for run_id, scenario, procedure in conn.execute("SELECT * FROM procedures ORDER BY rowid"):
        procedures.setdefault((run_id, scenario), []).append(procedure)
    drills = []
    for row in conn.execute(
        "SELECT d.* FROM drills d JOIN runs r USING (run_id) "
        "ORDER BY r.started_at, r.run_id, d.started_at"
    ):
        found = detections.get((row[0], row[1]), [])
        drills.append(
            DrillRecord(
                run_id=row[0],
                scenario=row[1],
                title=row[2],
                started_at=_time(row[3]),
                passed=bool(row[4]),
                mttd_s=row[5],
                mttr_s=row[6],
                p95_ms=row[7],
                error_rate=row[8],
                availability=row[9],
                lost_writes=row[10],
                requests=row[11],
                reasons=tuple(json.loads(row[12])),
                playbook=PlaybookRef(
                    section=row[13],
                    alerts=tuple(json.loads(row[15])),
                    drill=row[14],
                    procedures=tuple(procedures.get((row[0], row[1]), ())),
                ),
                alert_mttd_s={a: m for a, m, _, _ in found},
                alert_config_s={a: f for a, _, f, _ in found},
                alert_passed={a: bool(ok) for a, _, _, ok in found},
                verdict=verdicts.get((row[0], row[1]), ""),
            )
        )
    return History(runs, tuple(drills))


@contextmanager
def _connect(db: Path, *, create: bool) -> Iterator[sqlite3.Connection]:
    """An open connection to ``db`` with its schema in place, closed after the block.

    Errors of the block itself pass through as they are: only the statements run under
    :func:`_database_errors` are the database's fault.
    """
    with _database_errors(db):
        if create:
            db.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(db)
    with closing(conn):
        with _database_errors(db):
            conn.execute("PRAGMA foreign_keys = ON")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise ReportError(
                    f"{db}: history written by a newer gameday (schema {version}, "
                    f"this one reads {SCHEMA_VERSION})"
                )
            if version < SCHEMA_VERSION:
                with conn:
                    conn.executescript(_SCHEMA)
                    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        yield conn


@contextmanager
def _database_errors(db: Path) -> Iterator[None]:
    """Turn what sqlite3 and the file system raise about ``db`` into a ReportError."""
    try:
        yield
    except sqlite3.Error as exc:
        raise ReportError(f"{db}: cannot use the history database ({exc})") from exc
    except OSError as exc:
        raise ReportError(f"{db}: cannot open the history database ({exc})") from exc


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat()


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)
