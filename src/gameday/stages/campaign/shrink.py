"""Shrinking a failing schedule to the smallest that still fails: delta debugging.

Each test of a candidate is a real campaign on the replica (a minute or so), so the
method must need few tests: Zeller and Hildebrandt's ddmin ("Simplifying and Isolating
Failure-Inducing Input", 2002) finds a 1-minimal subset (removing any one fault makes
the failure go away) in O(n log n) tests when the failure depends on few faults, the usual
case. The first candidate tried is the failing wave alone: it is nearly always enough.

A candidate keeps each fault's wave and its offset within the wave (a wave that loses its
first fault starts with the next). It "fails" when a run of it breaks the same invariant
for the same fault and alert (:meth:`ViolationRecord.signature`); an inconclusive run
counts as not failing, so that the host's load can only leave the result larger, never
blame the wrong faults.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from gameday.inputs.campaign import PlannedFault, Schedule, Wave
from gameday.record import ViolationRecord

__all__ = [
    "Attempt",
    "FaultId",
    "ShrinkLimit",
    "ddmin",
    "fault_ids",
    "same_failure",
    "subset_schedule",
]

T = TypeVar("T")
FaultId = tuple[int, int]  # (wave index from 0, position in the wave)


class ShrinkLimit(Exception):
    """The test budget ran out; the smallest failing candidate so far is the answer."""


def ddmin(items: Sequence[T], fails: Callable[[list[T]], bool]) -> list[T]:
    """A 1-minimal sublist of ``items`` (which must fail) for which ``fails`` holds.

    ``fails`` may raise ShrinkLimit: the smallest failing sublist found so far is
    returned then.
    """
    current = list(items)
    n = 2
    try:
        while len(current) >= 2:
            chunks = _split(current, n)
            for chunk in chunks:  # reduce to a subset
                if fails(chunk):
                    current, n = chunk, 2
                    break
            else:
                for chunk in chunks:  # reduce to a complement
                    rest = [x for x in current if x not in chunk]
                    if n > 2 and fails(rest):
                        current, n = rest, max(n - 1, 2)
                        break
                else:
                    if n >= len(current):
                        break
                    n = min(len(current), 2 * n)
    except ShrinkLimit:
        pass
    return current


def _split(items: list[T], n: int) -> list[list[T]]:
    size, extra = divmod(len(items), n)
    chunks, start = [], 0
    for i in range(n):
        end = start + size + (1 if i < extra else 0)
        if end > start:
            chunks.append(items[start:end])
        start = end
    return chunks


def subset_schedule(schedule: Schedule, keep: Sequence[FaultId]) -> Schedule:
    """The schedule with only the faults in ``keep``: empty waves go, and a wave that lost
    its first fault starts at its next."""
    wanted = set(keep)
    waves: list[Wave] = []
    for w, wave in enumerate(schedule.waves):
        kept = [f for p, f in enumerate(wave.faults) if (w, p) in wanted]
        if not kept:
            continue
        first = min(f.start_s for f in kept)
        waves.append(
            Wave(faults=[_shifted(f, first) for f in sorted(kept, key=lambda f: f.start_s)])
        )
    return Schedule(seed=schedule.seed, waves=waves)


def _shifted(fault: PlannedFault, by: float) -> PlannedFault:
    return fault.model_copy(update={"start_s": round(fault.start_s - by, 1)})


def fault_ids(schedule: Schedule, waves: Sequence[int] | None = None) -> list[FaultId]:
    chosen = range(len(schedule.waves)) if waves is None else waves
    return [(w, p) for w in chosen for p in range(len(schedule.waves[w].faults))]


@dataclass(frozen=True)
class Attempt:
    schedule: Schedule
    outcome: str  # broke, held, inconclusive
    seconds: float


def same_failure(target: ViolationRecord, found: Sequence[ViolationRecord]) -> str:
    """How a candidate's run compares with the failure being shrunk."""
    if any(v.signature() == target.signature() and not v.inconclusive for v in found):
        return "broke"
    if any(v.signature() == target.signature() for v in found):
        return "inconclusive"
    return "held"
