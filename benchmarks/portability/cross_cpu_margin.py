"""How far the decoder-side entropy parameters are from flipping across CPUs (issue 22 item 3).

The CompressAI-based codecs (hyperprior, mean-scale, feature-texture's texture, stylegan-scalable's styles) turn
float scales from a hyper-synthesis network into CDF-table indexes on both sides of a stream. A kernel difference
that moves a scale across a scale-table boundary would desync the decoder. This decodes held-out images here and in
a child process with other float kernels (lamina.portability.other_kernels), and reports, per codec: lookups,
index flips seen, the largest difference of log-scales between the kernels (delta), the smallest distance of any
log-scale to a table boundary (margin), how many lookups lie within 1e-6 of a boundary (what float32 kernel
differences could flip), and the estimated flip probability per lookup (the density of margins near zero times
max(delta, 1e-15)). The scales are float64 since the entropy parameters are computed by lamina.entropy.float64_twin.

    .venv/bin/python benchmarks/portability/cross_cpu_margin.py --faces 24 --kodak 8 --out docs/results/portability
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

import lamina
from lamina.data.datasets import load_dataset
from lamina.portability import other_kernels, run_child, run_margin_jobs

CODECS = [("hyperprior", {"quality": q}) for q in (1, 2, 3, 4)] + [("mean-scale", {"quality": q}) for q in (1, 2, 3, 4)] \
    + [("feature-texture", {})] + [("stylegan-scalable", {"quality": q}) for q in (1, 3)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--faces", type=int, default=24)
    parser.add_argument("--kodak", type=int, default=8)
    parser.add_argument("--out", default="docs/results/portability")
    args = parser.parse_args()
    faces = [item.image() for item in load_dataset("utk-test", limit=args.faces)]
    kodak = [item.image() for item in load_dataset("kodak", limit=args.kodak)]
    jobs = []
    for name, kwargs in CODECS:
        codec = lamina.load(name, **kwargs)
        images = faces if name in ("feature-texture", "stylegan-scalable") else faces + kodak
        jobs += [{"mode": "margin", "codec": name, "kwargs": kwargs, "stream": codec.encode(image).to_bytes()}
                 for image in images]
    env = other_kernels()
    here = run_margin_jobs(jobs)
    with tempfile.TemporaryDirectory() as tmp:
        there = run_child(jobs, Path(tmp), env)
    rows = {}
    for job, mine, theirs in zip(jobs, here, there):
        label = f"{job['codec']}-q{job['kwargs'].get('quality', 'default')}"
        row = rows.setdefault(label, {"images": 0, "lookups": 0, "flips": 0, "delta": 0.0, "margin": np.inf,
                                      "near": 0})
        row["images"] += 1
        for (table, a), (_, b) in zip(mine, theirs):
            boundaries = np.log(table[:-1].astype(np.float64))
            # Raw scales (before the lower bound, which clamps everything under table[0] to exactly table[0]:
            # a scale far below it cannot flip, one just under or over it can).
            la = np.log(np.maximum(a.astype(np.float64), 1e-300))
            lb = np.log(np.maximum(b.astype(np.float64), 1e-300))
            ia, ib = np.searchsorted(boundaries, la, "left"), np.searchsorted(boundaries, lb, "left")
            margin = np.abs(la[:, None] - boundaries[None, :]).min(1)
            row["lookups"] += a.size
            row["flips"] += int((ia != ib).sum())
            row["delta"] = max(row["delta"], float(np.abs(la - lb).max(initial=0)))
            row["margin"] = min(row["margin"], float(margin.min(initial=np.inf)))
            row["_margins"] = np.concatenate([row.get("_margins", np.zeros(0)), margin])
    for row in rows.values():
        margins = row.pop("_margins")
        # Density of margins near zero (per unit of log-scale), from the lookups within 1e-3 of a boundary; a
        # flip needs a margin below the kernels' difference: p(flip) per lookup ~ density x difference. The
        # difference is taken as at least 1e-15 (float64 rounding of the log-scale) when the kernels agreed.
        row["within_1e-3"] = int((margins < 1e-3).sum())
        row["within_1e-6"] = int((margins < 1e-6).sum())  # what float32 kernel differences (~1e-6) could flip
        density = row["within_1e-3"] / row["lookups"] / 1e-3
        row["p_flip_per_lookup"] = density * max(row["delta"], 1e-15)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    summary = {"kernels": env, "faces": args.faces, "kodak": args.kodak, "codecs": rows}
    (out / "cross_cpu_margin.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(f"{'model':24s} {'images':>6s} {'lookups':>9s} {'flips':>5s} {'max delta (log)':>15s} "
          f"{'min margin (log)':>16s} {'<1e-6':>6s} {'p(flip)/lookup':>14s}")
    for label, row in rows.items():
        print(f"{label:24s} {row['images']:6d} {row['lookups']:9d} {row['flips']:5d} {row['delta']:15.2e} "
              f"{row['margin']:16.2e} {row['within_1e-6']:6d} {row['p_flip_per_lookup']:14.1e}")


if __name__ == "__main__":
    main()
