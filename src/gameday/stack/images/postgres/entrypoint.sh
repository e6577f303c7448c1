#!/bin/sh
# Initialise the cluster on first start, then run the server in the foreground.
# POSTGRES_DB, POSTGRES_PASSWORD and POSTGRES_MAX_CONNECTIONS come from the compose file.
set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  pwfile=$(mktemp)
  printf '%s\n' "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set}" > "$pwfile"
  initdb --username=postgres --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 \
         --encoding=UTF8 --locale=C "$PGDATA" >/dev/null
  rm -f "$pwfile"
  echo "host all all 0.0.0.0/0 scram-sha-256" >> "$PGDATA/pg_hba.conf"
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
exec postgres -D "$PGDATA" -c listen_addresses='*' -c unix_socket_directories=/run/postgresql \
  -c max_connections="${POSTGRES_MAX_CONNECTIONS:-40}" \
  -c superuser_reserved_connections="${POSTGRES_SUPERUSER_RESERVED:-3}" \
  -c fsync=on -c log_min_messages=warning
