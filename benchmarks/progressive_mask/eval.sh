#!/bin/bash
# progressive-mask evaluation as it ran (two lanes, one CPU core each), after the weights were exported:
#   bash benchmarks/progressive_mask/eval.sh
# Table II rows (Imagenette test): RMPGC at 4 requested rates on all 800 images (+ the originals), its layers
# alone on every 4th image, the ablations on every 8th; RD rows with LPIPS/DISTS on Kodak (24) and every 4th
# BSDS500 test image (25, the images the baselines ran on).
set -e
P="env OMP_NUM_THREADS=1 .venv/bin/python benchmarks/progressive_mask/table.py"
O=runs/progressive-mask/table
D=runs/progressive-mask/rd
Z=lamina/zoo
mkdir -p $O $D
RATES="0.08 0.11 0.15 0.21"
lane() {
  K=$1
  $P --out $O/rmpgc-$K.jsonl --weights $Z/progressive-mask-q1.pt --variant RMPGC --rates $RATES --originals --part $K/2
  $P --out $O/rmpgc-layers-$K.jsonl --weights $Z/progressive-mask-q1.pt --variant RMPGC --rates --layers --every 4 --part $K/2
  $P --out $D/kodak-$K.jsonl --dataset kodak --weights $Z/progressive-mask-q1.pt --variant RMPGC --rates $RATES --layers --perceptual --part $K/2
  $P --out $D/bsds500-test-$K.jsonl --dataset bsds500-test --every 4 --weights $Z/progressive-mask-q1.pt --variant RMPGC --rates $RATES --layers --perceptual --part $K/2
  if [ $K = 0 ]; then
    $P --out $O/mpgc2.jsonl --weights $Z/progressive-mask-ablations/mpgc2.pt --variant MPGC-2 --rates $RATES --every 8
  else
    $P --out $O/mpgc1.jsonl --weights $Z/progressive-mask-ablations/mpgc1.pt --variant MPGC-1 --rates $RATES --every 8
    $P --out $O/vrgc.jsonl --weights $Z/progressive-mask-ablations/mpgc1.pt --policy lcm --variant VRGC --rates $RATES --every 8
  fi
}
lane 0 > runs/progressive-mask/eval-0.log 2>&1 &
lane 1 > runs/progressive-mask/eval-1.log 2>&1 &
wait
cat $D/kodak-*.jsonl > $D/kodak.jsonl
cat $D/bsds500-test-*.jsonl > $D/bsds500-test.jsonl
echo DONE
