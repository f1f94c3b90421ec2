"""BD-rate of feature-texture's full stream (feature + texture layers) against the same residual codec coding
the image directly, at equal total bytes (the paper's Figs. 9-12 comparison).

Usage: python benchmarks/scalable_vs_direct.py RUN_DIR [RUN_DIR ...]
Reads each run's summary.csv (written by `lamina bench`) and writes scalable_vs_direct.json/.md into it.
Negative = the scalable stream needs fewer bits for the same quality. PCHIP Bjontegaard, as in the reports.
"""
from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import numpy as np

from lamina.bench.report import curves
from lamina.metrics.bdrate import bd_rate
from lamina.vision.evaluators import LOWER_IS_BETTER

PAIRS = {"feature-texture": "hyperprior", "feature-texture+jpeg": "jpeg", "feature-texture+jpeg2000": "jpeg2000",
         "feature-texture+heic": "heic", "feature-texture+vvc": "vvc"}
METRICS = ("psnr", "ms_ssim", "lpips_alex")


def _read(summary: Path) -> list[dict]:
    with open(summary) as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        for key, value in row.items():
            if key not in ("codec", "layer_name"):
                try:
                    row[key] = float(value) if value not in ("", "None") else None
                except ValueError:
                    pass
        for key in ("quality", "layer", "layers_total", "images"):
            row[key] = int(row[key])
    return rows


def main(*runs: str) -> None:
    for run in map(Path, runs):
        summary = _read(run / "summary.csv")
        table, lines = {}, ["| scalable | direct | " + " | ".join(f"BD-rate {m}" for m in METRICS) + " |",
                            "|---|---|" + "---|" * len(METRICS)]
        for scalable, direct in PAIRS.items():
            cells = []
            for metric in METRICS:
                c = curves(summary, metric)
                label = f"{scalable} L2"
                if label not in c or direct not in c:
                    cells.append(None)
                    continue
                sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
                (rs, qs), (rd, qd) = c[label], c[direct]
                try:
                    cells.append(round(bd_rate(rd, sign * qd, rs, sign * qs, method="pchip"), 2)
                                 if np.all(np.diff(sign * qs) > 0) and np.all(np.diff(sign * qd) > 0) else None)
                except (ValueError, np.linalg.LinAlgError):
                    cells.append(None)
            if all(v is None for v in cells) and f"{scalable} L2" not in curves(summary, "psnr"):
                continue
            table[f"{scalable} vs {direct}"] = dict(zip(METRICS, cells))
            lines.append(f"| {scalable} | {direct} | " + " | ".join("–" if v is None else f"{v:+.1f}%" for v in cells) + " |")
        (run / "scalable_vs_direct.json").write_text(json.dumps(table, indent=2) + "\n")
        (run / "scalable_vs_direct.md").write_text("\n".join(lines) + "\n")
        print(run, "\n" + "\n".join(lines))


if __name__ == "__main__":
    main(*sys.argv[1:])
