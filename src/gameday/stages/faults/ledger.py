"""The fault ledger: a crash-safe record of the faults in effect, so that none outlives its
drill.

Before a fault is injected, an entry (run id, the fault's spec, the lease of the drill's
process) goes into a JSON file under the state directory (``$GAMEDAY_STATE_DIR``, default
``~/.local/state/gameday``); it leaves the file once the fault is reverted. A drill that was
SIGKILLed leaves its entries behind, with a dead lease: ``revert_leftovers`` reverts them at
the start of the next drill on the same replica. ``injected`` is how a drill injects its
faults: in order, and always reverted in reverse order however the block ends.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import secrets
import tempfile
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gameday.errors import FaultError
from gameday.infra import ownership
from gameday.infra.replica import Replica
from gameday.inputs.scenario import FaultSpec
from gameday.stages.faults import build_fault
from gameday.stages.faults.base import Fault
from gameday.timeline import EventKind, utcnow

__all__ = [
    "STATE_DIR_ENV",
    "EventSink",
    "Ledger",
    "LedgerEntry",
    "default_state_dir",
    "injected",
    "revert_leftovers",
]

STATE_DIR_ENV = "GAMEDAY_STATE_DIR"
LEDGER_FILE = "fault-ledger.json"

log = logging.getLogger(__name__)


class EventSink(Protocol):
    """Where ``injected`` reports what it did; ``Timeline.add`` is one."""

    def __call__(
        self, kind: EventKind, detail: str = ..., *, subject: str = ..., at: datetime | None = ...
    ) -> object: ...


class LedgerEntry(BaseModel):
    """One fault that is, or may be, in effect on a replica."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    run_id: str
    spec: FaultSpec
    lease: str  # of the process that injected it (ownership.current_lease)
    recorded_at: datetime


class _LedgerFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entries: list[LedgerEntry] = Field(default_factory=list)


def default_state_dir() -> Path:
    configured = os.environ.get(STATE_DIR_ENV)
    return Path(configured) if configured else Path.home() / ".local" / "state" / "gameday"


