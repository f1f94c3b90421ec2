"""Probe (issue 26, flicker): codebook-svr video with its low-quality frames coded by x265 three ways: lamina's
setting (constant QP: I / P / B frames at x265's ipratio / pbratio offsets), flat frame QPs (ipratio = pbratio = 1)
and no B-frames. The question: does the LQ stream's frame-to-frame quality pulsing drive the decoded clip's flicker?

    python benchmarks/codebook_svr/lq_frame_qp_probe.py "1,47;3,37" CLIP.mp4 [CLIP.mp4 ...] > rows.jsonl

(quality, LQ QP pairs; the training clips lp_d3 / lp_d6, 50 aligned frames:
docs/results/video/probe-codebook-svr-replenish/lq-x265-rows.jsonl)
"""
import json
import sys

import numpy as np

import lamina
from lamina import video as LV
from lamina.bench.video import load_clip, flicker
from lamina.metrics.perceptual import lpips_alex



def psnr(a, b):
    mse = float(((a.astype(float) - b.astype(float)) ** 2).mean())
    return 10 * np.log10(255 ** 2 / max(mse, 1e-10))


BASE = LV.VIDEO_BASELINES["x265"]
VARIANTS = {"default": "qp={qp}:info=0:log-level=error",
            "flat": "qp={qp}:ipratio=1:pbratio=1:info=0:log-level=error",
            "nob": "qp={qp}:bframes=0:info=0:log-level=error"}

for clip in sys.argv[2:]:
    frames, fps = load_clip(clip, 50, True)
    for spec in sys.argv[1].split(";"):
        q, lq_qp = (int(v) for v in spec.split(","))
        for name, params in VARIANTS.items():
            LV.VIDEO_BASELINES["x265"] = (["-c:v", "libx265", "-x265-params", params],) + BASE[1:]
            codec = lamina.load("codebook-svr", quality=q, lq_qp=lq_qp)
            data = codec.encode_video(frames, fps).to_bytes()
            out = codec.decode_video(data)
            idx = range(0, len(frames), 3)
            r = {"clip": clip.split("/")[-1], "q": q, "lq_qp": lq_qp, "lq_x265": name,
                 "kbps": round(len(data) * 8 / (len(frames) / fps) / 1000, 2), "flicker": round(flicker(frames, out), 3),
                 "psnr": round(float(np.mean([psnr(frames[i], out[i]) for i in idx])), 3),
                 "lpips": round(float(np.mean([lpips_alex(frames[i], out[i]) for i in idx])), 4)}
            print(json.dumps(r), flush=True)
