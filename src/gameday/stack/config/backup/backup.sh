#!/bin/sh
# The backup job: a logical backup (pg_dump, custom format) of $BACKUP_DATABASE on
# $BACKUP_HOST every $BACKUP_INTERVAL_S seconds into $BACKUP_DIR (a volume of its own, never
# the database's), keeping the newest $BACKUP_KEEP. A dump is written under a scratch name
# and renamed only once pg_dump finished, so the newest file is always a whole backup;
# $BACKUP_DIR/LATEST then holds the time it finished (UTC, ISO 8601).
#
# A database server that is not the one the backups were taken of (a cluster initialised
# afresh after a disaster: another system identifier) is not backed up until a restore
# adopts it (restore.sh): its empty dumps would otherwise push the good ones out.
set -u
dir=${BACKUP_DIR:-/backups}
db=${BACKUP_DATABASE:?BACKUP_DATABASE must be set}
host=${BACKUP_HOST:?BACKUP_HOST must be set}
keep=${BACKUP_KEEP:-5}
interval=${BACKUP_INTERVAL_S:-2}
while true; do
  cluster=$(psql -h "$host" -U postgres -d "$db" -tAXqc \
    "SELECT system_identifier FROM pg_control_system()" 2>/dev/null) || cluster=""
  if [ -n "$cluster" ]; then
    [ -s "$dir/CLUSTER" ] || echo "$cluster" > "$dir/CLUSTER"
    if [ "$cluster" != "$(cat "$dir/CLUSTER")" ]; then
      echo "backup: $host is a new cluster ($cluster); waiting for a restore" > "$dir/STATUS"
    elif pg_dump -Fc -h "$host" -U postgres -d "$db" -f "$dir/.partial" 2> "$dir/STATUS"; then
      mv "$dir/.partial" "$dir/$db-$(date -u +%Y%m%dT%H%M%S%N).dump"
      date -u +%Y-%m-%dT%H:%M:%S.%6NZ > "$dir/.latest" && mv "$dir/.latest" "$dir/LATEST"
      ls -1 "$dir"/*.dump | head -n "-$keep" | xargs -r rm -f
    fi
  fi
  sleep "$interval"
done
