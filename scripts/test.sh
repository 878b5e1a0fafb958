#!/usr/bin/env bash
# Runs the test suites of every workspace that has one, then prints one closing line with the
# totals ("tests: N passed, N failed, N skipped"). Exits non-zero if any suite failed.
# Usage: scripts/test.sh [--unit]   (--unit: only the fast tests that need no QEMU guest)
set -uo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
status=0
for ws in emulator gateway web e2e; do
  [[ -f $ws/package.json ]] && grep -q '"test"' "$ws/package.json" || continue
  printf '\n\033[1m== %s ==\033[0m\n' "$ws"
  if [[ "${1:-}" == "--unit" ]]; then
    [[ -d $ws/src ]] || continue # e2e: browser tests against real guests only, no unit tests
    (cd "$ws" && TTYGATE_TAP_OUT="$out/$ws.tap" node ../scripts/run-tests.mjs src) || status=1
  else
    (cd "$ws" && TTYGATE_TAP_OUT="$out/$ws.tap" npm test --silent) || status=1
  fi
done
sum() { cat "$out"/*.tap 2>/dev/null | awk -v k="# $1" '$0 ~ "^"k" " { n += $3 } END { print n + 0 }'; }
pass=$(sum pass); fail=$(sum fail); skipped=$(sum skipped); cancelled=$(sum cancelled)
fail=$((fail + cancelled))
echo
echo "tests: ${pass} passed, ${fail} failed, ${skipped} skipped"
if ((fail > 0)); then status=1; fi
exit $status
