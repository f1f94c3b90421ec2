"""Issue 26 probe: does re-aligning every frame into the prior's framing (undone after decoding) raise the face
prior's ceiling on talking-face clips? For each training clip (first-frame alignment, as the video bench reads
it), every 3rd of the first 50 frames: the prior's 3-layer projection of the frame as it is (A), and of the frame
warped into the framing as `lamina align` would crop it (lamina.codecs.reframe, per frame, unsmoothed), projected
and warped back (B); both scored against the frame (dlib identity kept, LPIPS-alex, PSNR), and the canonical crop's
own projection against that crop (C: the ceiling in the framing).

Usage: python benchmarks/video/reframe_probe.py --out docs/results/video/probe-reframe [--clips lp_d3 lp_d6]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def main() -> None:
    from lamina.bench.video import load_clip
    from lamina.codecs import reframe
    from lamina.paths import data_root
    from lamina.priors.evaluate import reconstruct
    from lamina.priors.face import load_prior
    from lamina.vision.evaluators import Evaluator
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--clips", nargs="+", default=["lp_d3", "lp_d6"])
    parser.add_argument("--weights", default="lamina/zoo/face-prior.pt")
    args = parser.parse_args()
    prior = load_prior(Path(args.weights))
    evaluator = Evaluator(("psnr", "lpips_alex", "identity_dlib"))
    rows = []
    for clip in args.clips:
        frames, _ = load_clip(data_root() / "video" / f"{clip}.mp4", 50, True)
        for t in range(0, len(frames), 3):
            frame = frames[t]
            found = reframe.fit(frame)
            if found is None:
                continue
            params = tuple(int(v) for v in np.round(found / reframe.UNITS))
            chip = reframe.to_chip(frame, params)
            back = reframe.from_chip(reconstruct(prior, chip, 3), params)
            ref = evaluator.reference(frame)
            scale = float(np.exp(found[0]))
            rows.append({"clip": clip, "frame": t, "scale": scale,
                         "A": evaluator.score(ref, reconstruct(prior, frame, 3)),
                         "B": evaluator.score(ref, back),
                         "C": evaluator.score(evaluator.reference(chip), reconstruct(prior, chip, 3))})
            print(clip, t, round(scale, 3), {k: round(rows[-1][k]["id_dlib_kept"], 2) for k in "ABC"}, flush=True)
    summary = {arm: {name: float(np.nanmean([r[arm][name] for r in rows])) for name in rows[0][arm]}
               for arm in "ABC"}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "reframe.json").write_text(json.dumps({"clips": args.clips, "weights": args.weights, "frames": len(rows),
                                                  "summary": summary, "rows": rows}, indent=1, default=float))
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
