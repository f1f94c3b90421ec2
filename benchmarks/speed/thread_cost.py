"""What the fixed codec thread count costs (issue 15, item 9): decode time of each learned codec with
LAMINA_THREADS=1 (the default, bit-exact whatever the caller set) against LAMINA_THREADS=N, measured in the same
run on the same stream, reported as ratios, and whether the two decodes are pixel-identical.

Usage: python benchmarks/speed/thread_cost.py [--threads 2] [--repeats 3] [--out docs/results/threads]
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

# (codec, quality, image): a natural image for the natural-image codecs, a face crop for the face codecs.
CASES = [("hyperprior", 4, "kodak"), ("mean-scale", 4, "kodak"), ("codebook-svr", 7, "kodak"),
         ("progressive-mask", 6, "kodak"), ("feature-texture", 4, "face"), ("stylegan-scalable", 4, "face"),
         ("latent-flow", 4, "face")]


def _timed(fn, repeats: int) -> tuple[float, np.ndarray]:
    fn()  # warm-up
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="docs/results/threads")
    args = parser.parse_args()
    import lamina
    from lamina.data.datasets import load_dataset
    images = {"kodak": load_dataset("kodak")[22].image(), "face": load_dataset("utk-test", limit=1)[0].image()}
    rows = []
    for name, quality, which in CASES:
        codec = lamina.load(name, quality=quality)
        data = codec.encode(images[which]).to_bytes()
        result = {}
        for threads in (1, args.threads):
            os.environ["LAMINA_THREADS"] = str(threads)
            result[threads] = _timed(lambda: codec.decode(data), args.repeats)
        os.environ.pop("LAMINA_THREADS")
        one, many = result[1], result[args.threads]
        rows.append({"codec": name, "quality": quality, "image": which, "decode_s_1": round(one[0], 3),
                     f"decode_s_{args.threads}": round(many[0], 3), "ratio": round(one[0] / many[0], 2),
                     "pixels_differing": int((one[1] != many[1]).any(-1).sum())})
        print(rows[-1], flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "thread_cost.json").write_text(json.dumps({"threads": args.threads, "cpu_count": os.cpu_count(),
                                                      "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
