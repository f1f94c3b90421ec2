"""stylegan-scalable's key-frame video mode against x265 and VVenC on the shared talking-face clips.

Each clip is cropped into the shared face framing at 256x256 with its first frame's alignment
(lamina.vision.align.align_clip); that aligned clip is the reference for every codec. stylegan-scalable codes
it with `encode_video` (key frames every K frames with all three layers, other frames basic layer only) and
is decoded from the basic layer alone and from all three layers; x265 and VVenC code the same frames at a
QP ladder (their default random-access GOPs, lamina.video.baseline_video_round_trip). Rates are the whole
lamina file (container included) / the elementary stream, in kbit/s at the clip's frame rate. Metrics on
every `--every`-th frame: PSNR, LPIPS (AlexNet), dlib landmark NME vs the original frame, dlib identity kept.

Usage: python benchmarks/stylegan_scalable/video.py --out runs/sg-video [--frames 50] [--keyframe-interval 25]
Writes results.json (per clip and setting), summary.csv (means over clips) and frames.png (one frame per
codec from the first clip).
"""
from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np

CLIPS = ("WDA_KatieHill_000.mp4", "RD_Radio34_000.mp4", "lp_d0.mp4", "lp_d3.mp4")
QPS = {"x265": (51, 48, 45, 42), "vvenc": (63, 59, 55, 51)}


def score(evaluator, refs, frames, decoded, every) -> dict:
    rows = [evaluator.score(refs[i], decoded[i]) for i in range(0, len(frames), every)]
    return {k: float(np.nanmean([r[k] for r in rows])) for k in rows[0] if k != "nme_dlib_gt"}  # no ground truth


def main() -> None:
    from lamina import load
    from lamina.codecs.stylegan_scalable.codec import StyleganScalable
    from lamina.data.datasets import data_root
    from lamina.video import baseline_video_round_trip, read_video
    from lamina.vision.align import align_clip
    from lamina.vision.evaluators import Evaluator

    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--frames", type=int, default=50)
    parser.add_argument("--keyframe-interval", type=int, default=25)
    parser.add_argument("--every", type=int, default=5, help="score every N-th frame")
    parser.add_argument("--clips", nargs="*", default=list(CLIPS))
    parser.add_argument("--qualities", nargs="*", type=int, default=None, help="default: every committed quality")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    evaluator = Evaluator(("psnr", "lpips_alex", "landmarks_dlib", "identity_dlib"))
    results, pictures = [], []
    for clip in args.clips:
        raw, fps = read_video(data_root() / "video" / clip, max_frames=args.frames)
        frames = align_clip(raw, 256)
        refs = [evaluator.reference(frames[i]) if i % args.every == 0 else None for i in range(len(frames))]
        seconds = len(frames) / fps
        shown = {"original": frames[len(frames) // 2]}

        def record(codec, setting, nbytes, decoded):
            entry = {"clip": clip, "codec": codec, "setting": setting, "frames": len(frames), "fps": fps,
                     "bytes": nbytes, "kbps": nbytes * 8 / seconds / 1000,
                     **score(evaluator, refs, frames, decoded, args.every)}
            results.append(entry)
            print(json.dumps(entry), flush=True)
            shown[f"{codec} {setting}"] = decoded[len(frames) // 2]

        for quality in args.qualities or StyleganScalable.bench_grid():
            codec = load("stylegan-scalable", quality=quality)
            stream = codec.encode_video(frames, fps, args.keyframe_interval)
            for layers in (1, 3):
                data = stream.truncate(layers).to_bytes()
                record("stylegan-scalable", f"q{quality} {layers}L K{args.keyframe_interval}", len(data),
                       codec.decode_video(data))
        for encoder, qps in QPS.items():
            for qp in qps:
                payload, decoded = baseline_video_round_trip(frames, fps, encoder, qp)
                record(encoder, f"qp{qp}", len(payload), decoded)
        if not pictures:
            pictures = list(shown.items())
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    keys = sorted({(r["codec"], r["setting"]) for r in results}, key=lambda k: (k[0], k[1]))
    metrics = ["kbps", "psnr", "lpips_alex", "nme_dlib", "id_dlib_kept"]
    with open(out / "summary.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["codec", "setting", "clips"] + metrics)
        for key in keys:
            rows = [r for r in results if (r["codec"], r["setting"]) == key]
            writer.writerow(list(key) + [len(rows)] + [f"{np.mean([r[m] for r in rows]):.4g}" for m in metrics])
    from lamina.imageio import labelled_grid
    labelled_grid([[(label[:26], image) for label, image in pictures[i:i + 6]] for i in range(0, len(pictures), 6)],
         out / "frames.png")


if __name__ == "__main__":
    main()
