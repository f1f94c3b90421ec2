"""Encode / decode time per Kodak image on CPU: codebook-svr beside VVC and mean-scale, measured in the same
run with the same thread count, reported as seconds and as ratios to VVC (timings vary with the machine; the
ratios travel better).

    python benchmarks/codebook_svr/speed.py --out docs/results/codebook-svr/speed.json [--threads 1]
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path



def main() -> None:
    import torch

    import lamina
    from lamina.data.datasets import load_dataset
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--images", type=int, default=4)
    parser.add_argument("--svr-qualities", type=int, nargs="*", default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    images = [item.image() for item in load_dataset("kodak")[:args.images]]
    from lamina import zoo
    setups = [("vvc", 48), ("mean-scale", 1)] + [("codebook-svr", q) for q in
                                                 (args.svr_qualities or zoo.qualities("codebook-svr"))]
    rows = []
    for name, q in setups:
        codec = lamina.load(name, quality=q)
        codec.decode(codec.encode(images[0]))  # warm-up: weights, TAEF2, ffmpeg
        enc = dec = 0.0
        for image in images:
            t = time.perf_counter()
            stream = codec.encode(image)
            enc += time.perf_counter() - t
            t = time.perf_counter()
            codec.decode(stream.to_bytes())
            dec += time.perf_counter() - t
        rows.append({"codec": name, "quality": q, "encode_s": enc / len(images), "decode_s": dec / len(images)})
    base = rows[0]
    for row in rows:
        row["encode_vs_vvc"] = row["encode_s"] / base["encode_s"]
        row["decode_vs_vvc"] = row["decode_s"] / base["decode_s"]
        print(json.dumps(row), flush=True)
    Path(args.out).write_text(json.dumps({"threads": args.threads, "images": f"kodak first {args.images}",
                                          "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
