"""Entropy-model ablation of stylegan-scalable at one λ (the paper's Table: bits per layer of method A, B, C).

The trained codec's encoder gives fixed residual styles; the decoded styles are round(w) whatever the entropy
model (lamina.codecs.style_entropy codes symbols on the integer grid), so every variant decodes the same
images and only the rate differs. Three entropy models are trained from scratch on the same styles, with the
same steps, batch and learning rate, on the rate alone:
  linear     per-token linear hyper model (no attention, no cross-layer context)  - a "conventional hyperprior"
  hyper      layer-wise hyper-transformer with the layered mask (Eqs. 9-11)
  hyper+cross  the hyper-transformer + the cross-layer entropy transformer (Eqs. 12-13)
and the codec's own, jointly trained entropy model is reported beside them. Numbers on held-out utk-test
faces: bits per layer from real rANS payloads (and the model's estimate).

Usage: python benchmarks/stylegan_entropy_ablation.py --quality 3 --out runs/sg-ablation [--steps 1500]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch


def styles_of(codec, images: list[np.ndarray], batch: int = 32) -> torch.Tensor:
    out = []
    with torch.no_grad():
        for i in range(0, len(images), batch):
            x = torch.cat([codec._to_model(image) for image in images[i:i + batch]])
            out.append(codec.model.encode(x))
    return torch.cat(out)


def train_variant(styles: torch.Tensor, dim: int, groups, hyper: str, cross: bool, steps: int, seed: int):
    from lamina.codecs.hyperprior import split_aux_parameters
    from lamina.codecs.style_entropy import LayerwiseEntropyModel
    torch.manual_seed(seed)
    model = LayerwiseEntropyModel(dim, groups, cross_layer=cross, hyper=hyper)
    parts = split_aux_parameters(model)
    main, aux = torch.optim.Adam(parts["main"], lr=1e-3), torch.optim.Adam(parts["aux"], lr=1e-3)
    rng = np.random.default_rng(seed)
    model.train()
    for step in range(steps):
        batch = styles[rng.integers(len(styles), size=64)]
        loss = model(batch)["bits"].sum(1).mean()
        aux_loss = model.hyper_entropy.loss()
        main.zero_grad()
        aux.zero_grad()
        (loss + aux_loss).backward()
        torch.nn.utils.clip_grad_norm_(parts["main"], 1.0)
        main.step()
        aux.step()
    model.eval()
    model.update()
    return model


def measure(model, styles: torch.Tensor) -> dict:
    with torch.no_grad():
        estimated = model(styles)["bits"].mean(0).tolist()
    written = np.array([[8 * len(p) for p in model.compress(styles[i:i + 1])] for i in range(len(styles))])
    return {"bits_per_layer": written.mean(0).tolist(), "bits_estimated_per_layer": estimated,
            "bytes_total": float(written.sum(1).mean() / 8)}


def main() -> None:
    from lamina import load
    from lamina.data.datasets import load_dataset
    from lamina.data.training import split_items
    parser = argparse.ArgumentParser()
    parser.add_argument("--quality", type=int, default=3)
    parser.add_argument("--out", required=True)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--train-images", type=int, default=3000)
    parser.add_argument("--test-images", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(2)
    codec = load("stylegan-scalable", quality=args.quality)
    config = codec.model.config
    train_items, _ = split_items("faces")
    pick = np.random.default_rng(args.seed).choice(len(train_items), size=args.train_images, replace=False)
    train_styles = styles_of(codec, [train_items[i].image() for i in sorted(pick)])
    test_styles = styles_of(codec, [item.image() for item in load_dataset("utk-test", limit=args.test_images)])
    rounded = torch.round(test_styles)
    results = {"quality": args.quality, "steps": args.steps, "train_images": args.train_images,
               "test_images": args.test_images, "dim": config["dim"], "groups": config["groups"],
               "nonzero_symbols_per_layer": [float((rounded[:, p] != 0).float().sum((1, 2)).mean())
                                             for p in codec.model.entropy.layer_slices()],
               "variants": {}}
    results["variants"]["codec (joint training)"] = measure(codec.model.entropy, test_styles)
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
