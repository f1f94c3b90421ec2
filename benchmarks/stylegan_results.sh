#!/usr/bin/env bash
# The measurements behind docs/results/stylegan-scalable/, in the order they were run (CPU, 2 cores).
# Needs the committed stylegan-scalable weights and the earlier baseline runs' results.jsonl in runs/
# (runs/utk-test-learned, runs/landmarks-helen-test, runs/celeba-test-learned: see docs/results/*/intro.md).
set -euo pipefail
cd "$(dirname "$0")/.."
L=.venv/bin/lamina
PY=.venv/bin/python
OUT=${OUT:-runs/stylegan-scalable}
METRICS="psnr ms_ssim lpips_alex dists landmarks_dlib landmarks_mesh parsing identity_dlib identity_mfn"
UTK_LIMIT=${UTK_LIMIT:-200}

$L bench --dataset utk-test --codecs stylegan-scalable --metrics $METRICS --limit "$UTK_LIMIT" --workers 2 \
    --anchor stylegan-scalable --out "$OUT/bench-utk-test"
$L bench --dataset landmarks-helen-test --codecs stylegan-scalable --metrics psnr lpips_alex landmarks_dlib \
    --limit 100 --workers 2 --anchor stylegan-scalable --out "$OUT/bench-helen"
$L bench --dataset celeba-test --codecs stylegan-scalable --metrics psnr lpips_alex identity_dlib recognition attributes \
    --limit 100 --workers 2 --anchor stylegan-scalable --out "$OUT/bench-celeba"
$PY benchmarks/merge_bench.py "$OUT/utk-test" "$OUT/bench-utk-test" runs/utk-test-learned --anchor vvc
$PY benchmarks/merge_bench.py "$OUT/landmarks-helen-test" "$OUT/bench-helen" runs/landmarks-helen-test --anchor vvc
$PY benchmarks/merge_bench.py "$OUT/celeba-test" "$OUT/bench-celeba" runs/celeba-test-learned --anchor vvc
OMP_NUM_THREADS=1 $PY benchmarks/stylegan_entropy_ablation.py --quality 3 --steps 800 --out "$OUT/ablation"
$PY benchmarks/stylegan_video.py --out "$OUT/video" --frames 50 --keyframe-interval 25 --qualities 3 --clips WDA_KatieHill_000.mp4 RD_Radio34_000.mp4 lp_d0.mp4
$PY benchmarks/stylegan_pictures.py "$OUT/pictures" --quality 3 --faces 6
$PY benchmarks/stylegan_targets.py "$OUT/utk-test" "$OUT/landmarks-helen-test" "$OUT/targets.json"
$PY benchmarks/stylegan_table.py "$OUT/utk-test" "$OUT/landmarks-helen-test" "$OUT/celeba-test" "$OUT/table1.md"
