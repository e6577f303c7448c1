#!/bin/sh
# Initialise the cluster on first start, then run the server in the foreground.
# POSTGRES_DB, POSTGRES_PASSWORD and POSTGRES_MAX_CONNECTIONS come from the compose file.
# With STANDBY_OF=<primary host> the container is instead a streaming hot standby of that
# primary (see standby below).
set -eu

# The server's options, for a primary and for a standby alike.
set -- -c listen_addresses='*' -c unix_socket_directories=/run/postgresql \
  -c max_connections="${POSTGRES_MAX_CONNECTIONS:-40}" \
  -c superuser_reserved_connections="${POSTGRES_SUPERUSER_RESERVED:-3}" \
  -c fsync=on -c log_min_messages=warning -c wal_keep_size=64MB

# Ask the primary (over the network, as the postgres superuser) one value; empty when it
# does not answer.
on_primary() {
  PGCONNECT_TIMEOUT=2 psql -h "$STANDBY_OF" -U postgres -d postgres -tAXq -c "$1" \
    2>/dev/null || true
}

# Ask this standby's own server one value; empty when it does not answer.
on_self() {
  psql -h /run/postgresql -U postgres -d postgres -tAXq -c "$1" 2>/dev/null || true
}

# Whether this copy no longer follows the primary and must be cloned again: the primary
# answers as a writable server and either is another cluster (restored from a backup) or
# this copy was promoted (a failover, and the old primary is back). A primary that does
# not answer is never a reason: a standby outlives its primary's outage.
stale() {
  primary_sysid=$(on_primary "SELECT system_identifier FROM pg_control_system() WHERE NOT pg_is_in_recovery()")
  [ -n "$primary_sysid" ] || return 1
  [ "$(on_self "SELECT pg_is_in_recovery()")" = f ] && return 0
  own_sysid=$(on_self "SELECT system_identifier FROM pg_control_system()")
  [ -n "$own_sysid" ] && [ "$own_sysid" != "$primary_sysid" ]
}

# A hot standby of $STANDBY_OF: cloned with pg_basebackup (WAL streamed alongside), then
# following the primary's WAL stream. A watchdog re-clones it when it is stale.
standby() {
  export PGPASSWORD="${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set}"
  while :; do
    if [ ! -s "$PGDATA/PG_VERSION" ]; then
      rm -rf "$PGDATA"
      until pg_basebackup -h "$STANDBY_OF" -U postgres -D "$PGDATA" -R -X stream \
              -c fast >/tmp/basebackup.log 2>&1; do
        rm -rf "$PGDATA"
        sleep 1
      done
      chmod 700 "$PGDATA"
      echo "standby: cloned from $STANDBY_OF"
    fi
    postgres -D "$PGDATA" "$@" -c hot_standby=on -c wal_retrieve_retry_interval=1s &
    pid=$!
    until pg_isready -q -h /run/postgresql; do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    while kill -0 "$pid" 2>/dev/null; do
      sleep 2
      if stale; then
        echo "standby: $STANDBY_OF is a primary this copy no longer follows: cloning again"
        pg_ctl stop -D "$PGDATA" -m fast -w >/dev/null || kill -INT "$pid"
        wait "$pid" || true
        rm -rf "$PGDATA"
        break
      fi
    done
    wait "$pid" 2>/dev/null || true
    sleep 1
  done
}

# Stopping the container stops the server it runs, as a fast shutdown.
pid=
shutdown() {
  if [ -n "$pid" ]; then kill -INT "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; fi
  exit 0
}
trap shutdown INT TERM
if [ -n "${STANDBY_OF:-}" ]; then
  standby "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  pwfile=$(mktemp)
  printf '%s\n' "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set}" > "$pwfile"
  initdb --username=postgres --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 \
         --encoding=UTF8 --locale=C "$PGDATA" >/dev/null
  rm -f "$pwfile"
  echo "host all all 0.0.0.0/0 scram-sha-256" >> "$PGDATA/pg_hba.conf"
  # A standby clones this server and streams its WAL as the postgres superuser.
  echo "host replication postgres 0.0.0.0/0 scram-sha-256" >> "$PGDATA/pg_hba.conf"
  postgres -D "$PGDATA" -c listen_addresses='' -c unix_socket_directories=/run/postgresql &
  pid=$!
  until pg_isready -q -h /run/postgresql; do sleep 0.1; done
  createdb -h /run/postgresql "${POSTGRES_DB:-labelmint}"
  # The application's own role: not a superuser, so that a client leaking connections
  # can never take the slots reserved for the DBA (and for gameday's own checks).
  if [ -n "${POSTGRES_APP_USER:-}" ]; then
    psql -qX -h /run/postgresql -d "${POSTGRES_DB:-labelmint}" -v ON_ERROR_STOP=1 \
      -v user="$POSTGRES_APP_USER" -v password="${POSTGRES_APP_PASSWORD:?}" <<'SQL'
CREATE ROLE :"user" LOGIN PASSWORD :'password';
SELECT format('ALTER DATABASE %I OWNER TO %I', current_database(), :'user') \gexec
SQL
  fi
  kill -INT "$pid"; wait "$pid" || true
fi
trap - INT TERM
exec postgres -D "$PGDATA" "$@"
