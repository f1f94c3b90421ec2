#!/bin/bash
# progressive-mask at the paper's scale on one GPU (not run here: no GPU was lent to this work).
# The paper trains at 256x256 with all three conditions; Imagenette here is 224x224, so the crop is the whole
# image (latent 28x28, P = 784). Batch 16, the same losses and weights as the CPU runs, many more steps.
#   bash benchmarks/progressive_mask/gpu.sh   (after: lamina train progressive-mask --stage cache)
set -e
T=".venv/bin/lamina train progressive-mask --stage train"
for V in rmpgc mpgc2 mpgc1; do
  R=runs/progressive-mask/gpu/$V
  $T --device cuda --variant $V --phase latent --crop 224 --batch-size 64 --lr 1e-3 \
      --max-minutes 20 --val-minutes 100 --out $R/latent --resume
  $T --device cuda --variant $V --phase full --crop 224 --batch-size 16 --lr 2e-4 \
      --max-minutes 60 --val-minutes 10 --out $R/full --init-from $R/latent --resume
done
