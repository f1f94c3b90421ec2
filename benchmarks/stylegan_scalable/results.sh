#!/usr/bin/env bash
# Every command behind docs/results/face-prior/ and docs/results/stylegan-scalable/, in the order they ran
# (CPU, 2 cores). The baselines (VVC, AV1, mean-scale, ... on the same images) are the committed means of the
# earlier runs (docs/results/stylegan-scalable/*/summary.csv at commit 73cfdf5, saved to runs/baseline-summaries/
# before this script overwrote them); feature-texture is run here on the same images.
set -euo pipefail
cd "$(dirname "$0")/.."
L=.venv/bin/lamina
PY=.venv/bin/python
OUT=${OUT:-runs/stylegan-scalable}
BASE=${BASE:-runs/baseline-summaries}
METRICS="psnr ms_ssim lpips_alex dists landmarks_dlib landmarks_mesh parsing identity_dlib identity_mfn"
UTK_LIMIT=${UTK_LIMIT:-200}

if [ "${SKIP_PRIOR:-0}" != 1 ]; then
  # 1. the face prior: cache the training faces' TAEF2 latents once, probe (docs/results/face-prior/probe.md),
  #    then one long run (stopped on time; --resume continues it), exported and installed into the zoo
  $L train face-prior --stage cache --data faces --cache runs/prior/cache
  $L train face-prior --preset latent128-narrow --pixel-every 0 --target-bits 4000 --batch-size 32 --lr 2e-3 \
      --betas 0.9 0.99 --steps 1000000 --max-minutes 105 --checkpoint-minutes 10 --val-every 500 \
      --cache runs/prior/cache --out runs/prior/long --quiet
  cp runs/prior/long/face-prior-latent128-narrow.pt lamina/zoo/face-prior.pt
  cp runs/prior/long/face-prior-latent128-narrow.json lamina/zoo/face-prior.json
  # 2. stylegan-scalable on it: one entropy model per quality (coding steps 2, 1.4, 1, 0.7)
  $L train stylegan-scalable --stage from-prior --weights face-prior --steps 800 --train-images 3000
fi

# 3. benches (new codecs on the first UTK_LIMIT utk-test, 100 helen-test and 100 celeba-test faces)
$L bench --dataset utk-test --codecs stylegan-scalable feature-texture --metrics $METRICS --limit "$UTK_LIMIT" \
    --workers 2 --anchor stylegan-scalable --out "$OUT/bench-utk-test"
$L bench --dataset landmarks-helen-test --codecs stylegan-scalable --metrics psnr lpips_alex landmarks_dlib \
    --limit 100 --workers 2 --anchor stylegan-scalable --out "$OUT/bench-helen"
$L bench --dataset celeba-test --codecs stylegan-scalable feature-texture --metrics psnr lpips_alex identity_dlib \
    recognition attributes --limit 100 --workers 2 --anchor stylegan-scalable --out "$OUT/bench-celeba"
# 4. beside the baselines' means over the same images
.venv/bin/lamina bench merge "$OUT/utk-test" "$OUT/bench-utk-test" "$BASE/utk-test.csv" \
    --codecs vvc av1 mean-scale hyperprior heic jpeg --anchor vvc mean-scale
.venv/bin/lamina bench merge "$OUT/landmarks-helen-test" "$OUT/bench-helen" "$BASE/landmarks-helen-test.csv" \
    --codecs vvc av1 mean-scale hyperprior --anchor vvc
.venv/bin/lamina bench merge "$OUT/celeba-test" "$OUT/bench-celeba" "$BASE/celeba-test.csv" \
    --codecs vvc mean-scale hyperprior --anchor vvc
$PY benchmarks/stylegan_scalable/targets.py "$OUT/utk-test" "$OUT/celeba-test" "$OUT/targets.json"
$PY benchmarks/stylegan_scalable/table.py "$OUT/utk-test" "$OUT/landmarks-helen-test" "$OUT/celeba-test" "$OUT/table1.md"
# 5. pictures, entropy ablation, video
$PY benchmarks/stylegan_scalable/pictures.py "$OUT/pictures" --quality 3 --faces 8
OMP_NUM_THREADS=1 $PY benchmarks/stylegan_scalable/entropy_ablation.py --quality 3 --steps "${ABLATION_STEPS:-800}" \
    --out "$OUT/ablation"
$L bench --video --dataset talking-faces --frames 50 --codecs "stylegan-scalable:3@keyframe_interval=25" x265 vvenc \
    --out "$OUT/video"   # the clips WDA_KatieHill_000, RD_Radio34_000, lp_d0 (was benchmarks' stylegan video script)
# 6. stylegan-scalable on all 500 utk-test faces (the bench resumes the 200 above), beside the learned-baselines
#    run's means over the same 500 (docs/results/learned-baselines/utk-test-learned/summary.csv)
$L bench --dataset utk-test --codecs stylegan-scalable --metrics $METRICS --limit 500 --workers 2 \
    --anchor stylegan-scalable --out "$OUT/bench-utk-test"
mkdir -p "$OUT/bench-utk-test-500"
grep '"codec": "stylegan-scalable"' "$OUT/bench-utk-test/results.jsonl" > "$OUT/bench-utk-test-500/results.jsonl"
cp "$OUT/bench-utk-test/config.json" "$OUT/bench-utk-test/refused.jsonl" "$OUT/bench-utk-test-500/"
.venv/bin/lamina bench merge "$OUT/utk-test-500" "$OUT/bench-utk-test-500" \
    docs/results/learned-baselines/utk-test-learned/summary.csv --codecs vvc av1 mean-scale hyperprior \
    --anchor vvc mean-scale
