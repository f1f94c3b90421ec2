#!/usr/bin/env bash
# Train the learned baselines (hyperprior, mean-scale; qualities 1-4) and copy weights + cards to lamina/zoo.
# Usage: scripts/train_learned_baselines.sh [STEPS] [DEVICE]   (CPU: ~10 min per model at 2000 steps)
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS=${1:-2000}
DEVICE=${2:-cpu}
for arch in hyperprior mean-scale; do
  for q in 1 2 3 4; do
    out=runs/train/$arch-q$q
    .venv/bin/lamina train "$arch" --quality "$q" --data utk --steps "$STEPS" --batch-size 8 --patch 128 \
      --lr 3e-4 --val-every 500 --device "$DEVICE" --out "$out" --quiet
    cp "$out/$arch-q$q.pt" "$out/$arch-q$q.json" lamina/zoo/
  done
done
