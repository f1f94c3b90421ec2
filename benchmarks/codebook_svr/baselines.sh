#!/usr/bin/env bash
# Baselines for docs/results/codebook-svr: VVC, AV1, HEIC and mean-scale at the rates codebook-svr covers
# (about 0.02-0.3 bpp on Kodak), into the same folders as benchmarks/codebook_svr/eval.py.
#   bash benchmarks/codebook_svr/baselines.sh kodak runs/codebook-svr/bench/kodak "psnr ms_ssim lpips_alex dists" [EVERY]
set -euo pipefail
dataset=$1; out=$2; metrics=${3:-"psnr ms_ssim lpips_alex dists"}; every=${4:-1}
py=${PYTHON:-.venv/bin/python}
lim=(--every "$every")
$py -m lamina.cli bench --dataset "$dataset" --out "$out" --metrics $metrics --codecs vvc --qualities 42 45 48 51 54 57 "${lim[@]}"
$py -m lamina.cli bench --dataset "$dataset" --out "$out" --metrics $metrics --codecs av1 --qualities 50 54 57 60 63 "${lim[@]}"
$py -m lamina.cli bench --dataset "$dataset" --out "$out" --metrics $metrics --codecs heic --qualities 0 5 10 15 20 "${lim[@]}"
$py -m lamina.cli bench --dataset "$dataset" --out "$out" --metrics $metrics --codecs mean-scale "${lim[@]}"
