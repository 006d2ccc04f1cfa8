# Shared helpers for scripts/*. Source it; do not run it.
# Every environment lives outside git under $BINMOE_CACHE and is (re)built only when its pins change.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BINMOE_CACHE="${BINMOE_CACHE:-$HOME/.cache/binmoe}"
BACKEND_VENV="$BINMOE_CACHE/venv-backend"
ESPHOME_VENV="$BINMOE_CACHE/venv-esphome"
BROWSER_VENV="$BINMOE_CACHE/venv-browser"
HA_SYSROOT="$BINMOE_CACHE/sid-root"
HA_MIN_PYTHON="3.14.2"
export BINMOE_CACHE REPO_ROOT

log() { printf '\033[1;34m[binmoe]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[binmoe] error:\033[0m %s\n' "$*" >&2; exit 1; }

# Hash of the files that define an environment (those that exist); a stamp with the same hash means "already built".
pins_hash() { local f; for f in "$@"; do if [[ -f "$f" ]]; then cat "$f"; fi; done | sha256sum | cut -c1-16; }
stamp_ok() { [[ -f "$1/.binmoe-stamp" && "$(cat "$1/.binmoe-stamp")" == "$2" ]]; }
write_stamp() { echo "$2" > "$1/.binmoe-stamp"; }

has_cuda() { command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; }

apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  ((${#missing[@]} == 0)) && return 0
  [[ $(id -u) == 0 ]] || die "need root to apt-get install ${missing[*]}"
  log "apt-get install ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# First python on PATH whose version is >= $HA_MIN_PYTHON (HA 2026.10+ needs it), or nothing.
find_ha_python() {
  local cand
  for cand in python3.16 python3.15 python3.14 python3; do
    command -v "$cand" >/dev/null 2>&1 || continue
    if "$cand" -c "import sys; v='$HA_MIN_PYTHON'.split('.'); sys.exit(0 if sys.version_info[:3] >= tuple(map(int, v)) else 1)" 2>/dev/null; then
      command -v "$cand"; return 0
    fi
  done
  return 1
}

# `http_ok URL`: true when URL answers 200 (python3 instead of curl: a bare machine may lack curl).
http_ok() {
  python3 -c 'import sys, urllib.request
try: sys.exit(0 if urllib.request.urlopen(sys.argv[1], timeout=3).status == 200 else 1)
except Exception: sys.exit(1)' "$1"
}
http_get() { python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' "$1"; }
