"""BD-rate of feature-texture's full stream (feature + texture layers) against the same residual codec coding
the image directly, at equal total bytes (the paper's Figs. 9-12 comparison).

Usage: python benchmarks/feature_texture/scalable_vs_direct.py RUN_DIR [RUN_DIR ...]
Reads each run's results.jsonl (written by `lamina bench`) and writes scalable_vs_direct.json/.md into it.
Negative = the scalable stream needs fewer bits for the same quality. PCHIP Bjontegaard, as in the reports.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from lamina.bench.report import bd_table, summarise
from lamina.bench.runner import read_rows

PAIRS = {"feature-texture": "hyperprior", "feature-texture+jpeg": "jpeg", "feature-texture+jpeg2000": "jpeg2000",
         "feature-texture+heic": "heic", "feature-texture+vvc": "vvc"}
METRICS = ("psnr", "ms_ssim", "lpips_alex")


def load_summary(run: Path) -> list[dict]:
    """The run's per-(codec, quality, layer) means, as its report computed them."""
    return summarise(read_rows(run / "results.jsonl"))


def main(*runs: str) -> None:
    for run in map(Path, runs):
        summary = load_summary(run)
        present = {entry["codec"] for entry in summary}
        table, lines = {}, ["| scalable | direct | " + " | ".join(f"BD-rate {m}" for m in METRICS) + " |",
                            "|---|---|" + "---|" * len(METRICS)]
        for scalable, direct in PAIRS.items():
            if scalable not in present:
                continue
            # The report's BD-rate (PCHIP; None when a curve is not monotone or an anchor is missing).
            values = [bd_table(summary, metric, direct).get(f"{scalable} L2") for metric in METRICS]
            cells = [None if v is None else round(v, 2) for v in values]
            table[f"{scalable} vs {direct}"] = dict(zip(METRICS, cells))
            lines.append(f"| {scalable} | {direct} | " + " | ".join("–" if v is None else f"{v:+.1f}%" for v in cells) + " |")
        (run / "scalable_vs_direct.json").write_text(json.dumps(table, indent=2) + "\n")
        (run / "scalable_vs_direct.md").write_text("\n".join(lines) + "\n")
        print(run, "\n" + "\n".join(lines))


if __name__ == "__main__":
    main(*sys.argv[1:])
