"""Tables for docs/results/codebook-svr/README.md from the bench folders that benchmarks/codebook_svr/eval.py and
benchmarks/codebook_svr/baselines.sh filled: per set the mean of every metric per (codec, quality, layer), and
BD-rates (PCHIP and VCEG cubic) of codebook-svr (full stream, α = 1) against VVC, AV1, HEIC, mean-scale and its own
x^LQ alone, on LPIPS-alex, DISTS, MS-SSIM and PSNR, over the curves' common quality range.

    python benchmarks/codebook_svr/report.py runs/codebook-svr/bench/kodak ... --out docs/results/codebook-svr/tables.md

Every codec is scored on the images codebook-svr was run on (the baselines may have run on a superset: every
8th Imagenette test image vs codebook-svr's every 16th, ...). Beside tables.md, each set gets the bench's own
report of those rows (summary.csv, bd_rates.json against VVC, plots/, report.md) in OUT's folder/<set>/.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


METRICS = ("psnr", "ms_ssim", "lpips_alex", "dists", "class_agree")
BD_METRICS = ("lpips_alex", "dists", "ms_ssim", "psnr")
SVR = "codebook-svr L2"
AGAINST = ("vvc", "av1", "heic", "mean-scale", "codebook-svr x^LQ")


def main() -> None:
    from lamina.bench.report import curves, summarise, write_summary_report
    from lamina.bench.runner import read_rows
    from lamina.metrics.bdrate import bd_rate
    from lamina.vision.evaluators import LOWER_IS_BETTER, label
    parser = argparse.ArgumentParser()
    parser.add_argument("folders", nargs="+")
    parser.add_argument("--out", required=True)
    parser.add_argument("--ladder", type=int, nargs="*", default=[1, 2, 3, 6, 7],
                        help="qualities of the rate ladder without dominated points (BD rows 'ladder')")
    args = parser.parse_args()
    lines, data = [], {}
    for folder in map(Path, args.folders):
        rows = read_rows(folder / "results.jsonl")
        svr_images = {r["image"] for r in rows if r["codec"] == "codebook-svr"}
        rows = [r for r in rows if r["image"] in svr_images]
        summary = summarise(rows)
        report_dir = Path(args.out).parent / folder.name
        report_dir.mkdir(parents=True, exist_ok=True)
        config = json.loads((folder / "config.json").read_text()) if (folder / "config.json").exists() else {}
        config.update(dataset=folder.name, codecs=sorted({r["codec"] for r in rows}),
                      images=f"{len(svr_images)} images (those codebook-svr ran on)")
        write_summary_report(report_dir, summary, rows, config, ["vvc"])
        present = [m for m in METRICS if any(e.get(m) is not None for e in summary)]
        images = max(e["images"] for e in summary)
        lines += [f"## {folder.name} ({images} images)", "",
                  "| codec | q | layer | images | bpp | " + " | ".join(label(m) for m in present) + " |",
                  "|---" * (5 + len(present)) + "|"]
        for e in sorted(summary, key=lambda e: (e["codec"], e["bpp"])):
            cells = " | ".join("" if e.get(m) is None else f"{e[m]:.4f}" for m in present)
            lines.append(f"| {e['codec']} | {e['quality']} | {e['layer']} ({e.get('layer_name', '')}) | "
                         f"{e['images']} | {e['bpp']:.4f} | {cells} |")
        lines += ["", f"BD-rate (%) of codebook-svr (both layers, α = 1) against each anchor, at equal quality over "
                      f"the common range (PCHIP / cubic); negative = codebook-svr needs fewer bits. `{SVR}`: every "
                      f"quality; `ladder`: qualities {', '.join(map(str, args.ladder))} (the others are dominated):",
                  "", "| codebook-svr | anchor | " + " | ".join(label(m) for m in BD_METRICS) + " |",
                  "|---" * (2 + len(BD_METRICS)) + "|"]
        data[folder.name] = {}
        ladder = [e for e in summary if e["codec"] == "codebook-svr" and e["layer"] == 2
                  and e["quality"] in args.ladder]
        for anchor, test in [(a, SVR) for a in AGAINST] + [(a, "ladder") for a in AGAINST]:
            cells = []
            for metric in BD_METRICS:
                c = curves(summary, metric)
                points = sorted((e["bpp"], e[metric]) for e in ladder if e.get(metric) is not None)
                c["ladder"] = (np.array([p[0] for p in points]), np.array([p[1] for p in points]))
                if anchor not in c or test not in c:
                    cells.append("n/a")
                    continue
                sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
                (ra, qa), (rt, qt) = c[anchor], c[test]
                values = []
                for method in ("pchip", "cubic"):
                    try:
                        values.append(bd_rate(ra, sign * qa, rt, sign * qt, method=method))
                    except ValueError:
                        values.append(None)
                data[folder.name].setdefault(f"{test} vs {anchor}", {})[metric] = values
                cells.append(" / ".join("no overlap" if v is None else f"{v:+.1f}" for v in values))
            lines.append(f"| {test} | {anchor} | " + " | ".join(cells) + " |")
        lines.append("")
    Path(args.out).write_text("\n".join(lines) + "\n")
    Path(args.out).with_suffix(".json").write_text(json.dumps(data, indent=1))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
