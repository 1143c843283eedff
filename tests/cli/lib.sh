# Shared by the CLI test scripts (source it after setting FACEEDIT="$1"): the shared-data root, a
# temp dir removed at exit with its own model cache, and the pass/fail counters and checks.
SHARED="${FACEEDIT_SHARED:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/../shared}"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export FACEEDIT_CACHE="$T/cache"
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok: $1"; }
bad() { failed=$((failed + 1)); echo "FAILED: $1"; }

# refuse NAME NEEDLE OUTFILE -- CMD...: CMD must exit non-zero, print NEEDLE on stderr, leave no OUTFILE.
refuse() {
  local name="$1" needle="$2" out="$3"
  shift 4
  "$@" >"$T/stdout" 2>"$T/stderr"
  local rc=$?
  if [ $rc -eq 0 ]; then bad "$name: exit 0"; return; fi
  if ! grep -q -- "$needle" "$T/stderr"; then bad "$name: stderr lacks '$needle': $(cat "$T/stderr")"; return; fi
  if grep -q "Traceback\|terminate called\|Segmentation" "$T/stderr"; then bad "$name: crashed: $(cat "$T/stderr")"; return; fi
  if [ -n "$out" ] && ls "$out"* >/dev/null 2>&1; then bad "$name: left $(ls "$out"*)"; return; fi
  ok "$name"
}
