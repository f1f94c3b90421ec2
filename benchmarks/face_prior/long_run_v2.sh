#!/usr/bin/env bash
# Issue 23 long run: probe (a) (MobileFaceNet identity + LPIPS + pixel terms on top of latent MSE) continued from
# its 20-minute probe checkpoint; --max-minutes counts training time over every resumed session of the run.
# From a frozen worktree with the cache and probe of benchmarks/face_prior/probes_v2.sh:
#   bash benchmarks/face_prior/long_run_v2.sh 255 295 335   # resumable: each number is a total of training
#                                                          # minutes; after each, export and evaluate (the curve)
set -euo pipefail
cd "$(dirname "$0")/../.."
RUN=runs/prior/long-a-identity
export PYTHONPATH=$PWD OMP_NUM_THREADS=1
[ -d "$RUN" ] || cp -r runs/prior/probe-a-identity "$RUN"
for MINUTES in "${@:-120}"; do
  .venv/bin/lamina train face-prior --preset latent128-narrow --target-bits 4000 --batch-size 32 --lr 1e-3 \
    --betas 0.9 0.99 --steps 1000000 --max-minutes "$MINUTES" --checkpoint-minutes 10 --val-every 250 \
    --cache runs/prior/cache --init-from lamina/zoo/face-prior.pt --out "$RUN" --pixel-every 2 \
    --identity-weight 2.0 --resume
  .venv/bin/lamina train face-prior --stage export --out "$RUN" --weights "$RUN/face-prior.pt"
  .venv/bin/lamina train face-prior --stage evaluate --weights "$RUN/face-prior.pt" --dataset validation \
    --limit 64 > "$RUN/evaluation-$MINUTES.json"
  cp "$RUN/face-prior.pt" "$RUN/face-prior-$MINUTES.pt"
done
