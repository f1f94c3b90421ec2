#!/usr/bin/env bash
# Train lamina's face prior on a GPU for a fixed number of minutes, at 256 px with the paper's widths
# (preset latent256-paper), from a compact training set that travels with the working tree.
#
#   scripts/gpu_train_prior.sh pack [DIR]            # here: DIR (default gpu-pack, git-ignored) = utk-train faces
#                                                    #   (as many as fit the device's 64 MiB tree limit), the TAEF2
#                                                    #   weights, and the CompressAI wheel for the device's Python
#   scripts/gpu_train_prior.sh train DIR MINUTES OUT # there: cache TAEF2 latents, train MINUTES, export into OUT
#   scripts/gpu_train_prior.sh smoke                 # here, CPU: pack 80 faces, train the tiny preset 0.3 min
#
# The device run (one call, carry the pack):  run(command="bash scripts/gpu_train_prior.sh train gpu-pack 9 $OUT",
#                                                  carry=["gpu-pack"], timeout_s=600)
# Environment: PRESET (latent256-paper), DEVICE (cuda), BATCH (64), PYTHON (python3 there, .venv/bin/python here).
set -euo pipefail
cd "$(dirname "$0")/.."
cmd=${1:-smoke}
LIMIT_MIB=64

pack() {
  local dir=${1:-gpu-pack} faces=${2:-}
  local data=${LAMINA_DATA:-../shared/data}
  rm -rf "$dir" && mkdir -p "$dir/data/faces/utk" "$dir/data/weights" "$dir/wheels"
  cp -r "$data/weights/taef2" "$dir/data/weights/"
  if [ -z "$faces" ]; then  # what the tree leaves of the device's limit, less 6 MiB for the wheel and headroom
    local tree
    tree=$(git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)
    faces=$(( (LIMIT_MIB * 1048576 - tree - 6 * 1048576) / 7600 ))
  fi
  [ "$faces" -ge 70 ] || { echo "the tracked tree leaves no room for a training set (${faces} faces)" >&2; exit 2; }
  # The first faces of sorted utk-train, and its last 64 (lamina's held-out validation faces) last.
  sort "$data/faces/utk/train.txt" > "$dir/all.txt"
  { head -n $((faces - 64)) "$dir/all.txt"; tail -n 64 "$dir/all.txt"; } | sort -u > "$dir/data/faces/utk/train.txt"
  while read -r name; do cp "$data/faces/utk/$name" "$dir/data/faces/utk/"; done < "$dir/data/faces/utk/train.txt"
  head -n 1 "$data/faces/utk/test.txt" > "$dir/data/faces/utk/test.txt"
  cp "$data/faces/utk/$(head -n 1 "$data/faces/utk/test.txt")" "$dir/data/faces/utk/"
  cp "$data/README.md" "$dir/data/"
  rm "$dir/all.txt"
  if [ "${SKIP_WHEELS:-0}" != 1 ]; then  # the device's python3 (3.12) has torch but not CompressAI
    .venv/bin/python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
      --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d "$dir/wheels" compressai==1.2.8
  fi
  echo "$dir: $(wc -l < "$dir/data/faces/utk/train.txt") faces, $(du -sh "$dir" | cut -f1)"
}

train() {
  local dir=$1 minutes=$2 out=$3
  local py=${PYTHON:-python3} preset=${PRESET:-latent256-paper}
  if ls "$dir"/wheels/*.whl >/dev/null 2>&1; then "$py" -m pip install -q --no-deps "$dir"/wheels/*.whl; fi
  export LAMINA_DATA="$dir/data" PYTHONPATH=.
  "$py" -m lamina.cli train face-prior --stage cache --preset "$preset" --data utk --cache "$dir/cache"
  "$py" -m lamina.cli train face-prior --preset "$preset" --pixel-every 0 --target-bits "${TARGET_BITS:-4000}" \
    --batch-size "${BATCH:-64}" --lr 2e-3 --betas 0.9 0.99 --steps 100000000 --max-minutes "$minutes" \
    --val-every "${VAL_EVERY:-500}" --device "${DEVICE:-cuda}" --cache "$dir/cache" --out "$out" --quiet
  ls -la "$out"
}

case "$cmd" in
  pack) pack "${2:-gpu-pack}" "${3:-}" ;;
  train) train "$2" "$3" "$4" ;;
  smoke)
    tmp=$(mktemp -d)
    SKIP_WHEELS=1 pack "$tmp/pack" 80
    PYTHON=.venv/bin/python PRESET=tiny DEVICE=cpu BATCH=4 VAL_EVERY=5 train "$tmp/pack" 0.3 "$tmp/out"
    test -f "$tmp/out/face-prior-tiny.pt"
    rm -rf "$tmp"
    ;;
  *) echo "usage: $0 pack [DIR] [FACES] | train DIR MINUTES OUT | smoke" >&2; exit 2 ;;
esac
