#!/usr/bin/env bash
# Stops the Docker engine if (and only if) scripts/setup.sh started it.
set -u
cd "$(dirname "$0")/.."
pidfile=${GAMEDAY_STATE:-.gameday}/dockerd.pid
[ -f "$pidfile" ] || exit 0
pid=$(cat "$pidfile")
if kill -0 "$pid" 2>/dev/null; then
  kill "$pid"
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  echo "[setup] stopped dockerd (pid $pid)" >&2
fi
rm -f "$pidfile"
