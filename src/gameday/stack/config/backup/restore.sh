#!/bin/sh
# Restore the newest whole backup in $BACKUP_DIR into $BACKUP_DATABASE on $BACKUP_HOST (the
# playbook's Database Recovery from backup): wait for the server, pg_restore in one
# transaction, run $RESTORE_SQL (what the stack needs after a restore), then adopt the
# server as the one backup.sh backs up. Any failure exits non-zero with the reason, and
# the backups stay paused: a restore is never half-adopted.
set -eu
dir=${BACKUP_DIR:-/backups}
db=${BACKUP_DATABASE:?BACKUP_DATABASE must be set}
host=${BACKUP_HOST:?BACKUP_HOST must be set}
newest=$(ls -1 "$dir"/*.dump 2>/dev/null | tail -n 1) || true
if [ -z "$newest" ]; then
  echo "restore: no backup in $dir" >&2
  exit 1
fi
tries=0
until pg_isready -q -h "$host" -d "$db"; do
  tries=$((tries + 1))
  if [ "$tries" -ge 150 ]; then
    echo "restore: $host did not answer within 30 s" >&2
    exit 1
  fi
  sleep 0.2
done
pg_restore --clean --if-exists --single-transaction --exit-on-error \
  -h "$host" -U postgres -d "$db" "$newest"
if [ -n "${RESTORE_SQL:-}" ]; then
  psql -h "$host" -U postgres -d "$db" -tAXq -v ON_ERROR_STOP=1 -c "$RESTORE_SQL" >/dev/null
fi
psql -h "$host" -U postgres -d "$db" -tAXqc \
  "SELECT system_identifier FROM pg_control_system()" > "$dir/.cluster"
mv "$dir/.cluster" "$dir/CLUSTER"
echo "restored $(basename "$newest") (finished $(cat "$dir/LATEST" 2>/dev/null || echo '?'))"
