"""The connection exhaustion fault: idle PostgreSQL sessions held open, as a client that
leaks its connections would hold them.

It works on any PostgreSQL service whose container has psql and trusts local connections
over its socket in /run/postgresql (Debian's and the official image's default); the
scenario names the service and the database. A background shell started by
``docker exec`` inside that container opens the
sessions with psql, as the unprivileged role ``gameday_exhaust`` and the application_name
``gameday-exhaust``; each psql waits on a FIFO that the shell keeps open, so the sessions
stay idle. Being unprivileged, they can take every ordinary slot but not the superuser's
reserved ones: the responder can still connect and terminate them, as in production.

Revert kills the holder processes, terminates any session left, and waits until none is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from gameday.errors import FaultError, ReplicaError
from gameday.infra.operations import exec_checked, state_of
from gameday.infra.replica import Replica
from gameday.inputs.scenario import ConnectionExhaustionFault
from gameday.waiting import poll

__all__ = ["APPLICATION_NAME", "ROLE", "ConnectionExhaustion", "count_sessions", "psql"]

APPLICATION_NAME = "gameday-exhaust"
ROLE = "gameday_exhaust"
HOLD_DIR = "/tmp/gameday-exhaust"
CONNECT_TIMEOUT_S = 15.0
TERMINATE_TIMEOUT_S = 10.0
POLL_S = 0.1

SOCKET_DIR = "/run/postgresql"
# A server that is flooded with connection attempts turns even a superuser away for a moment.
_BUSY = "too many clients"

_CREATE_ROLE = f"""
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{ROLE}') THEN
    CREATE ROLE {ROLE} LOGIN NOSUPERUSER;
  END IF;
END $$;
"""

# Every psql reads the FIFO, which the shell holds open for writing and never writes to:
# the sessions idle until the shell dies and the psqls read end-of-file. $1 is the count,
# $2 the connection string.
_HOLD_SCRIPT = f"""
set -u
mkdir -p {HOLD_DIR}
fifo={HOLD_DIR}/hold.$$
mkfifo "$fifo"
i=0
while [ "$i" -lt "$1" ]; do
  psql "$2" -qX < "$fifo" > /dev/null 2>&1 &
  i=$((i + 1))
done
exec 3> "$fifo"
wait
"""

# The bracket keeps this script's own command line from matching its pattern. There is no
# pid file on purpose: after a container restart a stale pid could name a postgres process.
_KILL_SCRIPT = f"""
for cmdline in /proc/[0-9]*/cmdline; do
  if grep -q 'application_name=gameday-exhau[s]t' "$cmdline" 2>/dev/null; then
    pid=${{cmdline#/proc/}}
    kill "${{pid%/cmdline}}" 2>/dev/null
  fi
done
rm -rf {HOLD_DIR}
exit 0
"""


def psql(replica: Replica, spec: ConnectionExhaustionFault, sql: str, what: str) -> str:
    """``sql`` as the superuser over the server's socket; a FaultError saying ``what``
    failed when it does."""
    argv = ["psql", "-h", SOCKET_DIR, "-U", "postgres", "-d", spec.database, "-tAXq", "-c", sql]
    try:
        return replica.exec(spec.service, argv, retry_while=_BUSY)
    except ReplicaError as exc:
        raise FaultError(f"{what}: {exc}") from exc


# The held sessions, and the ordinary slots still free: max_connections less the slots kept
# for superusers (and, from PostgreSQL 16, for pg_use_reserved_connections) less every client
# session but this query's own, which may sit in a reserved slot when the rest are full.
_OPENING_SQL = f"""
SELECT count(*) FILTER (WHERE application_name = '{APPLICATION_NAME}') || '|' ||
  (current_setting('max_connections')::int
   - current_setting('superuser_reserved_connections')::int
   - coalesce(current_setting('reserved_connections', true)::int, 0)
   - count(*) FILTER (WHERE backend_type = 'client backend'))
FROM pg_stat_activity WHERE pid <> pg_backend_pid()
"""


def count_sessions(replica: Replica, spec: ConnectionExhaustionFault) -> int:
    """How many sessions the fault holds right now."""
    sql = f"SELECT count(*) FROM pg_stat_activity WHERE application_name = '{APPLICATION_NAME}'"
    return int(psql(replica, spec, sql, "count the held sessions"))


@dataclass(frozen=True)
class ConnectionExhaustion:
    """``connections`` idle sessions held open in PostgreSQL."""

    spec: ConnectionExhaustionFault
    spec_type: ClassVar[type[ConnectionExhaustionFault]] = ConnectionExhaustionFault

    def describe(self) -> str:
        return f"hold {self.spec.connections} idle sessions in {self.spec.service}"

    def inject(self, replica: Replica) -> None:
        spec, wanted = self.spec, self.spec.connections
        psql(replica, spec, _CREATE_ROLE, "create the role that holds the sessions")
        conninfo = (
            f"host={SOCKET_DIR} dbname={spec.database} user={ROLE} "
            f"application_name={APPLICATION_NAME}"
        )
        exec_checked(
            replica.container(spec.service),
            ["sh", "-c", _HOLD_SCRIPT, APPLICATION_NAME, str(wanted), conninfo],
            "start the session holder",
            detach=True,
        )

        # Done when all are open, or when the server has no ordinary slot left: a count that
        # merely stops growing is not enough, as one psql can take seconds on a busy host.
        def opened() -> tuple[int, bool]:
            """How many are held, and whether that is all there will be."""
            held, free = (
                int(part)
                for part in psql(replica, spec, _OPENING_SQL, "count the held sessions").split("|")
            )
            return held, held >= wanted or (held > 0 and free <= 0)

        waited = poll(opened, lambda seen: seen[1], timeout_s=CONNECT_TIMEOUT_S, interval_s=POLL_S)
        if not waited.ok and waited.last[0] == 0:
            raise FaultError(f"{self.describe()}: no session opened in {CONNECT_TIMEOUT_S:.0f} s")

    def revert(self, replica: Replica) -> None:
        container = replica.container(self.spec.service)
        if state_of(container) not in ("running", "paused"):
            return  # the holder and its sessions died with the server
        exec_checked(container, ["sh", "-c", _KILL_SCRIPT], "stop the session holder")
        terminate = (
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            f"WHERE application_name = '{APPLICATION_NAME}'"
        )

        def left() -> int:
            psql(replica, self.spec, terminate, "terminate the held sessions")
            return count_sessions(replica, self.spec)

        waited = poll(
            left, lambda count: count == 0, timeout_s=TERMINATE_TIMEOUT_S, interval_s=POLL_S
        )
        if not waited.ok:
            raise FaultError(f"{waited.last} held sessions are still open in {self.spec.service}")
