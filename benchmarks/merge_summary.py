"""A new bench run's codecs beside earlier runs' committed means (summary.csv) over the same images.

Usage: python benchmarks/merge_summary.py OUT NEW_RUN SUMMARY.csv [SUMMARY.csv ...] [--codecs vvc av1 ...]
                                          [--anchor vvc]
The earlier runs' per-image rows are not committed (only their summary.csv); the caller makes sure those means
are over the images NEW_RUN scored (e.g. both the first 200 utk-test faces less the one a face codec refuses).
Codecs NEW_RUN holds are never taken from the summaries; an image any codec of NEW_RUN refused is left out
for all of them. OUT gets summary.csv, bd_rates.json, plots and
report.md (lamina.bench.report), config.json naming every source.
"""
from __future__ import annotations

import argparse
import csv
import json
import shutil
from pathlib import Path

from lamina.bench.report import summarise, write_summary_report
from lamina.bench.runner import read_rows


def read_summary(path: Path) -> list[dict]:
    entries = []
    with open(path) as handle:
        for row in csv.DictReader(handle):
            entry = {}
            for key, value in row.items():
                if key in ("codec", "layer_name"):
                    entry[key] = value
                elif key in ("quality", "layer", "layers_total", "images"):
                    entry[key] = int(float(value))
                else:
                    entry[key] = float(value) if value not in ("", None) else None
            entries.append(entry)
    return entries


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("new")
    parser.add_argument("summaries", nargs="+")
    parser.add_argument("--codecs", nargs="*", default=None, help="codecs to take from the summaries (default all)")
    parser.add_argument("--anchor", nargs="+", default=["vvc"])
    args = parser.parse_args()
    out, new = Path(args.out), Path(args.new)
    out.mkdir(parents=True, exist_ok=True)
    refused = {r["image"] for r in read_rows(new / "refused.jsonl")}
    rows = [r for r in read_rows(new / "results.jsonl") if r["image"] not in refused]  # every codec, same images
    summary = summarise(rows)
    have = {e["codec"] for e in summary}
    config = json.loads((new / "config.json").read_text())
    config["merged_from"] = {str(new): "per-image rows (this run)"}
    for path in map(Path, args.summaries):
        taken = [e for e in read_summary(path) if e["codec"] not in have
                 and (args.codecs is None or e["codec"] in args.codecs)]
        summary += taken
        have |= {e["codec"] for e in taken}
        config["merged_from"][str(path)] = sorted({e["codec"] for e in taken})
    config["anchors"] = args.anchor
    config["codecs"] = sorted(have)
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    if (new / "refused.jsonl").exists():
        shutil.copy(new / "refused.jsonl", out / "refused.jsonl")
    write_summary_report(out, summary, rows, config, args.anchor)
    print(f"{len(summary)} curve points, codecs: {', '.join(sorted(have))} -> {out}")


if __name__ == "__main__":
    main()
