"""Rate-accuracy of feature-texture's base layer (the paper's Table I) on the fixed CelebA verification pairs.

For every face in lamina/data/celeba-verification-pairs.txt (celeba-test images of identities held out of the
extractor's fine-tuning): the original MobileFaceNet feature (same fixed crop), the fine-tuned raw feature,
and the feature decoded from the real feature layer at every feature quality. Baselines code the same raw
(fine-tuned) feature: scalar quantisation (SQ, b bits per dimension, fixed-length, uniform on [-a, a] with a
the 99.9th percentile of |f| on training features) and product quantisation (PQ, m sub-vectors, 256-word
k-means codebooks, 8 bits each), both trained on celeba-train features. Accuracy: 10-fold verification
(threshold chosen on nine folds, applied to the tenth). bpp = bits / (256 x 256), the paper's convention.

Usage: python benchmarks/feature_texture/feature_rate_accuracy.py OUT_DIR   (writes rate_accuracy.json/.csv/.md and a plot)
"""
from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import numpy as np
import torch

from lamina.codecs.feature_texture.codec import FeatureTexture
from lamina.codecs.feature_texture.nets import FeatureExtractor
from lamina.data.datasets import load_dataset
from lamina.data.pairs import load_pairs, verification_accuracy
from lamina.nn.mobilefacenet import load_mobilefacenet

PIXELS = 256 * 256


def kmeans(x: np.ndarray, k: int, iterations: int = 25, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = x[rng.choice(len(x), k, replace=False)].copy()
    for _ in range(iterations):
        assign = ((x[:, None, :] - centres[None]) ** 2).sum(-1).argmin(1)
        for j in range(k):
            members = x[assign == j]
            if len(members):
                centres[j] = members.mean(0)
    return centres


def pq(train: np.ndarray, test: np.ndarray, m: int) -> np.ndarray:
    parts = []
    for chunk_train, chunk_test in zip(np.array_split(train, m, axis=1), np.array_split(test, m, axis=1)):
        centres = kmeans(chunk_train, 256)
        parts.append(centres[((chunk_test[:, None, :] - centres[None]) ** 2).sum(-1).argmin(1)])
    return np.concatenate(parts, axis=1)


def sq(train: np.ndarray, test: np.ndarray, bits: int) -> np.ndarray:
    a = np.quantile(np.abs(train), 0.999)
    levels = 2 ** bits
    step = 2 * a / levels
    index = np.clip(np.floor((test + a) / step), 0, levels - 1)
    return -a + (index + 0.5) * step


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    rows = load_pairs()
    names = sorted({a for _, a, _, _ in rows} | {b for _, _, b, _ in rows})
    items = {item.name: item for item in load_dataset("celeba-test")}
    images = [items[n].image() for n in names]
    codec = FeatureTexture()
    original = FeatureExtractor()
    original.net.load_state_dict(load_mobilefacenet().state_dict())
    original.eval()
    with torch.no_grad():
        f_orig = np.stack([original(codec._tensor(im))[0].numpy() for im in images])
    f_raw = np.stack([codec.extract(im) for im in images])
    train_items = load_dataset("celeba-train")
    f_train = np.stack([codec.extract(item.image()) for item in train_items])

    def acc(features):
        return verification_accuracy(dict(zip(names, features)), rows)

    results = []
    for label, feats in (("original MobileFaceNet", f_orig), ("fine-tuned (uncompressed)", f_raw)):
        mean, std = acc(feats)
        results.append({"method": label, "setting": "float32", "bits": 32 * 128, "bpp": 32 * 128 / PIXELS,
                        "accuracy": mean, "std": std})
    for quality in sorted(codec.model.codecs):
        coder = FeatureTexture(feature_quality=quality, residual="jpeg", quality=1)  # texture layer unused here
        decoded, bits, files = [], [], []
        for image in images:
            stream = coder.encode(image)
            one = stream.truncate(1)
            decoded.append(coder.decode_feature(one.to_bytes()))
            bits.append(8 * len(one.layers[0].payload))
            files.append(len(one.to_bytes()))
        mean, std = acc(np.stack(decoded))
        results.append({"method": "feature-texture (feature layer)", "setting": f"q{quality} λ1={codec.model.lambdas[quality]:g}",
                        "bits": float(np.mean(bits)), "bpp": float(np.mean(bits)) / PIXELS, "accuracy": mean, "std": std,
                        "file_bytes_1_layer": float(np.mean(files))})
    for b in (1, 2, 3):
        mean, std = acc(sq(f_train, f_raw, b))
        results.append({"method": "SQ", "setting": f"{b} bit/dim", "bits": 128 * b, "bpp": 128 * b / PIXELS,
                        "accuracy": mean, "std": std})
    for m in (4, 8, 16, 32):
        mean, std = acc(pq(f_train, f_raw, m))
        results.append({"method": "PQ", "setting": f"m={m}, k=256", "bits": 8 * m, "bpp": 8 * m / PIXELS,
                        "accuracy": mean, "std": std})
    summary = {"pairs": len(rows), "faces": len(names), "folds": 10, "results": results}
    (out / "rate_accuracy.json").write_text(json.dumps(summary, indent=2) + "\n")
    with open(out / "rate_accuracy.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["method", "setting", "bits", "bpp", "accuracy", "std",
                                                    "file_bytes_1_layer"])
        writer.writeheader()
        writer.writerows(results)
    lines = ["| method | setting | bits | bpp | accuracy | std over folds |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['method']} | {r['setting']} | {r['bits']:.0f} | {r['bpp']:.5f} | {100 * r['accuracy']:.2f}% | "
              f"{100 * r['std']:.2f} |" for r in results]
    (out / "rate_accuracy.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4))
    for method, marker in (("feature-texture (feature layer)", "o-"), ("SQ", "s--"), ("PQ", "^--")):
        pts = [(r["bpp"], r["accuracy"]) for r in results if r["method"] == method]
        ax.plot(*zip(*pts), marker, label=method)
    for r, style in zip(results[:2], (":", "-.")):
        ax.axhline(r["accuracy"], linestyle=style, color="grey", label=r["method"])
    ax.set_xlabel("bpp (feature bits / 256²)")
    ax.set_ylabel("verification accuracy (10-fold)")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "rate_accuracy.png", dpi=120)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "runs/feature-texture-rate-accuracy"))
