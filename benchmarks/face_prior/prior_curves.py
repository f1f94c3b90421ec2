"""Training curves of a face-prior run (its log.jsonl): held-out PSNR and LPIPS-alex (128 px, rounded styles)
per number of layers, and the estimated bits per layer, against steps and wall time.

Usage: python benchmarks/face_prior/prior_curves.py RUN/log.jsonl OUT.png
"""
from __future__ import annotations

import json
import sys


def main(log: str, out: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = [json.loads(line) for line in open(log)]
    steps = [r["step"] for r in rows]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), dpi=100)
    for k in (1, 2, 3):
        axes[0].plot(steps, [r["val"][f"psnr_{k}"] for r in rows], marker="o", ms=2, label=f"{k} layer(s)")
        axes[1].plot(steps, [r["val"][f"lpips_{k}"] for r in rows], marker="o", ms=2, label=f"{k} layer(s)")
        axes[2].plot(steps, [r["val"]["bits_per_layer"][k - 1] for r in rows], marker="o", ms=2,
                     label=("basic", "middle", "enhanced")[k - 1])
    for ax, title in zip(axes, ("PSNR (dB) ↑, 64 held-out faces, 128 px", "LPIPS-alex ↓", "estimated bits per layer")):
        ax.set_title(title, fontsize=9)
        ax.set_xlabel(f"step (last: {steps[-1]}, {rows[-1]['elapsed_s'] / 60:.0f} min on 2 CPU cores)", fontsize=8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out)


if __name__ == "__main__":
    main(*sys.argv[1:])
