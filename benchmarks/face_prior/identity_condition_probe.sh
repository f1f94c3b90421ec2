#!/usr/bin/env bash
# Issue 23 probe (c): identity-conditioned generation. Both arms continue the committed prior (the prior v3) for
# MINUTES on the cached faces with the prior v3's objective (latent MSE + identity, landmark, LPIPS and pixel terms;
# lr 5e-4, one torch thread each, both at once), then are scored on the 64 held-out validation faces:
#   c0: unconditioned (the control);
#   c:  + the generator conditioned on feature-texture's decoded identity feature (lamina.priors.identity: its
#       default feature quality, ~90 B; every style position moved by a zero-initialised linear map of it).
# From a frozen worktree of this commit, with the prior cache in runs/prior/cache (the identity features are
# computed once into runs/prior/cache/identity-*.pt):
#   bash benchmarks/face_prior/identity_condition_probe.sh 30
# Continued (resumable): each number is total training minutes, then export + evaluate (face-prior-<minutes>.pt);
# ARMS picks the arms (the prior v4's long run: ARMS=c0 ... 60 90 120):
#   ARMS=c0 bash benchmarks/face_prior/identity_condition_probe.sh 60 90 120
# Results: docs/results/face-prior/probe-v2.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
ARMS=${ARMS:-c0 c}
export PYTHONPATH=$PWD OMP_NUM_THREADS=1
common=(--preset latent128-narrow --target-bits 4000 --batch-size 32 --lr 5e-4 --betas 0.9 0.99 --steps 1000000
        --checkpoint-minutes 10 --val-every 250 --cache runs/prior/cache
        --init-from lamina/zoo/face-prior.pt --pixel-every 2 --identity-weight 2.0 --landmark-weight 2.0 --resume)
probe() {  # minutes, name, extra options
  local minutes=$1 name=$2; shift 2
  .venv/bin/lamina train face-prior "${common[@]}" --max-minutes "$minutes" --out "runs/prior/probe-$name" "$@" >> "runs/prior/probe-$name.log" 2>&1
  .venv/bin/lamina train face-prior --stage export --out "runs/prior/probe-$name" \
    --weights "runs/prior/probe-$name/face-prior.pt" >> "runs/prior/probe-$name.log" 2>&1
  .venv/bin/lamina train face-prior --stage evaluate --weights "runs/prior/probe-$name/face-prior.pt" \
    --dataset validation --limit 64 > "runs/prior/probe-$name/evaluation-$minutes.json" 2>> "runs/prior/probe-$name.log"
  cp "runs/prior/probe-$name/face-prior.pt" "runs/prior/probe-$name/face-prior-$minutes.pt"
}
for MINUTES in "${@:-30}"; do
  case " $ARMS " in *" c0 "*) probe "$MINUTES" c0-control & ;; esac
  case " $ARMS " in *" c "*) probe "$MINUTES" c-identity-condition --condition identity & ;; esac
  wait
done
