"""Copy a bench run's small outputs into docs/results/ and write an index report over several runs.

Usage: python benchmarks/common/collect_results.py DEST TITLE RUN_DIR [RUN_DIR ...]
If DEST/intro.md exists, its text is placed under the title.
Copies report.md, summary.csv, bd_rates.json, config.json and plots/ of each run to DEST/<run name>/
(results.jsonl stays in runs/: it is large) and writes DEST/report.md with, per run, each codec's lowest
setting (bytes, bpp and the key human/machine metrics) and links to the full per-run reports.
"""
from __future__ import annotations

import csv
import json
import shutil
import sys
from pathlib import Path

from lamina.bench.runner import read_rows

KEY_METRICS = ["psnr", "ms_ssim", "lpips_alex", "id_dlib_kept", "id_mfn_cosine", "nme_dlib", "nme_dlib_gt",
               "nme_mesh", "mesh_found", "parsing_fwiou", "recog_dlib_correct", "attr_match"]


def lowest_rows(summary_path: Path) -> list[dict]:
    with open(summary_path) as handle:
        rows = list(csv.DictReader(handle))
    best: dict[tuple, dict] = {}
    for row in rows:
        key = (row["codec"], row["layer"])
        if key not in best or float(row["bpp"]) < float(best[key]["bpp"]):
            best[key] = row
    return [best[k] for k in sorted(best)]


def main(dest: str, title: str, *runs: str) -> None:
    dest_path = Path(dest)
    dest_path.mkdir(parents=True, exist_ok=True)
    lines = [f"# {title}", ""]
    if (dest_path / "intro.md").exists():
        lines += [(dest_path / "intro.md").read_text().strip(), ""]
    for run in map(Path, runs):
        target = dest_path / run.name
        if target.exists():
            shutil.rmtree(target)
        target.mkdir()
        for name in ("report.md", "summary.csv", "bd_rates.json", "config.json"):
            shutil.copy(run / name, target / name)
        shutil.copytree(run / "plots", target / "plots")
        config = json.loads((run / "config.json").read_text())
        images = len({row["image"] for row in read_rows(run / "results.jsonl")})
        rows = lowest_rows(run / "summary.csv")
        metrics = [m for m in KEY_METRICS if any(r.get(m) not in (None, "") for r in rows)]
        lines += [f"## {config['dataset']} ({images} images)", "",
                  f"Full report: [{run.name}/report.md]({run.name}/report.md) (RD plots for every metric, "
                  f"BD-rates vs {', '.join(json.loads((run / 'bd_rates.json').read_text())['anchors'])}).", "",
                  "Each codec at its lowest setting (means over the images):", "",
                  "| codec | quality | bytes | bpp | " + " | ".join(metrics) + " |",
                  "|---" * (4 + len(metrics)) + "|"]
        for row in rows:
            label = row["codec"] if row["layers_total"] == "1" else f"{row['codec']} L{row['layer']}"
            values = [f"{float(row[m]):.4g}" if row.get(m) not in (None, "") else "–" for m in metrics]
            lines.append(f"| {label} | {row['quality']} | {float(row['bytes']):.0f} | {float(row['bpp']):.4f} | "
                         + " | ".join(values) + " |")
        lines.append("")
        encoders = config.get("encoders", {})
        if encoders and "## Encoders" not in "\n".join(lines):
            lines += ["## Encoders", "", "| codec | library / binary and version |", "|---|---|"]
            lines += [f"| {k} | {v} |" for k, v in encoders.items()] + [""]
    (dest_path / "report.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
