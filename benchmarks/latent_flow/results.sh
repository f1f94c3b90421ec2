#!/usr/bin/env bash
# Every command behind docs/results/latent-flow/, in the order it ran (CPU, 2 cores). Needs the face prior's
# cache (lamina train face-prior --stage cache --data faces --cache runs/prior/cache). The baselines (VVC, AV1,
# mean-scale, hyperprior over the 500 utk-test faces; VVC and the learned baselines over 100 celeba-test faces)
# and stylegan-scalable are the committed means of their own runs over the same images
# (docs/results/learned-baselines/utk-test-learned, docs/results/stylegan-scalable/{utk-test-500,celeba-test}).
set -euo pipefail
cd "$(dirname "$0")/.."
L=.venv/bin/lamina
PY=.venv/bin/python
OUT=${OUT:-runs/latent-flow}
METRICS="psnr ms_ssim lpips_alex dists landmarks_dlib landmarks_mesh parsing identity_dlib identity_mfn"

if [ "${SKIP_TRAIN:-0}" != 1 ]; then
  # 1. styles of the prior cache's 14,451 faces through the frozen prior encoder, once
  $L train latent-flow --stage cache
  # 2-3. probes (docs/results/latent-flow/probe.md), then the qualities (λ 1500 / 4000 / 10000 / 27000, shared
  #    flow, warm-started from probe a), the paper's per-stage variant and T = identity, 14 minutes each
  bash benchmarks/latent_flow/train.sh
  for q in 1 2 3 4; do
    cp "$OUT/long/shared-q$q/latent-flow-q$q.pt" "$OUT/long/shared-q$q/latent-flow-q$q.json" lamina/zoo/
    # 4. the video difference model of each quality, on lp_d3, lp_d6, lp_d9 (rewrites the file: a new model id)
    $L train latent-flow --stage video --weights "lamina/zoo/latent-flow-q$q.pt" --steps 2000
  done
fi

# 5. images: utk-test (500) with every metric, celeba-test (100) with recognition and attributes
$L bench --dataset utk-test --codecs latent-flow --metrics $METRICS --limit 500 --workers 2 --anchor latent-flow \
    --out "$OUT/bench-utk-test"
$L bench --dataset celeba-test --codecs latent-flow --metrics psnr ms_ssim lpips_alex dists landmarks_dlib \
    identity_dlib recognition attributes --limit 100 --workers 1 --anchor latent-flow --out "$OUT/bench-celeba"
.venv/bin/lamina bench merge "$OUT/utk-test" "$OUT/bench-utk-test" \
    docs/results/stylegan-scalable/utk-test-500/summary.csv \
    --codecs stylegan-scalable vvc av1 mean-scale hyperprior --anchor vvc mean-scale
.venv/bin/lamina bench merge "$OUT/celeba-test" "$OUT/bench-celeba" \
    docs/results/stylegan-scalable/celeba-test/summary.csv --codecs stylegan-scalable vvc mean-scale hyperprior --anchor vvc
# 6. against the prior's projection G(E(x)) (the paper's reference), beside stylegan-scalable
$PY benchmarks/latent_flow/projected.py "$OUT/projected/utk-test.csv" --dataset utk-test --limit 500 --stride 2
$PY benchmarks/latent_flow/projected.py "$OUT/projected/celeba-test.csv" --dataset celeba-test --limit 100
$PY benchmarks/latent_flow/projected.py "$OUT/projected/utk-test-classic.csv" --dataset utk-test --limit 500 --stride 2 \
    --codecs vvc:63 vvc:55 vvc:47 av1:63 av1:55
# 7. video, residual histogram, drift; pictures
$PY benchmarks/latent_flow/video.py --out "$OUT/video" --frames 50
$PY benchmarks/latent_flow/pictures.py "$OUT/pictures" --faces 6
# 8. the shared vs per-stage table (runs/latent-flow/per-stage.json from the held-out evaluations) and the report
$PY benchmarks/latent_flow/report.py "$OUT"