class Ledger:
    """The ledger file in ``state_dir``; every change is made under a file lock and
    written atomically, so concurrent drills and a crash mid-write never corrupt it."""

    def __init__(self, state_dir: Path | None = None) -> None:
        self.state_dir = state_dir if state_dir is not None else default_state_dir()
        self.path = self.state_dir / LEDGER_FILE

    def record(self, run_id: str, spec: FaultSpec, *, lease: str | None = None) -> LedgerEntry:
        entry = LedgerEntry(
            id=secrets.token_hex(8),
            run_id=run_id,
            spec=spec,
            lease=lease if lease is not None else ownership.current_lease(),
            recorded_at=utcnow(),
        )
        with self._changing() as entries:
            entries.append(entry)
        return entry

    def remove(self, entry_id: str) -> None:
        """Forget an entry (no error when it is already gone)."""
        with self._changing() as entries:
            entries[:] = [e for e in entries if e.id != entry_id]

    def entries(self, run_id: str | None = None) -> list[LedgerEntry]:
        """Entries in the order they were recorded, of one run or of all."""
        with self._locked():
            entries = self._read()
        return [e for e in entries if run_id is None or e.run_id == run_id]

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            with (self.state_dir / f"{LEDGER_FILE}.lock").open("a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                yield
        except OSError as exc:
            raise FaultError(f"fault ledger {self.path}: {exc}") from exc

    @contextlib.contextmanager
    def _changing(self) -> Iterator[list[LedgerEntry]]:
        with self._locked():
            entries = self._read()
            yield entries
            self._write(entries)

    def _read(self) -> list[LedgerEntry]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        try:
            return _LedgerFile.model_validate_json(text).entries
        except ValidationError as exc:
            raise FaultError(
                f"fault ledger {self.path} is unreadable ({exc.error_count()} problems); "
                "revert what it lists by hand, or check the replica, then delete it"
            ) from exc

    def _write(self, entries: list[LedgerEntry]) -> None:
        text = _LedgerFile(entries=entries).model_dump_json(indent=2)
        fd, scratch = tempfile.mkstemp(dir=self.state_dir, prefix=".ledger-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                file.write(text)
                file.flush()
                os.fsync(file.fileno())
            Path(scratch).replace(self.path)
        except BaseException:
            Path(scratch).unlink(missing_ok=True)
            raise


def revert_leftovers(
    replica: Replica,
    *,
    ledger: Ledger | None = None,
    build: Callable[[FaultSpec], Fault] = build_fault,
) -> list[LedgerEntry]:
    """Revert the faults that dead drills left on ``replica``; the entries reverted.

    Entries whose process still runs belong to a live drill and are left alone. Raises
    FaultError, after trying every entry, when some could not be reverted (they stay in
    the ledger for the next attempt).
    """
    ledger = ledger or Ledger()
    leftovers = [e for e in ledger.entries(replica.run_id) if not ownership.lease_is_alive(e.lease)]
    reverted, problems = [], []
    for entry in reversed(leftovers):
        fault = build(entry.spec)
        try:
            fault.revert(replica)
        except Exception as exc:
            problems.append(f"{fault.describe()}: {exc}")
            continue
        ledger.remove(entry.id)
        reverted.append(entry)
    if problems:
        raise FaultError(
            "could not revert faults a dead drill left on replica "
            f"{replica.run_id}: " + "; ".join(problems)
        )
    return reverted


def _report(
    on_event: EventSink | None, kind: EventKind, fault: Fault, detail: str, at: datetime
) -> None:
    if on_event is None:
        return
    try:
        on_event(kind, detail, subject=fault.spec.type, at=at)
    except Exception:  # a listener's failure must not stop a drill, least of all a revert
        log.exception("fault event listener failed on %s: %s", kind.value, detail)


@contextlib.contextmanager
def injected(
    faults: Sequence[Fault],
    replica: Replica,
    on_event: EventSink | None = None,
    *,
    ledger: Ledger | None = None,
) -> Iterator[Sequence[Fault]]:
    """Inject ``faults`` in order, each recorded in the ledger first; on leaving the block
    revert every fault that was (or may have been half) injected, in reverse order.

    The revert runs however the block or an injection ends, KeyboardInterrupt and
    SystemExit included; a Ctrl-C during the revert abandons only the fault being reverted
    (its ledger entry stays for ``revert_leftovers``). A revert that fails is reported
    and the others go on; it raises FaultError afterwards, unless another error is already
    on its way out (then its message is added to that error as a note).
    """
    ledger = ledger or Ledger()
    lease = ownership.current_lease()
    in_effect: list[tuple[Fault, LedgerEntry]] = []
    try:
        for fault in faults:
            in_effect.append((fault, ledger.record(replica.run_id, fault.spec, lease=lease)))
            began = utcnow()  # the fault's clock starts when its injection begins
            fault.inject(replica)
            _report(on_event, EventKind.FAULT_INJECTED, fault, fault.describe(), began)
        yield faults
    except BaseException as exc:
        for problem in _revert_all(in_effect, replica, ledger, on_event):
            exc.add_note(problem)
        raise
    else:
        problems = _revert_all(in_effect, replica, ledger, on_event)
        if problems:
            raise FaultError("; ".join(problems))


def _revert_all(
    in_effect: list[tuple[Fault, LedgerEntry]],
    replica: Replica,
    ledger: Ledger,
    on_event: EventSink | None,
) -> list[str]:
    """Revert in reverse order; the problems, in words."""
    problems: list[str] = []
    interrupted: KeyboardInterrupt | None = None
    for fault, entry in reversed(in_effect):
        try:
            fault.revert(replica)
            ledger.remove(entry.id)
        except KeyboardInterrupt as exc:
            interrupted = exc
            problems.append(f"revert of {fault.describe()} interrupted; it is still in the ledger")
            continue
        except Exception as exc:
            problems.append(f"could not revert {fault.describe()}: {exc}")
            _report(on_event, EventKind.NOTE, fault, problems[-1], utcnow())
            continue
        _report(on_event, EventKind.FAULT_REVERTED, fault, fault.describe(), utcnow())
    in_effect.clear()
    if interrupted is not None:
        interrupted.add_note("; ".join(problems))
        raise interrupted
    return problems
