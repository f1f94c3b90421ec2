"""Issue 26 probe: how much to smooth --reframe's per-frame transforms (lamina.codecs.reframe.SMOOTHING) and whether
a dead zone (a frame keeps the previous transform while every parameter moves by at most H units) helps. latent-flow
q4 on the training clips (first 50 frames, first-frame alignment as the video bench reads them): bytes, flicker
(lamina.bench.video.flicker) and LPIPS-alex on every 3rd frame, against the clip coded with --reframe off.

Usage: python benchmarks/video/reframe_smoothing_probe.py [--clips lp_d3 lp_d6] > out.jsonl
"""
from __future__ import annotations

import argparse
import json

import numpy as np
import torch

KERNELS = {"none": (1.0,), "k3": (1, 2, 1), "k7": (1, 6, 15, 20, 15, 6, 1),
           "k11": (1, 10, 45, 120, 210, 252, 210, 120, 45, 10, 1)}


def main() -> None:
    import lamina
    from lamina.bench.video import flicker, load_clip
    from lamina.codecs import reframe
    from lamina.metrics.perceptual import LPIPS
    from lamina.paths import data_root
    parser = argparse.ArgumentParser()
    parser.add_argument("--clips", nargs="+", default=["lp_d3", "lp_d6"])
    parser.add_argument("--holds", nargs="+", type=int, default=[0, 2, 4, 8], help="dead zones tried with k7")
    args = parser.parse_args()
    lp = LPIPS("alex").eval()

    def lpips(a, b):
        t = lambda x: torch.from_numpy(x).permute(2, 0, 1)[None].float() / 127.5 - 1  # noqa: E731
        with torch.no_grad():
            return float(lp(t(a), t(b)))

    fit_clip = reframe.fit_clip

    def held(hold):
        def fit(frames):  # the dead zone, applied to the rounded transforms
            out = []
            for row in fit_clip(frames):
                keep = out and all(abs(a - b) <= hold for a, b in zip(row, out[-1]))
                out.append(out[-1] if keep else row)
            return out
        return fit

    framed, plain = lamina.load("latent-flow", quality=4), lamina.load("latent-flow", quality=4, reframe="off")
    arms = [(name, kernel, 0) for name, kernel in KERNELS.items()] + [("k7", KERNELS["k7"], h) for h in args.holds if h]
    for clip in args.clips:
        frames, fps = load_clip(data_root() / "video" / f"{clip}.mp4", 50, True)
        for name, kernel, hold in [("off", None, 0)] + arms:
            codec = plain if kernel is None else framed
            if kernel is not None:
                reframe.SMOOTHING = tuple(np.array(kernel) / sum(kernel))
                reframe.fit_clip = held(hold) if hold else fit_clip
            stream = codec.encode_video(frames, fps)
            decoded = codec.decode_video(stream)
            print(json.dumps({"clip": clip, "smoothing": name, "hold": hold, "bytes": len(stream.to_bytes()),
                              "flicker": flicker(frames, decoded),
                              "lpips_alex": float(np.mean([lpips(a, b) for a, b in zip(frames[::3], decoded[::3])]))}),
                  flush=True)
        reframe.fit_clip = fit_clip


if __name__ == "__main__":
    main()
