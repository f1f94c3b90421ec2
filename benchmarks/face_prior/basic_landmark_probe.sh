#!/usr/bin/env bash
# Issue 23 probe (e): landmarks in the basic layer (target: stylegan-scalable's basic layer NME <= 0.025; the prior
# v4's one-layer projection gives ~0.029). Both arms start from INIT (an export of the EMA run, ema_run.sh) with the
# same objective, optimiser and weight average (--ema 0.998), one torch thread each, both at once; arm e adds
# --basic-landmark-weight 2.0 (on pixel steps the same faces are also rendered from their basic layer alone and
# their heatmap landmark term is added). Scored on the 64 validation faces (1-3 layers).
# From a frozen worktree of this commit, with the prior cache in runs/prior/cache:
#   INIT=/work/ema-run/runs/prior/ema/face-prior-125.pt bash benchmarks/face_prior/basic_landmark_probe.sh 30
# Each number = total training minutes of the arms (resumable; export face-prior-<m>.pt + evaluation-<m>.json).
# Results: docs/results/face-prior/probe-v2.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
ARMS=${ARMS:-e0 e}
export PYTHONPATH=$PWD OMP_NUM_THREADS=1
common=(--preset latent128-narrow --target-bits 4000 --batch-size 32 --lr 5e-4 --betas 0.9 0.99 --steps 1000000
        --checkpoint-minutes 10 --val-every 250 --cache runs/prior/cache --init-from "${INIT:?give INIT=an export}"
        --pixel-every 2 --identity-weight 2.0 --landmark-weight 2.0 --ema 0.998 --resume)
probe() {  # minutes, name, extra options
  local minutes=$1 name=$2; shift 2
  local out="runs/prior/probe-$name"
  .venv/bin/lamina train face-prior "${common[@]}" --max-minutes "$minutes" --out "$out" "$@" >> "$out.log" 2>&1
  .venv/bin/lamina train face-prior --stage export --out "$out" --weights "$out/face-prior.pt" >> "$out.log" 2>&1
  .venv/bin/lamina train face-prior --stage evaluate --weights "$out/face-prior.pt" --dataset validation --limit 64 \
    > "$out/evaluation-$minutes.json" 2>> "$out.log"
  cp "$out/face-prior.pt" "$out/face-prior-$minutes.pt"
}
for MINUTES in "${@:-30}"; do
  case " $ARMS " in *" e0 "*) probe "$MINUTES" e0-control & ;; esac
  case " $ARMS " in *" e "*) probe "$MINUTES" e-basic-landmarks --basic-landmark-weight 2.0 & ;; esac
  wait
done
