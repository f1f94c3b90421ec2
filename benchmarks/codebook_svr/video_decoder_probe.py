"""Probe: codebook-svr video decoded by the image model's E^LQ + CFT and by video-train checkpoints (issue 26),
each without and with decoder-side latent smoothing (--smooth).

The encoder side is the same for every variant (same bytes), so the rows differ only in the decoded frames. Clip:
the held-out training clip (the last of VIDEO_TRAIN_CLIPS, never trained on), first 50 frames aligned as the video
bench does; per setting kbit/s, PSNR, LPIPS-alex and flicker (lamina.bench.video.flicker) over all 50 frames.

    python benchmarks/codebook_svr/video_decoder_probe.py --out DIR [--smooth B ...] [NAME=RUN_FOLDER ...]
    python benchmarks/codebook_svr/video_decoder_probe.py --out DIR --sources --clip lp_d3.mp4 --smooth 0.5 0.8

--sources: where the flicker comes from instead: x265 at QP 51 / 48 / 45, then q1 and q3 decoded from the indices
only, the LQ frames only, the full stream, and the full stream with each --smooth value (JSON lines, sources.jsonl).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

import lamina
from lamina.bench.video import flicker, load_clip
from lamina.codecs.codebook_svr import video as video_mode
from lamina.codecs.codebook_svr.model import SVRModel
from lamina.data.datasets import VIDEO_TRAIN_CLIPS
from lamina.paths import data_root
from lamina.vision.evaluators import Evaluator

SETTINGS = ((1, {}), (2, {}), (3, {}), (3, {"lq_video": "vvenc", "lq_qp": 42}), (3, {"lq_video": "vvenc"}))


def checkpoint_model(run: Path) -> SVRModel:
    state = torch.load(run / "checkpoint.pt", weights_only=True)
    model = SVRModel(**state["config"])
    model.load_state_dict(state["model"])
    return model.eval().requires_grad_(False)


def decode_smooth(codec, data: bytes, model, beta: float) -> list[np.ndarray]:
    """The stream's frames decoded by `model`'s E^LQ + CFT (the codec's own when None) with latent smoothing
    `beta` (lamina.codecs.codebook_svr.video.render_frames), whatever the stream's header says."""
    from lamina.bitstream import Bitstream
    stream = Bitstream.parse(data)
    info = video_mode.video_header(stream)
    lqs, maps = video_mode.decode_lq_frames(codec, stream, info), video_mode.decode_maps(codec, stream, info)
    with torch.no_grad():
        return video_mode.render_frames(codec, maps, lqs, 1.0, beta, stream.height, stream.width, model)


def flicker_sources(frames: list[np.ndarray], fps: float, betas: list[float], out: Path) -> None:
    from lamina.video import baseline_video_decode, baseline_video_encode
    evaluator = Evaluator(["lpips_alex"])
    refs = [evaluator.reference(f) for f in frames]
    seconds, (h, w) = len(frames) / fps, frames[0].shape[:2]
    rows = []

    def row(what: str, nbytes: int, decoded: list[np.ndarray]) -> None:
        lpips = np.mean([evaluator.score(r, d)["lpips_alex"] for r, d in zip(refs, decoded)])
        rows.append({"what": what, "kbps": round(nbytes * 8 / seconds / 1000, 2), "lpips": round(float(lpips), 4),
                     "flicker": round(flicker(frames, decoded), 3)})
        print(json.dumps(rows[-1]), flush=True)

    for qp in (51, 48, 45):
        stream = baseline_video_encode(frames, fps, "x265", qp)
        row(f"x265 {qp}", len(stream), baseline_video_decode(stream, "x265", h, w, len(frames)))
    for quality in (1, 3):
        codec = lamina.load("codebook-svr", quality=quality, latent_smooth=0)
        data = codec.encode_video(frames, fps).to_bytes()
        row(f"q{quality} indices only", len(data), codec.decode_video(data, layers=1))
        row(f"q{quality} lq only", len(data), codec.decode_video(data, lq_only=True))
        row(f"q{quality} full", len(data), codec.decode_video(data))
        for beta in betas:
            row(f"q{quality} full smooth {beta:g}", len(data), decode_smooth(codec, data, None, beta))
    (out / "sources.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--frames", type=int, default=50)
    parser.add_argument("--clip", default=VIDEO_TRAIN_CLIPS[-1])
    parser.add_argument("--smooth", type=float, nargs="*", default=[], help="decoder-side latent smoothing betas")
    parser.add_argument("--sources", action="store_true", help="where the flicker comes from (see above)")
    parser.add_argument("runs", nargs="*", help="NAME=RUN_FOLDER")
    args = parser.parse_args()
    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    frames, fps = load_clip(data_root() / "video" / args.clip, args.frames, True)
    if args.sources:
        flicker_sources(frames, fps, args.smooth, out)
        return
    seconds = len(frames) / fps
    evaluator = Evaluator(["psnr", "lpips_alex"])
    refs = [evaluator.reference(f) for f in frames]
    variants = {"image": None, **{r.split("=", 1)[0]: checkpoint_model(Path(r.split("=", 1)[1])) for r in args.runs}}
    rows = []
    for quality, extra in SETTINGS:
        codec = lamina.load("codebook-svr", quality=quality, **extra)
        data = codec.encode_video(frames, fps).to_bytes()
        todo = [(name, model, 0.0) for name, model in variants.items()]
        todo += [(f"{name}+smooth{beta:g}", model, beta) for name, model in variants.items() for beta in args.smooth]
        for name, model, beta in todo:
            decoded = decode_smooth(codec, data, model, beta)
            scores = [evaluator.score(r, d) for r, d in zip(refs, decoded)]
            row = {"clip": args.clip, "quality": quality, "options": extra, "decoder": name,
                   "kbps": round(len(data) * 8 / seconds / 1000, 3),
                   "psnr": float(np.mean([s["psnr"] for s in scores])),
                   "lpips_alex": float(np.mean([s["lpips_alex"] for s in scores])),
                   "flicker": flicker(frames, decoded)}
            rows.append(row)
            print(json.dumps(row), flush=True)
    (out / "rows.json").write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
