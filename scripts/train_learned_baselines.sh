#!/usr/bin/env bash
# Train the learned baselines and copy weights + cards to lamina/zoo.
# Usage: scripts/train_learned_baselines.sh [STEPS] [DEVICE] [ARCHS] [QUALITIES]
#   defaults: 2000 cpu "hyperprior mean-scale" "1 2 3 4"   (CPU: ~15 min per model at 2000 steps)
# Quality q > 1 warm-starts from the q-1 weights in lamina/zoo when they exist (multi-rate practice).
# Re-running is safe: a finished run resumes at its last step and only re-exports.
# LR (default 3e-4) can be overridden: the committed mean-scale q4 diverged at 3e-4 and was trained with
# LR=1e-4 (its model card records the config it ran with).
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS=${1:-2000}
DEVICE=${2:-cpu}
ARCHS=${3:-hyperprior mean-scale}
QUALITIES=${4:-1 2 3 4}
LR=${LR:-3e-4}
for arch in $ARCHS; do
  for q in $QUALITIES; do
    out=runs/train/$arch-q$q
    init=()
    previous=lamina/zoo/$arch-q$((q - 1)).pt
    [ "$q" -gt 1 ] && [ -f "$previous" ] && init=(--init-from "$previous")
    .venv/bin/lamina train "$arch" --quality "$q" --data utk --steps "$STEPS" --batch-size 8 --patch 128 \
      --lr "$LR" --val-every 500 --device "$DEVICE" --out "$out" --quiet "${init[@]}"
    cp "$out/$arch-q$q.pt" "$out/$arch-q$q.json" lamina/zoo/
  done
done
