"""Issue 23: the detail layer (lamina.priors.detail) on top of stylegan-scalable's three coded layers, per
quality and detail step, on validation faces (never the test sets): real bytes of the whole stream (v2 container)
and of the detail layer, dlib identity kept, NME (dlib) and LPIPS-alex of the decoded face vs the original.
Chooses the detail step that the codec ships. `--fit-initial` instead prints the histogram of the step-1.0
symbols of training faces (every 70th of the `faces` training split, 120 per codec) from which
lamina.priors.detail.INITIAL_COUNTS was made (scaled to about 1024, at least 1); with `--fine STEP`, of the fine
layer's symbols at that step (FINE_INITIAL_COUNTS).

    .venv/bin/python benchmarks/face_prior/detail_probe.py --limit 32 --out docs/results/face-prior/probe-v2
    .venv/bin/python benchmarks/face_prior/detail_probe.py --fit-initial [--fine 2.0]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

import lamina
from lamina.priors import detail


@torch.no_grad()
def fit_initial(fine: float | None = None) -> None:
    """fine: the fine layer's symbols at that step instead (the residual left by the committed detail layer of
    the basic and middle styles, inside fine_window)."""
    import torch.nn.functional as F
    from lamina.codecs.face_codec import DETAIL_OVER
    from lamina.data.training import split_items
    train = split_items("faces")[0][::70][:120]
    total = np.zeros(detail.ALPHABET, dtype=np.int64)
    for name, quality in (("stylegan-scalable", 1), ("latent-flow", 4)):
        codec = lamina.load(name, quality=quality)
        for item in train:
            x = codec.model_input(item.image())
            target = detail.target_latent(codec.model.prior, x)
            if fine:
                generated = codec.generated_latent(codec.prior_styles(codec.code_styles(x, DETAIL_OVER)))
                current = generated + detail.decode(detail.encode(target, generated, 1.0),
                                                    tuple(generated.shape[1:]), 1.0)
                rows, columns = detail.fine_window(*target.shape[2:])
                residual = (target - current).double()[:, :, rows, columns] / fine
            else:
                generated = codec.generated_latent(codec.prior_styles(codec.code_styles(x)))
                residual = F.avg_pool2d((target - generated).double(), detail.POOL)
            symbols = torch.round(residual).clamp(-detail.CLIP, detail.CLIP).to(torch.int64) + detail.CLIP
            total += np.bincount(symbols.flatten().numpy(), minlength=detail.ALPHABET)
    print("histogram:", total.tolist())
    print("counts:", np.maximum(1, np.round(total / total.sum() * 1024)).astype(int).tolist())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=32)
    parser.add_argument("--codec", default="stylegan-scalable")
    parser.add_argument("--qualities", type=int, nargs="+", default=[1, 2, 3, 4])
    parser.add_argument("--steps", type=float, nargs="+", default=[0.75, 1.0, 1.5])
    parser.add_argument("--out", default="docs/results/face-prior/probe-v2")
    parser.add_argument("--fit-initial", action="store_true")
    parser.add_argument("--fine", type=float, help="with --fit-initial: the fine layer's symbols at this step")
    args = parser.parse_args()
    if args.fit_initial:
        return fit_initial(args.fine)
    from lamina.data.training import split_items
    from lamina.vision.evaluators import Evaluator
    items = split_items("faces")[1][:args.limit]
    evaluator = Evaluator(("lpips_alex", "identity_dlib", "landmarks_dlib"))
    images = [item.image() for item in items]
    refs = [evaluator.reference(image, item) for image, item in zip(images, items)]
    rows = []
    for quality in args.qualities:
        codecs = {step: lamina.load(args.codec, quality=quality, detail_step=step or 0.0)
                  for step in [None] + args.steps}
        results = {}
        for i, image in enumerate(images):
            stream = codecs[None].encode(image)
            base = len(stream.to_bytes())
            for step, codec in codecs.items():
                if step is None:
                    decoded, extra = codec.decode(stream), 0
                else:
                    with_detail = codec.encode(image)
                    decoded, extra = codec.decode(with_detail), len(with_detail.to_bytes()) - base
                score = evaluator.score(refs[i], decoded)
                results.setdefault(step, []).append({"bytes": base + extra, "detail_bytes": extra, **score})
        for step, scores in results.items():
            row = {"codec": args.codec, "quality": quality, "detail_step": step,
                   **{k: float(np.nanmean([s[k] for s in scores])) for k in scores[0]}}
            rows.append(row)
            print(json.dumps(row), flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"detail_probe_{args.codec}.json").write_text(json.dumps({"faces": len(images), "split": "faces validation",
                                                                      "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
