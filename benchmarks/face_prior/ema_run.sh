#!/usr/bin/env bash
# Issue 23, the face prior's long run after the prior v4: the v4 run (probe (c)'s control arm c0, lr 5e-4) continued
# from its checkpoint with an exponential moving average of the weights (--ema 0.998, ~500 steps), so that the
# exported and validated prior is the average rather than the swinging live weights (between the c0 exports at 30
# and 60 minutes the 64 validation faces' identity kept went 92 -> 83%). Same objective and options as
# identity_condition_probe.sh's c0 arm (the checkpoint's fingerprint must match).
# From a frozen worktree of this commit, with the prior cache in runs/prior/cache and the c0 checkpoint in SOURCE
# (copied once; later calls resume runs/prior/ema):
#   SOURCE=/work/probe-c/runs/prior/probe-c0-control/checkpoint.pt bash benchmarks/face_prior/ema_run.sh 85 105 125
# Each number = total training minutes of the run (c0's 65 included); after each: export face-prior-<minutes>.pt and
# evaluation-<minutes>.json (the 64 validation faces, 1-3 layers). Results: docs/results/face-prior/probe-v2.md.
# Without a checkpoint, INIT=weights.pt starts a fresh run there instead (session 10: that checkpoint and the export
# at 125 minutes were lost with their worktree; the run was redone from the committed prior v4, OUT=runs/prior/ema5,
# two torch threads): INIT=lamina/zoo/face-prior.pt OUT=runs/prior/ema5 OMP_NUM_THREADS=2 bash ... 50
set -euo pipefail
cd "$(dirname "$0")/../.."
export PYTHONPATH=$PWD OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
out=${OUT:-runs/prior/ema}
mkdir -p "$out"
start=()
if [ -n "${INIT:-}" ]; then start=(--init-from "$INIT")
elif [ ! -f "$out/checkpoint.pt" ]; then cp "${SOURCE:?give SOURCE=the c0 run\'s checkpoint.pt}" "$out/checkpoint.pt"; fi
for MINUTES in "$@"; do
  .venv/bin/lamina train face-prior --preset latent128-narrow --target-bits 4000 --batch-size 32 --lr 5e-4 \
    --betas 0.9 0.99 --steps 1000000 --checkpoint-minutes 10 --val-every 250 --cache runs/prior/cache \
    --pixel-every 2 --identity-weight 2.0 --landmark-weight 2.0 --ema 0.998 --resume "${start[@]}" \
    --max-minutes "$MINUTES" --out "$out" >> "$out.log" 2>&1
  .venv/bin/lamina train face-prior --stage export --out "$out" --weights "$out/face-prior.pt" >> "$out.log" 2>&1
  .venv/bin/lamina train face-prior --stage evaluate --weights "$out/face-prior.pt" --dataset validation --limit 64 \
    > "$out/evaluation-$MINUTES.json" 2>> "$out.log"
  cp "$out/face-prior.pt" "$out/face-prior-$MINUTES.pt"
done
