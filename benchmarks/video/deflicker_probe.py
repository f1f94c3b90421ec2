"""Probe (issue 26, flicker): the decoder-side motion-compensated temporal filter (lamina.deflicker) on a codec's
decoded training clips, at several strengths and tolerances, and a `texture` variant that takes only the warped
frame's high frequencies (detail above a Gaussian blur of BLUR pixels). The stream is coded once per clip and
setting; every variant filters the same decoded frames. Scores: kbit/s, flicker (lamina.bench.video.flicker),
PSNR and LPIPS-alex on every 3rd frame.

    python benchmarks/video/deflicker_probe.py "codebook-svr:1;codebook-svr:3" CLIP.mp4 [CLIP.mp4 ...] > rows.jsonl

(the training clips lp_d3 / lp_d6, 50 aligned frames: docs/results/video/probe-deflicker/)
"""
from __future__ import annotations

import json
import sys

import numpy as np

GRID = [("full", s, t) for s, t in ((0.5, 4.0), (0.5, 8.0), (0.8, 4.0), (0.8, 8.0), (0.8, 16.0), (0.9, 8.0),
                                    (0.9, 16.0), (1.0, 8.0), (1.0, 16.0), (1.0, 4.0), (0.9, 4.0), (0.7, 6.0),
                                    (1.0, 3.0))]
GRID += [("texture", s, t) for s in (0.5, 0.8) for t in (4.0, 8.0)]


def psnr(a, b) -> float:
    mse = float(((a.astype(float) - b.astype(float)) ** 2).mean())
    return 10 * np.log10(255 ** 2 / max(mse, 1e-10))


def texture_only(frames, strength, tolerance, blur=2.0):
    """lamina.deflicker's blend applied to the high frequencies alone (low frequencies from the current frame)."""
    import cv2
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    h, w = frames[0].shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    low = lambda x: cv2.GaussianBlur(x, (0, 0), blur)  # noqa: E731
    out = [frames[0].astype(np.float32)]
    for t in range(1, len(frames)):
        cur = frames[t].astype(np.float32)
        grey = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in (frames[t], frames[t - 1])]
        flow = dis.calc(grey[0], grey[1], None)
        warped = cv2.remap(out[-1], gx + flow[..., 0], gy + flow[..., 1], cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REPLICATE)
        c = strength * np.exp(-(np.abs(low(warped) - low(cur)).mean(2, keepdims=True) / tolerance) ** 2)
        out.append(cur + c * ((warped - low(warped)) - (cur - low(cur))))
    return [np.clip(np.rint(o), 0, 255).astype(np.uint8) for o in out]


def main() -> None:
    import lamina
    from lamina.bench.video import flicker, load_clip
    from lamina.deflicker import deflicker
    from lamina.metrics.perceptual import lpips_alex
    for clip in sys.argv[2:]:
        frames, fps = load_clip(clip, 50, True)
        for spec in sys.argv[1].split(";"):
            name, quality = spec.split(":")
            codec = lamina.load(name, quality=int(quality))
            data = codec.encode_video(frames, fps).to_bytes()
            decoded = codec.decode_video(data, **({"deflicker": 0} if name == "codebook-svr" else {}))
            kbps = len(data) * 8 / (len(frames) / fps) / 1000
            scored = range(0, len(frames), 3)
            for mode, strength, tolerance in [("none", 0, 0)] + GRID:
                if mode == "none":
                    out, label = decoded, "none"
                else:
                    filt = deflicker if mode == "full" else texture_only
                    out, label = filt(decoded, strength, tolerance), f"{mode} w{strength} s{tolerance}"
                row = {"clip": clip.split("/")[-1], "setting": spec, "variant": label, "kbps": round(kbps, 2),
                       "flicker": round(flicker(frames, out), 3),
                       "psnr": round(float(np.mean([psnr(frames[i], out[i]) for i in scored])), 3),
                       "lpips": round(float(np.mean([lpips_alex(frames[i], out[i]) for i in scored])), 4)}
                print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
