"""The cache-loss fault: every key in Redis is gone (FLUSHALL), and the cache comes back
cold. There is nothing to revert: a flushed cache refills itself from the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from gameday.errors import FaultError
from gameday.faults.operations import exec_checked
from gameday.replica import Replica
from gameday.scenario import CacheFlushFault

__all__ = ["FLUSH_COMMAND", "CacheFlush", "flush"]

FLUSH_COMMAND = ("redis-cli", "FLUSHALL")


def flush(replica: Replica) -> None:
    """FLUSHALL in the replica's Redis; raises FaultError unless Redis said OK."""
    answer = exec_checked(replica.container("redis"), FLUSH_COMMAND, "flush the cache")
    if answer != "OK":
        raise FaultError(f"flush the cache: redis-cli answered {answer!r}")


@dataclass(frozen=True)
class CacheFlush:
    """Lose every key in Redis."""

    spec: CacheFlushFault
    spec_type: ClassVar[type[CacheFlushFault]] = CacheFlushFault

    def describe(self) -> str:
        return "flush every key in redis"

    def inject(self, replica: Replica) -> None:
        flush(replica)

    def revert(self, replica: Replica) -> None:
        """Nothing to undo: the data is gone, and refilling it is the system's job."""
