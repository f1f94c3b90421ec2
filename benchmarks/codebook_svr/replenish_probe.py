"""Probe (issue 26, flicker): decoder-side conditional replenishment for codebook-svr video, as an offline filter
on the decoded frames. A block (8·grid pixels) whose index did not change and whose low-quality frame changed by
less than T (mean absolute 8-bit levels over the block's LQ pixels) is not re-rendered:

- skip: it keeps the previous output frame's pixels;
- carry: it keeps them plus the bicubic-upsampled change of the LQ frame;

`soft` S blurs the block mask with a (2S+1)² box so kept and re-rendered blocks blend without seams. Scores per
clip: kbit/s (the stream is unchanged), flicker (lamina.bench.video.flicker), PSNR and LPIPS-alex on every 3rd frame.

    python benchmarks/codebook_svr/replenish_probe.py "1;3;3@lq_video=vvenc,lq_qp=32" CLIP.mp4 [CLIP.mp4 ...] > rows.jsonl

(run on the training clips lp_d3 / lp_d6, 50 aligned frames: docs/results/video/probe-codebook-svr-replenish/)
"""
from __future__ import annotations

import json
import sys

import numpy as np


def psnr(a, b) -> float:
    mse = float(((a.astype(float) - b.astype(float)) ** 2).mean())
    return 10 * np.log10(255 ** 2 / max(mse, 1e-10))


def block_weights(keep: np.ndarray, block: int, h: int, w: int, soft: int) -> np.ndarray:
    import torch
    import torch.nn.functional as F
    m = torch.from_numpy(keep.astype(np.float32))[None, None]
    m = m.repeat_interleave(block, 2).repeat_interleave(block, 3)[..., :h, :w]
    if soft > 0:
        m = F.avg_pool2d(F.pad(m, (soft,) * 4, mode="replicate"), 2 * soft + 1, 1)
    return m[0, 0].numpy()[..., None]


def replenish(decoded, maps, lqs, codec, threshold: float, mode: str, soft: int) -> list[np.ndarray]:
    import torch
    import torch.nn.functional as F

    def up(x):
        t = torch.from_numpy(x.astype(np.float32)).permute(2, 0, 1)[None]
        return F.interpolate(t, scale_factor=codec.factor, mode="bicubic", align_corners=False)[0].permute(1, 2, 0).numpy()[:h, :w]
    m = codec.multiple // codec.factor
    h, w = decoded[0].shape[:2]
    out = [decoded[0].astype(np.float32)]
    for t in range(1, len(decoded)):
        gh, gw = maps[t].shape
        change = np.abs(lqs[t].astype(np.float32) - lqs[t - 1].astype(np.float32)).mean(2)
        change = change[:gh * m, :gw * m].reshape(gh, m, gw, m).mean((1, 3))
        weights = block_weights((maps[t] == maps[t - 1]) & (change < threshold), codec.multiple, h, w, soft)
        carry = out[-1] if mode == "skip" else out[-1] + up(lqs[t]) - up(lqs[t - 1])
        out.append(weights * carry + (1 - weights) * decoded[t].astype(np.float32))
    return [np.clip(np.rint(o), 0, 255).astype(np.uint8) for o in out]


def main() -> None:
    import lamina
    from lamina.bench.video import flicker, load_clip
    from lamina.bitstream import Bitstream
    from lamina.codecs.codebook_svr import video as V
    from lamina.metrics.perceptual import lpips_alex
    for clip in sys.argv[2:]:
        frames, fps = load_clip(clip, 50, True)
        for spec in sys.argv[1].split(";"):
            quality, options = spec.split("@") if "@" in spec else (spec, "")
            kw = dict(kv.split("=") for kv in options.split(",") if kv)
            kw = {k: (int(v) if k == "lq_qp" else v) for k, v in kw.items()}
            codec = lamina.load("codebook-svr", quality=int(quality), **kw)
            data = codec.encode_video(frames, fps).to_bytes()
            stream = Bitstream.parse(data)
            info = V.video_header(stream)
            lqs, maps = V.decode_lq_frames(codec, stream, info), V.decode_maps(codec, stream, info)
            decoded = V.render_frames(codec, maps, lqs, 1.0, 0.0, stream.height, stream.width)
            kbps = len(data) * 8 / (len(frames) / fps) / 1000
            scored = range(0, len(frames), 3)

            def score(out, label):
                row = {"clip": clip.split("/")[-1], "setting": spec, "variant": label, "kbps": round(kbps, 2),
                       "flicker": round(flicker(frames, out), 3),
                       "psnr": round(float(np.mean([psnr(frames[i], out[i]) for i in scored])), 3),
                       "lpips": round(float(np.mean([lpips_alex(frames[i], out[i]) for i in scored])), 4)}
                print(json.dumps(row), flush=True)
            score(decoded, "none")
            for mode in ("skip", "carry"):
                for threshold in (1.0, 2.0, 4.0):
                    for soft in (0, 4):
                        score(replenish(decoded, maps, lqs, codec, threshold, mode, soft),
                              f"{mode} T{threshold} soft{soft}")


if __name__ == "__main__":
    main()
