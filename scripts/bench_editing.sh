#!/usr/bin/env bash
# The editing loop's steps (`faceedit bench --mode invert|tune`, FFHQ config-f, random weights, batch 1)
# on the fused kernels, on the plain LibTorch composition (--reference-ops) and, given a copy of
# NVIDIA's stylegan2-ada-pytorch, on the official networks (tools/bench_official.py under Debian's
# python3-torch): all in one run on one machine, one JSON line each, then a table of step medians
# and the ratios fused / official.
#
#   scripts/bench_editing.sh [OFFICIAL_COPY]        (RES="256 1024", MODES="invert tune", REPEAT=3)
set -euo pipefail
cd "$(dirname "$0")/.."
OFFICIAL="${1:-}"
RES="${RES:-256 1024}"
MODES="${MODES:-invert tune}"
REPEAT="${REPEAT:-3}"
F=build/faceedit
OUT="$(mktemp)"
for r in $RES; do
  for m in $MODES; do
    $F bench "config-f-$r" --mode "$m" --repeat "$REPEAT" | tee -a "$OUT"
    $F --reference-ops bench "config-f-$r" --mode "$m" --repeat "$REPEAT" | tee -a "$OUT"
    if [ -n "$OFFICIAL" ]; then
      /usr/bin/python3 tools/bench_official.py --repo "$OFFICIAL" --mode "$m" --resolution "$r" --repeat "$REPEAT" \
        2>/dev/null | tee -a "$OUT"
    fi
  done
done
/usr/bin/python3 - "$OUT" <<'PYEOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith('{')]
def key(r): return r.get('implementation') or r.get('ops')
table = {}
for r in rows: table[(r['resolution'], r['mode'], key(r))] = r['step_ms_median']
print('| res | mode | fused ms | composition ms | official ms | fused / composition | fused / official |')
print('|---|---|---|---|---|---|---|')
for (res, mode) in sorted({(k[0], k[1]) for k in table}):
    f, c, o = (table.get((res, mode, k)) for k in ('fused', 'reference', 'stylegan2-ada-pytorch'))
    fmt = lambda v: '-' if v is None else f'{v:.0f}'
    ratio = lambda a, b: '-' if a is None or b is None else f'{a / b:.2f}'
    print(f'| {res} | {mode} | {fmt(f)} | {fmt(c)} | {fmt(o)} | {ratio(f, c)} | {ratio(f, o)} |')
PYEOF
rm -f "$OUT"
