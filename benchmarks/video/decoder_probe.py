"""Probe (issue 26, flicker): do the faster TAEF2 decoders (`--decoder int8 | lite | lite-int8`, issue 25) change a
video codec's flicker? The lite decoder renders smoother images (no grid texture: docs/results/speed/
fast-decoders/), which may re-draw less texture from frame to frame. Each clip is coded once per setting; every
decoder decodes the same stream. Scores: kbit/s, flicker (lamina.bench.video.flicker), PSNR, LPIPS-alex and
identity kept (dlib, as `lamina bench --video` scores it) on every 3rd frame.

    python benchmarks/video/decoder_probe.py "codebook-svr:1;codebook-svr:3;latent-flow:1" CLIP.mp4 [...] > rows.jsonl

(the training clips lp_d3 / lp_d6, 50 aligned frames: docs/results/video/probe-decoder/)
"""
from __future__ import annotations

import json
import sys

import numpy as np

DECODERS = ("reference", "int8", "lite", "lite-int8")


def main() -> None:
    import lamina
    from lamina.bench.video import flicker, load_clip
    from lamina.metrics.perceptual import lpips_alex
    from lamina.metrics.pixel import psnr
    from lamina.vision.evaluators import Evaluator
    evaluator = Evaluator(("identity_dlib",))
    for clip in sys.argv[2:]:
        frames, fps = load_clip(clip, 50, True)
        refs = {i: evaluator.reference(frames[i]) for i in range(0, len(frames), 3)}
        for spec in sys.argv[1].split(";"):
            name, quality = spec.split(":")
            codec = lamina.load(name, quality=int(quality))
            data = codec.encode_video(frames, fps).to_bytes()
            kbps = len(data) * 8 / (len(frames) / fps) / 1000
            scored = range(0, len(frames), 3)
            for decoder in DECODERS:
                out = codec.decode_video(data, decoder=decoder)
                row = {"clip": clip.split("/")[-1], "setting": spec, "decoder": decoder, "kbps": round(kbps, 2),
                       "flicker": round(flicker(frames, out), 3),
                       "psnr": round(float(np.mean([psnr(frames[i], out[i]) for i in scored])), 3),
                       "lpips": round(float(np.mean([lpips_alex(frames[i], out[i]) for i in scored])), 4),
                       "identity_kept": round(float(np.mean([bool(evaluator.score(refs[i], out[i])["id_dlib_kept"])
                                                             for i in scored])), 3)}
                print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
