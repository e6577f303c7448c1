"""The connection exhaustion fault's waits (sessions opening, held sessions going away) on a
fake database: no Docker, short timeouts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import pytest

from gameday.errors import FaultError
from gameday.infra.replica import Replica
from gameday.inputs.scenario import ConnectionExhaustionFault
from gameday.stages.faults import connections
from gameday.stages.faults.connections import ConnectionExhaustion


class FakeContainer:
    name = "db"
    attrs: dict[str, Any] = {"State": {"Status": "running"}}  # noqa: RUF012

    def reload(self) -> None:
        pass

    def exec_run(self, argv: list[str], detach: bool = False) -> Any:
        return type("Result", (), {"exit_code": 0, "output": b""})()


class FakeDatabase:
    """A replica whose one service answers the fault's SQL: the held-session counts it is
    given, one per count (the last one stays), on a server with ``slots`` ordinary slots that
    the held sessions and ``others`` other clients share."""

    def __init__(self, counts: list[int], *, slots: int = 100, others: int = 0) -> None:
        self.counts = counts
        self.slots, self.others = slots, others
        self.counted = 0
        self.terminated = 0

    def container(self, service: str) -> FakeContainer:
        return FakeContainer()

    def exec(self, service: str, argv: Sequence[str], *, retry_while: str | None = None) -> str:
        sql = argv[-1]
        if "pg_terminate_backend" in sql:
            self.terminated += 1
            return "0"
        if "count(*)" in sql:
            self.counted += 1
            held = self.counts.pop(0) if len(self.counts) > 1 else self.counts[0]
            if "max_connections" in sql:
                return f"{held}|{self.slots - self.others - held}"
            return str(held)
        return ""


FAULT = ConnectionExhaustion(
    ConnectionExhaustionFault(
        type="connection_exhaustion", service="db", database="shop", connections=5
    )
)


def test_inject_returns_once_every_session_is_open() -> None:
    db = FakeDatabase([0, 3, 5, 5])
    FAULT.inject(cast(Replica, db))
    assert db.counted == 3


def test_inject_returns_when_the_server_lets_no_more_in() -> None:
    db = FakeDatabase([0, 2, 3, 3], slots=10, others=7)
    FAULT.inject(cast(Replica, db))  # 3 of 5: the other 7 clients take the rest
    assert db.counted == 3


def test_inject_waits_on_a_count_that_stalls_while_slots_are_free(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A psql that takes seconds to connect on a busy host is not a full server (this once
    stopped the fault at 19 of 20 sessions)."""
    monkeypatch.setattr(connections, "CONNECT_TIMEOUT_S", 10.0)
    db = FakeDatabase([0] + [3] * 40 + [5], slots=10, others=2)  # 4 s at 3 of 5
    FAULT.inject(cast(Replica, db))
    assert db.counted == 42


def test_inject_fails_when_no_session_opens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(connections, "CONNECT_TIMEOUT_S", 0.3)
    db = FakeDatabase([0])
    with pytest.raises(FaultError, match=r"^hold 5 idle sessions in db: no session opened in 0 s$"):
        FAULT.inject(cast(Replica, db))


def test_inject_accepts_sessions_still_opening_at_the_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(connections, "CONNECT_TIMEOUT_S", 0.3)
    db = FakeDatabase(list(range(1, 5)) * 25)  # never all, never the same twice running
    FAULT.inject(cast(Replica, db))  # no error: some are held
    assert 3 <= db.counted <= 5


def test_revert_terminates_until_none_is_left() -> None:
    db = FakeDatabase([2, 1, 0])
    FAULT.revert(cast(Replica, db))
    assert db.terminated == 3 and db.counted == 3


def test_revert_says_how_many_are_left_at_the_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(connections, "TERMINATE_TIMEOUT_S", 0.3)
    db = FakeDatabase([4, 2])
    with pytest.raises(FaultError, match=r"^2 held sessions are still open in db$"):
        FAULT.revert(cast(Replica, db))
