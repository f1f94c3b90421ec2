"""Merge bench runs of the same dataset into one report (new codecs next to baselines measured earlier).

Usage: python benchmarks/merge_bench.py OUT NEW_RUN BASELINE_RUN [BASELINE_RUN ...] [--anchor vvc ...]
Rows of the baseline runs are kept only for the images NEW_RUN scored (so every curve is over the same
images, less any image a codec refused) and only for codecs NEW_RUN does not hold. Metric columns the
baselines lack (e.g. dists) are simply absent from their rows. OUT gets results.jsonl, config.json (the
union, with each source run's config) and the usual report (summary.csv, bd_rates.json, plots, report.md).
"""
from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from lamina.bench.report import write_report
from lamina.bench.runner import read_rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("new")
    parser.add_argument("baselines", nargs="+")
    parser.add_argument("--anchor", nargs="+", default=["vvc"])
    args = parser.parse_args()
    out, new = Path(args.out), Path(args.new)
    out.mkdir(parents=True, exist_ok=True)
    rows = read_rows(new / "results.jsonl")
    images = {r["image"] for r in rows}
    codecs = {r["codec"] for r in rows}
    config = json.loads((new / "config.json").read_text())
    config["merged_from"] = {str(new): dict(config)}
    for run in map(Path, args.baselines):
        other = [r for r in read_rows(run / "results.jsonl") if r["image"] in images and r["codec"] not in codecs]
        rows += other
        run_config = json.loads((run / "config.json").read_text())
        config["merged_from"][str(run)] = run_config
        config["codecs"] = list(dict.fromkeys(config["codecs"] + sorted({r["codec"] for r in other})))
        config["encoders"] = {**run_config.get("encoders", {}), **config.get("encoders", {})}
        codecs |= {r["codec"] for r in other}
    config["anchors"] = args.anchor
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    with open(out / "results.jsonl", "w") as handle:
        handle.writelines(json.dumps(r) + "\n" for r in rows)
    if (new / "refused.jsonl").exists():
        shutil.copy(new / "refused.jsonl", out / "refused.jsonl")
    write_report(out, anchors=args.anchor)
    print(f"{len(rows)} rows over {len(images)} images, codecs: {', '.join(sorted(codecs))} -> {out}")


if __name__ == "__main__":
    main()
