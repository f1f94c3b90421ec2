#!/usr/bin/env bash
# Issue 23: the prior v2 (probe (a), 365 training minutes) continued with the seed's landmark term added
# (--landmark-weight: lamina's heatmap network, Eq. 17) on top of identity, LPIPS and pixel terms, because (a)
# traded landmarks for identity (NME 0.031 -> 0.035 on validation faces). Fresh optimiser, warm start from the
# 365-minute export. From a frozen worktree with the prior cache in runs/prior/cache:
#   bash benchmarks/face_prior/landmark_run_v2.sh INIT.pt 20 40 80 120   # resumable; each number: total training
#                                                                       # minutes, then export + evaluate
set -euo pipefail
cd "$(dirname "$0")/../.."
INIT=$1; shift
RUN=runs/prior/v2-landmarks
export PYTHONPATH=$PWD OMP_NUM_THREADS=1
for MINUTES in "${@:-120}"; do
  .venv/bin/lamina train face-prior --preset latent128-narrow --target-bits 4000 --batch-size 32 --lr 1e-3 \
    --betas 0.9 0.99 --steps 1000000 --max-minutes "$MINUTES" --checkpoint-minutes 10 --val-every 250 \
    --cache runs/prior/cache --init-from "$INIT" --out "$RUN" --pixel-every 2 \
    --identity-weight 2.0 --landmark-weight 2.0 --resume
  .venv/bin/lamina train face-prior --stage export --out "$RUN" --weights "$RUN/face-prior.pt"
  .venv/bin/lamina train face-prior --stage evaluate --weights "$RUN/face-prior.pt" --dataset validation \
    --limit 64 > "$RUN/evaluation-$MINUTES.json"
  cp "$RUN/face-prior.pt" "$RUN/face-prior-$MINUTES.pt"
done
