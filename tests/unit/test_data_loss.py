"""The RPO measurement: the time the lost acknowledged writes cover, from the load's own
records of when each was acknowledged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gameday.stages.data_loss import data_loss
from gameday.stages.load import RequestRecord

FAULT = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


def write(seconds_from_fault: float, record_id: int, *, error: str = "") -> RequestRecord:
    # Sent 10 ms before it is acknowledged: the acknowledgement is what counts.
    return RequestRecord(
        at=FAULT + timedelta(seconds=seconds_from_fault) - timedelta(milliseconds=10),
        kind="create-task",
        status=201 if not error else 503,
        latency_ms=10.0,
        error=error,
        record_id=record_id if not error else None,
        write=True,
    )


def read(seconds_from_fault: float, record_id: int) -> RequestRecord:
    return RequestRecord(
        at=FAULT + timedelta(seconds=seconds_from_fault),
        kind="read-task",
        status=200,
        latency_ms=5.0,
        error="",
        record_id=record_id,
    )


def test_the_rpo_is_how_far_before_the_fault_the_oldest_lost_write_goes() -> None:
    requests = [write(-5.0, 1), write(-2.5, 2), write(-1.0, 3), read(-0.5, 2), write(4.0, 4)]
    loss = data_loss(requests, [2, 3, 4], FAULT)
    assert loss.lost == 3
    assert loss.rpo_s == 2.5
    assert loss.first_at == FAULT - timedelta(seconds=2.5)
    assert loss.last_at == FAULT + timedelta(seconds=4.0)
    assert loss.span_s == 6.5


def test_writes_lost_only_after_the_fault_give_an_rpo_of_zero() -> None:
    loss = data_loss([write(-3.0, 1), write(2.0, 2)], [2], FAULT)
    assert loss.rpo_s == 0.0
    assert loss.span_s == 0.0


def test_nothing_lost_is_an_rpo_of_zero_and_no_span() -> None:
    loss = data_loss([write(-3.0, 1)], [], FAULT)
    assert (loss.lost, loss.rpo_s, loss.span_s) == (0, 0.0, None)


def test_failed_writes_are_never_lost_writes() -> None:
    # A refused write was never acknowledged: its absence is no loss, and it has no id.
    loss = data_loss([write(-1.0, 1, error="HTTP 503"), write(-0.5, 2)], [2], FAULT)
    assert loss.first_at == FAULT - timedelta(seconds=0.5)


def test_string_ids_match_their_records() -> None:
    loss = data_loss([write(-1.0, 7)], ["7"], FAULT)
    assert loss.rpo_s == 1.0


def test_without_a_fault_there_is_no_rpo() -> None:
    loss = data_loss([write(-1.0, 7)], [7], None)
    assert loss.rpo_s is None
    assert loss.lost == 1
