"""Issue 26 probe: coded geometry in the face codecs' video (`--geometry on`: one increment a frame in the basic
layer, lamina.codecs.geometry.fit_frames), and the price per byte its fit pays (geometry.VIDEO_RATE: an increment
must lower the frame's NME by more than RATE per block byte, else the frame keeps the previous field with a
one-byte block). For each rate, the video bench on the training clips (a folder holding lp_d3 and lp_d6, first 50
frames, aligned), in this process (one worker), into OUT/rate-<RATE>:

    python benchmarks/video/geometry_rate_probe.py --clips /tmp/trainclips --rates 0.0001 0.0003 0.001 \
        --codecs "latent-flow:1,4@geometry=on" "stylegan-scalable:1@geometry=on" --out OUT

(rate 0 and geometry off: the same bench with `lamina bench --video`.) Summary rows: OUT/rate-*/summary.csv.
"""
from __future__ import annotations

import argparse
from pathlib import Path


def main() -> None:
    from lamina.bench.video import VideoBenchConfig, run_video_bench
    from lamina.codecs import geometry
    parser = argparse.ArgumentParser()
    parser.add_argument("--clips", required=True, help="a folder of the training clips")
    parser.add_argument("--rates", type=float, nargs="+", required=True)
    parser.add_argument("--codecs", nargs="+", required=True)
    parser.add_argument("--frames", type=int, default=50)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    for rate in args.rates:
        geometry.VIDEO_RATE = rate
        run_video_bench(VideoBenchConfig(dataset=args.clips, codecs=args.codecs, out=Path(args.out) / f"rate-{rate:g}",
                                         frames=args.frames, align=True, workers=1,
                                         metrics=["psnr", "lpips_alex", "dists", "identity_dlib", "landmarks_dlib"]))


if __name__ == "__main__":
    main()
