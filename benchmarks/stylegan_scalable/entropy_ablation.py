"""Entropy-model ablation of stylegan-scalable at one λ (the paper's Table: bits per layer of method A, B, C).

The trained codec's encoder gives fixed residual styles; the decoded styles are round(w) whatever the entropy
model (lamina.codecs.stylegan_scalable.entropy codes symbols on the integer grid), so every variant decodes the same
images and only the rate differs. Three entropy models are trained from scratch on the same styles, with the
same steps, batch and learning rate, on the rate alone:
  linear     per-token linear hyper model (no attention, no cross-layer context)  - a "conventional hyperprior"
  hyper      layer-wise hyper-transformer with the layered mask (Eqs. 9-11)
  hyper+cross  the hyper-transformer + the cross-layer entropy transformer (Eqs. 12-13)
and the committed quality's own entropy model is reported beside them. Numbers on held-out utk-test
faces: bits per layer from real rANS payloads (and the model's estimate).

Usage: python benchmarks/stylegan_scalable/entropy_ablation.py --quality 3 --out runs/sg-ablation [--steps 1500]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch


def train_variant(styles: torch.Tensor, dim: int, groups, hyper: str, cross: bool, steps: int, seed: int):
    from lamina.codecs.stylegan_scalable.entropy import LayerwiseEntropyModel
    from lamina.codecs.stylegan_scalable.task import fit_entropy
    torch.manual_seed(seed)
    return fit_entropy(LayerwiseEntropyModel(dim, groups, cross_layer=cross, hyper=hyper), styles, steps, seed)


def measure(model, styles: torch.Tensor) -> dict:
    from lamina.codecs.stylegan_scalable.task import written_bits
    with torch.no_grad():
        estimated = model(styles)["bits"].mean(0).tolist()
    written = written_bits(model, styles)
    return {"bits_per_layer": written.tolist(), "bits_estimated_per_layer": estimated,
            "bytes_total": float(written.sum() / 8)}


def main() -> None:
    from lamina import load
    from lamina.data.datasets import load_dataset
    from lamina.codecs.stylegan_scalable.task import encode_styles, training_faces
    parser = argparse.ArgumentParser()
    parser.add_argument("--quality", type=int, default=3)
    parser.add_argument("--out", required=True)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--train-images", type=int, default=3000)
    parser.add_argument("--test-images", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    codec = load("stylegan-scalable", quality=args.quality)
    config = codec.model.config
    train_styles = encode_styles(codec.model, training_faces(args.train_images, args.seed))
    test_styles = encode_styles(codec.model, [item.image() for item in load_dataset("utk-test", limit=args.test_images)])
    rounded = torch.round(test_styles)
    results = {"quality": args.quality, "steps": args.steps, "train_images": args.train_images,
               "test_images": args.test_images, "dim": config["dim"], "groups": config["groups"],
               "nonzero_symbols_per_layer": [float((rounded[:, p] != 0).float().sum((1, 2)).mean())
                                             for p in codec.model.entropy.layer_slices()],
               "variants": {}}
    results["variants"]["committed entropy model"] = measure(codec.model.entropy, test_styles)
    for label, hyper, cross in (("linear", "linear", False), ("hyper", "transformer", False),
                                ("hyper+cross", "transformer", True)):
        model = train_variant(train_styles, config["dim"], tuple(config["groups"]), hyper, cross, args.steps, args.seed)
        results["variants"][label] = measure(model, test_styles)
        print(label, results["variants"][label], flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "ablation.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = ["| entropy model | basic bits | middle bits | enhanced bits | total bytes |", "|---|---|---|---|---|"]
    for label, r in results["variants"].items():
        b = r["bits_per_layer"]
        lines.append(f"| {label} | {b[0]:.1f} | {b[1]:.1f} | {b[2]:.1f} | {r['bytes_total']:.1f} |")
    (out / "ablation.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
