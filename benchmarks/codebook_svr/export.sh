#!/usr/bin/env bash
# The committed codebook-svr qualities: (training run, LQ downsampling factor, VVC QP of the fidelity layer).
# Runs picked by held-out LPIPS (benchmarks/codebook_svr/heldout.py; docs/results/codebook-svr/probe.md):
# for the 4x fidelity layer of the 2x2/K256 codebook the 4x-only run beats the run trained on 2x and 4x LQ
# (0.194 vs 0.213), which serves the 2x qualities.
set -euo pipefail
lamina=${LAMINA:-.venv/bin/lamina}
g2f4=runs/codebook-svr/probe/g2-k256-f4-pixel; g2=runs/codebook-svr/long/g2-k256/main; g1=runs/codebook-svr/long/g1-k1024/main
H4='"held_out_40": "index 0.028 bpp + LQ 0.082 bpp: SVR 21.39 dB / LPIPS 0.194; codebook alone 16.43 / 0.479; x^LQ alone 24.29 / 0.474"'
T4='"training": "latent MSE, 4x LQ only: 14 min, 6063 steps, batch 16, lr 1e-3; then + LPIPS-alex + L1 through TAEF2 (weight 1): 12 min, 296 steps, batch 8"'
H2='"held_out_40": "index 0.028 bpp + LQ (4x) 0.082 bpp: SVR 21.02 dB / LPIPS 0.213; codebook alone 16.43 / 0.479"'
T2='"training": "2x and 4x LQ (E^LQ at 1/2 resolution): latent MSE 8 min (1320 steps, batch 16), then + LPIPS-alex + L1 through TAEF2: 40 min, 952 steps, batch 8, lr 1e-3 (1/5 for the last fifth not reached: stopped at 40 of 57 min for CPU time)"'
H1='"held_out_40": "index 0.139 bpp + LQ (4x) 0.082 bpp: SVR 22.48 dB / LPIPS 0.145; codebook alone 18.93 / 0.254"'
T1='"training": "2x and 4x LQ (E^LQ at 1/2 resolution): latent MSE 8 min (1331 steps, batch 16), then + LPIPS-alex + L1 through TAEF2: 40 min, 937 steps, batch 8, lr 1e-3 (stopped at 40 of 57 min for CPU time)"'
export_q() {  # quality run factor qp held-out training
  $lamina train codebook-svr --stage export --run "$2" --quality "$1" --lq-factor "$3" --lq-quality "$4" \
      --card "{\"ladder\": \"q$1: LQ ${3}x down, VVC QP $4\", $5, $6}"
}
export_q 1 $g2f4 4 47 "$H4" "$T4"
export_q 2 $g2f4 4 42 "$H4" "$T4"
export_q 3 $g2f4 4 37 "$H4" "$T4"
# q4 ($g2 2 42) and q5 ($g2 2 37) were exported too, and removed as dominated (lamina/zoo/retired.json)
export_q 6 $g1 4 42 "$H1" "$T1"
export_q 7 $g1 2 42 "$H1" "$T1"
