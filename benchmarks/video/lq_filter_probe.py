"""Probe (issue 26, flicker): codebook-svr's low-quality frames filtered in time *before* they condition the
decoder (E^LQ + CFT), instead of filtering the output (lamina.deflicker on the decoded frames, session 15). The
LQ frames alone flicker about as much as the decoded clip (session 13); steadier conditioning might make the
generated texture steadier without blending generated frames. The filter is lamina.deflicker's motion-compensated
blend on the small LQ frames. Each clip is coded once per quality; every variant decodes the same stream.

    python benchmarks/video/lq_filter_probe.py "1;3" CLIP.mp4 [CLIP.mp4 ...] > rows.jsonl

(the training clips lp_d3 / lp_d6, 50 aligned frames: docs/results/video/probe-lq-filter/)
"""
from __future__ import annotations

import json
import sys

import numpy as np

GRID = [(0.5, 4.0), (0.8, 4.0), (0.9, 4.0), (0.9, 8.0), (1.0, 8.0)]


def main() -> None:
    import lamina
    from lamina.bench.video import flicker, load_clip
    from lamina.codecs.base import fixed_threads
    from lamina.codecs.codebook_svr.video import decode_lq_frames, decode_maps, render_frames, video_header
    from lamina.deflicker import deflicker
    from lamina.metrics.perceptual import lpips_alex
    from lamina.metrics.pixel import psnr
    for clip in sys.argv[2:]:
        frames, fps = load_clip(clip, 50, True)
        scored = range(0, len(frames), 3)
        for quality in sys.argv[1].split(";"):
            codec = lamina.load("codebook-svr", quality=int(quality))
            data = codec.encode_video(frames, fps).to_bytes()
            stream = codec.check_stream(data)
            info = video_header(stream)
            lq, maps = decode_lq_frames(codec, stream, info), decode_maps(codec, stream, info)
            kbps = len(data) * 8 / (len(frames) / fps) / 1000
            for strength, tolerance in [(0.0, 0.0)] + GRID:
                steadier = deflicker(lq, strength, tolerance) if strength else lq
                with fixed_threads():
                    out = render_frames(codec, maps, steadier, 1.0, info["latent_smooth"], stream.height,
                                        stream.width)
                row = {"clip": clip.split("/")[-1], "quality": int(quality), "lq_filter": [strength, tolerance],
                       "lq_side": list(lq[0].shape[:2]), "kbps": round(kbps, 2),
                       "flicker": round(flicker(frames, out), 3),
                       "psnr": round(float(np.mean([psnr(frames[i], out[i]) for i in scored])), 3),
                       "lpips": round(float(np.mean([lpips_alex(frames[i], out[i]) for i in scored])), 4)}
                print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
