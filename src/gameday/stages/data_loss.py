"""Data loss in time: how far back the acknowledged writes a drill lost go (its RPO).

The data check (``load.lost_writes``) says which acknowledged writes the stack no longer
holds; the load's records say when each was acknowledged. From the two: the first and last
lost write's acknowledgement, the span between them, and the recovery point the drill
achieved: how long before the fault the oldest lost write was acknowledged (0 when nothing
acknowledged before the fault was lost). Any stack with a load and a data check has it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from gameday.stages.load import RecordId, RequestRecord

__all__ = ["DataLoss", "data_loss"]


@dataclass(frozen=True)
class DataLoss:
    """When the lost acknowledged writes were acknowledged; None where none was lost."""

    lost: int
    first_at: datetime | None = None
    last_at: datetime | None = None
    rpo_s: float | None = None  # fault -> oldest lost write, looking back; 0: none before

    @property
    def span_s(self) -> float | None:
        """From the first lost write's acknowledgement to the last's."""
        if self.first_at is None or self.last_at is None:
            return None
        return (self.last_at - self.first_at).total_seconds()


def data_loss(
    requests: Iterable[RequestRecord], lost: Sequence[RecordId], injected_at: datetime | None
) -> DataLoss:
    """The time the ``lost`` ids cover, from the ``requests`` that acknowledged them."""
    missing = {str(record_id) for record_id in lost}
    times = sorted(
        r.finished_at for r in requests if r.acknowledged and str(r.record_id) in missing
    )
    if not times:
        return DataLoss(lost=len(lost), rpo_s=0.0 if not lost and injected_at else None)
    rpo = None
    if injected_at is not None:
        rpo = max(0.0, (injected_at - times[0]).total_seconds())
    return DataLoss(lost=len(lost), first_at=times[0], last_at=times[-1], rpo_s=rpo)
