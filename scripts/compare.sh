#!/usr/bin/env bash
# Method comparison on the CelebA DCGAN: InterFaceGAN (plain and conditional), Latent Transformer,
# L2M and the PFSF walk, for smiling, male, young, eyeglasses and mustache (ATTRS), on the same
# held-out faces, judged by the pretrained judges and celebahq-judge; sequential edits
# (smile, then age) per method; one HTML report.
#
#   scripts/compare.sh OUT_DIR          (after scripts/setup.sh; build/faceedit must exist)
#
# Every step is skipped when its output exists, so an interrupted run continues where it stopped.
# Settings (environment): N held-out faces (default 500), SAMPLES latents for the boundaries and the
# latent classifier (default 20000), STEPS training steps per learned editor (default 1000),
# METHODS (default "interfacegan interfacegan_cond transformer l2m pfsf"), PFSF_N faces for the PFSF
# walk (default 40: each walk step back-propagates the target, the 39 preserved attributes and identity
# through G and the guide, ~40x a forward pass; 500 faces would take hours on 2 cores).
# Our CelebA-HQ guide (celebahq, shipped in models/) supervises; the judges only measure.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:?usage: scripts/compare.sh OUT_DIR}"
N="${N:-500}"
PFSF_N="${PFSF_N:-40}"
SAMPLES="${SAMPLES:-20000}"
STEPS="${STEPS:-1000}"
METHODS="${METHODS:-interfacegan interfacegan_cond transformer l2m pfsf}"
F=build/faceedit
MODEL=dcgan-celeba32
ATTRS="${ATTRS:-smiling male young eyeglasses mustache}"
mkdir -p "$OUT"
log() { echo "compare: $*" >&2; }
have() { [ -s "$1" ]; }

have "$OUT/samples/manifest.json" && [ -f "$OUT/samples.done" ] || {
  log "sampling $SAMPLES faces scored by our guide"
  $F sample --model $MODEL --classifier celebahq --n "$SAMPLES" -o "$OUT/samples" -q >"$OUT/samples.json"
  touch "$OUT/samples.done"
}

for a in $ATTRS; do
  have "$OUT/ifg_$a.safetensors" || $F boundary --samples "$OUT/samples" --attr "$a" --space z -o "$OUT/ifg_$a.safetensors" >"$OUT/ifg_$a.json"
done
conditions_of() {  # attr -> the other attributes' boundaries, comma-separated
  local list=""
  for b in $ATTRS; do [ "$b" != "$1" ] && list="$list${list:+,}$OUT/ifg_$b.safetensors"; done
  echo "$list"
}

if [[ " $METHODS " == *" transformer "* ]]; then
  have "$OUT/latent_classifier.safetensors" ||
    $F train-latent-classifier --samples "$OUT/samples" -o "$OUT/latent_classifier.safetensors" >"$OUT/latent_classifier.json"
  for a in $ATTRS; do
    have "$OUT/transformer_$a.safetensors" ||
      $F train-editor --method transformer --attr "$a" --latent-classifier "$OUT/latent_classifier.safetensors" \
        --steps "$STEPS" --resume -o "$OUT/transformer_$a.safetensors" >"$OUT/transformer_$a.json"
  done
fi
if [[ " $METHODS " == *" l2m "* ]]; then
  for a in $ATTRS; do
    have "$OUT/l2m_$a.safetensors" ||
      $F train-editor --method l2m --attr "$a" --steps "$STEPS" --resume -o "$OUT/l2m_$a.safetensors" >"$OUT/l2m_$a.json"
  done
fi

# Strengths per method (their units differ; the report compares them at equal target change).
editor_args() {  # method attr -> the editor options of `evaluate`
  case "$1" in
    interfacegan) echo "--boundary $OUT/ifg_$2.safetensors" ;;
    interfacegan_cond) echo "--boundary $OUT/ifg_$2.safetensors --condition $(conditions_of "$2")" ;;
    transformer) echo "--method transformer --editor $OUT/transformer_$2.safetensors" ;;
    l2m) echo "--method l2m --editor $OUT/l2m_$2.safetensors" ;;
    pfsf) echo "--method pfsf --attr $2" ;;
  esac
}
step_spec() {  # method attr strength -> an evaluate-sequence --step
  case "$1" in
    interfacegan) echo "method=interfacegan,boundary=$OUT/ifg_$2.safetensors,strength=$3" ;;
    interfacegan_cond) echo "method=interfacegan,boundary=$OUT/ifg_$2.safetensors,conditions=$(conditions_of "$2" | tr , +),strength=$3" ;;
    transformer) echo "method=transformer,editor=$OUT/transformer_$2.safetensors,strength=$3" ;;
    l2m) echo "method=l2m,editor=$OUT/l2m_$2.safetensors,strength=$3" ;;
    pfsf) echo "method=pfsf,attr=$2,strength=$3" ;;
  esac
}
alphas() {
  case "$1" in
    interfacegan | interfacegan_cond) echo "0,1,2,3" ;;
    pfsf) echo "0,1" ;;
    *) echo "0,0.5,1,1.5" ;;
  esac
}
faces() { [ "$1" = pfsf ] && echo "$PFSF_N" || echo "$N"; }
strength() {  # the strength used in sequences: a middle one
  case "$1" in
    interfacegan | interfacegan_cond) echo 2 ;;
    *) echo 1 ;;
  esac
}

for m in $METHODS; do
  for a in $ATTRS; do
    have "$OUT/eval_${m}_$a.json" && continue
    log "evaluating $m $a on $(faces "$m") faces"
    # shellcheck disable=SC2046
    $F evaluate --model $MODEL $(editor_args "$m" "$a") --n "$(faces "$m")" --alpha "$(alphas "$m")" \
      -o "$OUT/eval_${m}_$a.json" >/dev/null
  done
  have "$OUT/seq_$m.json" ||
    $F evaluate-sequence --model $MODEL --n "$(faces "$m")" --step "$(step_spec "$m" smiling "$(strength "$m")")" \
      --step "$(step_spec "$m" young "$(strength "$m")")" -o "$OUT/seq_$m.json" >/dev/null
done

$F report "$OUT"/eval_*.json "$OUT"/seq_*.json --match 0.3,0.5,0.8 \
  --title "faceedit: editing methods compared on the CelebA DCGAN (n = $N)" -o "$OUT/report.html"
log "open $OUT/report.html"
