"""codebook-svr's video mode against x265 and VVenC on the shared talking-face clips (SVR Table 1's framing):
PSNR, SSIM and LPIPS-alex per scored frame, kbit/s, and the share of codebook indices unchanged between adjacent
frames (the paper: 47%).

Each clip's first `--frames` frames, resized to `--size` (CPU time), are the reference for every codec.
codebook-svr codes them with `encode_video` (changed indices + x265 LQ frames at --lq-qps); x265 and VVenC code
the same frames at a QP ladder. Rates: the whole lamina file / the elementary stream, at the clip's frame rate.
Metrics on every `--every`-th frame.

    python benchmarks/codebook_svr/video.py --out runs/codebook-svr/video
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


CLIPS = ("WDA_KatieHill_000.mp4", "RD_Radio34_000.mp4", "lp_d0.mp4")
QPS = {"x265": (46, 42, 38, 34), "vvenc": (55, 51, 47, 43)}


def ssim(reference: np.ndarray, decoded: np.ndarray) -> float:
    import torch
    from pytorch_msssim import ssim as _ssim

    from lamina.imageio import to_tensor
    with torch.no_grad():
        return float(_ssim(to_tensor(reference), to_tensor(decoded), data_range=1.0))


def score(refs, decoded, every) -> dict:
    from lamina.metrics.perceptual import lpips_alex
    from lamina.metrics.pixel import psnr
    idx = range(0, len(decoded), every)
    return {"psnr": float(np.mean([psnr(refs[i], decoded[i]) for i in idx])),
            "ssim": float(np.mean([ssim(refs[i], decoded[i]) for i in idx])),
            "lpips_alex": float(np.mean([lpips_alex(refs[i], decoded[i]) for i in idx]))}


def main() -> None:
    import torch
    from PIL import Image

    import lamina
    from lamina.codecs.codebook_svr.video import encode_video
    from lamina.data.datasets import data_root
    from lamina.video import baseline_video_round_trip, read_video
    torch.set_num_threads(1)
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--frames", type=int, default=50)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--every", type=int, default=3)
    parser.add_argument("--quality", type=int, default=None, help="codebook-svr quality (default: highest)")
    parser.add_argument("--lq-qps", nargs="*", type=int, default=[42, 36])
    parser.add_argument("--clips", nargs="*", default=list(CLIPS))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = []
    for clip in args.clips:
        frames, fps = read_video(data_root() / "video" / clip, max_frames=args.frames)
        frames = [np.asarray(Image.fromarray(f).resize((args.size, args.size), Image.LANCZOS)) for f in frames]
        for qp in args.lq_qps:
            codec = lamina.load("codebook-svr", quality=args.quality, lq_qp=qp)
            stats: dict = {}
            stream = encode_video(codec, frames, fps, stats)
            data = stream.to_bytes()
            decoded = codec.decode_video(data)
            row = {"clip": clip, "codec": "codebook-svr", "setting": f"q{codec.quality} LQ x265 QP{qp}",
                   "kbps": len(data) * 8 * fps / len(frames) / 1000,
                   "bpp": len(data) * 8 / len(frames) / args.size ** 2,
                   "index_kbps": stats["index_bytes"] * 8 * fps / len(frames) / 1000,
                   "unchanged_indices": stats["unchanged"], **score(frames, decoded, args.every)}
            lq_frames = codec.decode_video(data, lq_only=True)
            lq_row = {"clip": clip, "codec": "x^LQ alone (x265, upsampled)", "setting": f"QP{qp}",
                      "kbps": (len(data) - len(stream.layers[0].payload)) * 8 * fps / len(frames) / 1000,
                      **score(frames, lq_frames, args.every)}
            results += [row, lq_row]
            print(json.dumps(row), flush=True)
            print(json.dumps(lq_row), flush=True)
            if qp == args.lq_qps[0]:
                Image.fromarray(np.concatenate([frames[10], lq_frames[10], decoded[10]], 1)).save(
                    out / f"{Path(clip).stem}-frame10.png")
        for encoder, qps in QPS.items():
            for qp in qps:
                es, dec = baseline_video_round_trip(frames, fps, encoder, qp)
                row = {"clip": clip, "codec": encoder, "setting": f"QP{qp}",
                       "kbps": len(es) * 8 * fps / len(frames) / 1000, "bpp": len(es) * 8 / len(frames) / args.size ** 2,
                       **score(frames, dec, args.every)}
                results.append(row)
                print(json.dumps(row), flush=True)
        (out / "results.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
