#!/usr/bin/env bash
# Installs everything ttygate needs to build, run and test, idempotently:
# Debian packages (when missing), npm dependencies (npm ci), the TypeScript build, and the Linux
# guest image (cached by content hash, so a rebuild with unchanged inputs is instant).
# Usage: scripts/setup.sh [--no-image]
set -euo pipefail
cd "$(dirname "$0")/.."

# chromium: the browser the end-to-end tests drive (playwright-core; no browser download).
APT_PACKAGES=(qemu-system-x86 qemu-utils busybox-static cpio xz-utils openssl socat genisoimage ovmf chromium)

log() { printf '\033[1msetup:\033[0m %s\n' "$*" >&2; }

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# The image builder downloads the kernel package with apt: it needs package lists.
lists_empty=0
compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null || lists_empty=1
if ((${#missing[@]} > 0)) || ((lists_empty)); then
  if [[ $(id -u) -ne 0 ]]; then
    log "missing Debian packages: ${missing[*]:-none} (apt lists empty: $lists_empty)"
    log "run as root: apt-get update && apt-get install -y --no-install-recommends ${APT_PACKAGES[*]}"
    exit 1
  fi
  log "apt-get update"
  apt-get update -qq
  if ((${#missing[@]} > 0)); then
    log "installing ${missing[*]} (about 35 s; chromium alone about 15 s)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi

log "building TypeScript"
npm run build --silent

if [[ "${1:-}" != "--no-image" ]]; then
  log "building the Linux guest image (cached; first build about a minute)"
  node emulator/bin/ttygate-emu.js image build linux >/dev/null
fi
log "ready"
