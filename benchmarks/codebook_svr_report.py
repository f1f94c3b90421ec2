"""Tables for docs/results/codebook-svr/README.md from the bench folders that benchmarks/codebook_svr_eval.py and
benchmarks/codebook_svr_baselines.sh filled: per set the mean of every metric per (codec, quality, layer), and
BD-rates (PCHIP and VCEG cubic) of codebook-svr (full stream, α = 1) against VVC, AV1, HEIC, mean-scale and its own
x^LQ alone, on LPIPS-alex, DISTS, MS-SSIM and PSNR, over the curves' common quality range.

    python benchmarks/codebook_svr_report.py runs/codebook-svr/bench/kodak ... --out docs/results/codebook-svr/tables.md
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

METRICS = ("psnr", "ms_ssim", "lpips_alex", "dists", "class_agree")
BD_METRICS = ("lpips_alex", "dists", "ms_ssim", "psnr")
SVR = "codebook-svr L2"
AGAINST = ("vvc", "av1", "heic", "mean-scale", "codebook-svr x^LQ")


def main() -> None:
    from lamina.bench.report import curves, summarise
    from lamina.bench.runner import read_rows
    from lamina.metrics.bdrate import bd_rate
    from lamina.vision.evaluators import LOWER_IS_BETTER, label
    parser = argparse.ArgumentParser()
    parser.add_argument("folders", nargs="+")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    lines, data = [], {}
    for folder in map(Path, args.folders):
        rows = read_rows(folder / "results.jsonl")
        summary = summarise(rows)
        present = [m for m in METRICS if any(e.get(m) is not None for e in summary)]
        images = max(e["images"] for e in summary)
        lines += [f"## {folder.name} ({images} images)", "",
                  "| codec | q | layer | images | bpp | " + " | ".join(label(m) for m in present) + " |",
                  "|---" * (5 + len(present)) + "|"]
        for e in sorted(summary, key=lambda e: (e["codec"], e["bpp"])):
            cells = " | ".join("" if e.get(m) is None else f"{e[m]:.4f}" for m in present)
            lines.append(f"| {e['codec']} | {e['quality']} | {e['layer']} ({e.get('layer_name', '')}) | "
                         f"{e['images']} | {e['bpp']:.4f} | {cells} |")
        lines += ["", f"BD-rate (%) of `{SVR}` (codebook-svr, both layers, α = 1) against each anchor, at equal "
                      "quality over the common range (PCHIP / cubic); negative = codebook-svr needs fewer bits:", "",
                  "| anchor | " + " | ".join(label(m) for m in BD_METRICS) + " |", "|---" * (1 + len(BD_METRICS)) + "|"]
        data[folder.name] = {}
        for anchor in AGAINST:
            cells = []
            for metric in BD_METRICS:
                c = curves(summary, metric)
                if anchor not in c or SVR not in c:
                    cells.append("n/a")
                    continue
                sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
                (ra, qa), (rt, qt) = c[anchor], c[SVR]
                values = []
                for method in ("pchip", "cubic"):
                    try:
                        values.append(bd_rate(ra, sign * qa, rt, sign * qt, method=method))
                    except ValueError:
                        values.append(None)
                data[folder.name].setdefault(anchor, {})[metric] = values
                cells.append(" / ".join("no overlap" if v is None else f"{v:+.1f}" for v in values))
            lines.append(f"| {anchor} | " + " | ".join(cells) + " |")
        lines.append("")
    Path(args.out).write_text("\n".join(lines) + "\n")
    Path(args.out).with_suffix(".json").write_text(json.dumps(data, indent=1))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
