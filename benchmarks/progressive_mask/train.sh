#!/bin/bash
# progressive-mask training as it ran (CPU, 1 thread per variant, variants in parallel):
#   bash benchmarks/progressive_mask/train.sh VARIANT LATENT_MIN FULL_MIN [INIT_RUN]
# VARIANT rmpgc | mpgc2 | mpgc1. Phase 1: TAEF2-latent MSE + λ_R·v with the variant's conditions (lr 1e-3,
# batch 32); phase 2: pixel MSE + 10·SFM + LSGAN + λ_R·v through the frozen TAEF2 decoder (lr 2e-4, batch 4).
# STEPS (env): cap on phase-2 steps, so that variants trained in parallel get the same number.
# INIT_RUN: a run folder to start from (the shared unconditioned warm-up, runs/progressive-mask/probe/taef2-latent).
# Prerequisite: lamina train progressive-mask --stage cache. Rerunning continues a stopped run (--resume).
set -e
V=$1; L=$2; F=$3; INIT=$4
R=runs/progressive-mask/long/$V
T=".venv/bin/lamina train progressive-mask --stage train"
export OMP_NUM_THREADS=1
mkdir -p $R
if [ ! -f $R/latent/done ]; then
  $T --variant $V --phase latent --batch-size 32 --lr 1e-3 --max-minutes $L \
      --val-minutes 100 --out $R/latent ${INIT:+--init-from $INIT} --resume
  touch $R/latent/done
fi
$T --variant $V --phase full --batch-size 4 --lr 2e-4 --max-minutes $F --val-minutes 20 --steps ${STEPS:-1000000} \
    --out $R/full --init-from $R/latent --resume
