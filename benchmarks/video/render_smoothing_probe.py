"""Probe (issue 26): would a decoder-side blend of each frame's render with the previous frame's lower the face
codecs' flicker at an acceptable cost? The face codecs' decoders render every frame afresh from its styles (in the
reframed chip, before the geometry warp and the warp back); here the renders are blended in time, r'_t = (1 - b) r_t
+ b r'_t-1, by wrapping the video module's _frame_pixels (decoder side only: the same stream for every b).

    python benchmarks/video/render_smoothing_probe.py --clips DIR --out FILE [--codec latent-flow:4] [--blend 0 0.3 0.5]

Training clips only (a folder with lp_d3, lp_d6); per clip and b: kbit/s, PSNR, LPIPS-alex, flicker (JSON lines).
"""
from __future__ import annotations

import argparse
import importlib
import json
from pathlib import Path

import numpy as np
import torch

import lamina
from lamina.bench.video import flicker, load_clip
from lamina.vision.evaluators import Evaluator


def blended(render, blend: float):
    def wrapper(*args, **kwargs):
        frames = render(*args, **kwargs)
        if kwargs.get("exact") or blend <= 0:  # the encoder's geometry fit sees the plain renders
            return frames
        out = [frames[0]]
        for frame in frames[1:]:
            out.append((1 - blend) * frame + blend * out[-1])
        return out
    return wrapper


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clips", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--codec", default="latent-flow:4")
    parser.add_argument("--blend", type=float, nargs="+", default=[0.0, 0.3, 0.5])
    parser.add_argument("--frames", type=int, default=50)
    args = parser.parse_args()
    torch.set_num_threads(1)
    name, quality = args.codec.split(":")
    module = importlib.import_module({"latent-flow": "lamina.codecs.latent_flow.video",
                                      "stylegan-scalable": "lamina.codecs.stylegan_scalable.video"}[name])
    plain = module._frame_pixels
    evaluator = Evaluator(["psnr", "lpips_alex"])
    with open(args.out, "w") as sink:
        for clip in sorted(Path(args.clips).glob("*.mp4")):
            frames, fps = load_clip(clip, args.frames, True)
            refs = [evaluator.reference(f) for f in frames]
            codec = lamina.load(name, quality=int(quality))
            data = codec.encode_video(frames, fps).to_bytes()
            for blend in args.blend:
                module._frame_pixels = blended(plain, blend)
                try:
                    decoded = codec.decode_video(data)
                finally:
                    module._frame_pixels = plain
                scores = [evaluator.score(r, d) for r, d in zip(refs, decoded)]
                row = {"clip": clip.name, "codec": args.codec, "blend": blend,
                       "kbps": round(len(data) * 8 / (len(frames) / fps) / 1000, 3),
                       "psnr": float(np.mean([s["psnr"] for s in scores])),
                       "lpips_alex": float(np.mean([s["lpips_alex"] for s in scores])),
                       "flicker": flicker(frames, decoded)}
                sink.write(json.dumps(row) + "\n")
                sink.flush()
                print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
