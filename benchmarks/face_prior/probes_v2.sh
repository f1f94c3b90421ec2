#!/usr/bin/env bash
# Issue 23 probes (face prior v2): each variant warm-started from the committed prior (lamina/zoo/face-prior.pt)
# and trained MINUTES on the cached faces (one torch thread each, both at once), then scored on the 64 held-out
# faces (dlib identity kept, NME, LPIPS-alex, PSNR). Run from a frozen worktree of this commit:
#   git worktree add ../prior-run HEAD && cd ../prior-run && ln -s ../main/.venv .venv
#   lamina train face-prior --stage cache --data faces --preset latent128-narrow --cache runs/prior/cache
#   bash benchmarks/face_prior/probes_v2.sh 20
# Results: docs/results/face-prior/probe-v2.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
MINUTES=${1:-20}
export PYTHONPATH=$PWD OMP_NUM_THREADS=1
common=(--preset latent128-narrow --target-bits 4000 --batch-size 32 --lr 1e-3 --betas 0.9 0.99 --steps 1000000
        --max-minutes "$MINUTES" --checkpoint-minutes 10 --val-every 250 --cache runs/prior/cache
        --init-from lamina/zoo/face-prior.pt)
probe() {  # name, extra options
  local name=$1; shift
  .venv/bin/lamina train face-prior "${common[@]}" --out "runs/prior/probe-$name" "$@" > "runs/prior/probe-$name.log" 2>&1
  .venv/bin/lamina train face-prior --stage export --out "runs/prior/probe-$name" \
    --weights "runs/prior/probe-$name/face-prior.pt" >> "runs/prior/probe-$name.log" 2>&1
  .venv/bin/lamina train face-prior --stage evaluate --weights "runs/prior/probe-$name/face-prior.pt" \
    --dataset validation --limit 64 > "runs/prior/probe-$name/evaluation.json" 2>> "runs/prior/probe-$name.log"
}
probe a0-latent --pixel-every 0 &                                   # control: the committed objective, continued
probe a-identity --pixel-every 2 --identity-weight 2.0 &            # (a) + MobileFaceNet identity, LPIPS, pixel MSE
wait
