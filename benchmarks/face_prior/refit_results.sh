#!/usr/bin/env bash
# Issue 23: the numbers behind docs/results/face-prior/refit-v4/ (and, with OUT changed, refit-v3/), after a refit
# (refit_v2.sh) on the committed prior: the prior's own projection on all 500 utk-test faces, the face codecs layer
# by layer on every 5th utk-test face (whole-file bytes, dlib identity / NME, LPIPS, PSNR), CelebA recognition on the
# first 100 celeba-test faces, and the pictures. Two jobs at a time on the 2 cores; a step whose output exists is
# skipped (rerun the script to finish a stopped one).
#   bash benchmarks/face_prior/refit_results.sh docs/results/face-prior/refit-v4
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:?output folder}
PY=.venv/bin/python
L=.venv/bin/lamina
export OMP_NUM_THREADS=1
mkdir -p "$OUT/utk-test"
if [ ! -s "$OUT/prior-utk-test-500.json" ]; then
  $L train face-prior --stage evaluate --weights lamina/zoo/face-prior.pt --dataset utk-test --limit 500 \
    > "$OUT/prior-utk-test-500.json.part" && mv "$OUT/prior-utk-test-500.json.part" "$OUT/prior-utk-test-500.json" &
fi
for run in "stylegan-scalable 1 sg-q1" "stylegan-scalable 4 sg-q4" "latent-flow 1 lf-q1" "latent-flow 4 lf-q4"; do
  set -- $run
  [ -s "$OUT/utk-test/$3.json" ] && continue
  $PY benchmarks/face_prior/layers_bench.py --dataset utk-test --every 5 --codec "$1" --quality "$2" \
    --out "$OUT/utk-test/$3.json"
done
wait
# CelebA recognition: the gallery (4,865 celeba-train descriptors) is built once per output folder (~12 min);
# GALLERY=path/celeba-train-gallery.npz reuses one; CELEBA=0 skips this part (the pictures only)
RUN=runs/refit-results/celeba
if [ "${CELEBA:-1}" != 0 ]; then
  mkdir -p "$RUN"
  if [ -n "${GALLERY:-}" ]; then cp "$GALLERY" "$RUN/celeba-train-gallery.npz"; fi   # the name lamina bench reads
  $L bench --dataset celeba-test --limit 100 --codecs stylegan-scalable:1 latent-flow:1,4 vvc:63 \
    --metrics recognition identity_dlib lpips_alex --out "$RUN" &
fi
$PY benchmarks/face_prior/refit_pictures.py "$OUT/layers.jpg"
wait
if [ "${CELEBA:-1}" != 0 ]; then
  mkdir -p "$OUT/celeba-test"
  cp "$RUN/"{config.json,refused.jsonl,report.md,summary.csv} "$OUT/celeba-test/"
fi
