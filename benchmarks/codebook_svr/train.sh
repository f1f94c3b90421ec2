#!/usr/bin/env bash
# The long codebook-svr training run of one codebook (as committed for q4-q7): E^LQ + CFT on LQ images of both
# factors (E^LQ reads 1/2 resolution), 8 minutes of latent MSE, then latent MSE + LPIPS-alex + L1 through the
# frozen TAEF2 decoder (batch 8) for the rest. Needs the cache (lamina train codebook-svr --stage cache|lq|codebook).
#   bash benchmarks/codebook_svr/train.sh g2-k256 57
set -euo pipefail
book=$1; minutes=${2:-57}
lamina=${LAMINA:-.venv/bin/lamina}
out=runs/codebook-svr/long/$book
mkdir -p "$out"
if [ ! -f "$out/warm/checkpoint.pt" ]; then
  $lamina train codebook-svr --stage train --codebook runs/codebook-svr/codebook-$book.pt --factor 2,4 \
      --lr 1e-3 --batch-size 16 --val-every 250 --max-minutes 8 --out "$out/warm"
fi
resume=(); [ -f "$out/main/checkpoint.pt" ] && resume=(--resume)
$lamina train codebook-svr --stage train --codebook runs/codebook-svr/codebook-$book.pt --factor 2,4 \
    --init-from "$out/warm" --pixel-weight 1 --lr 1e-3 --batch-size 8 --val-every 100 --max-minutes "$minutes" \
    --out "$out/main" "${resume[@]}"
