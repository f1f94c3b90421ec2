"""Issue 11's targets for stylegan-scalable on lamina's face prior, read off the merged bench summaries (same
images for every codec), each next to VVC's and mean-scale's value at the same bytes:

  basic (<= 250 B):        landmark NME vs the original <= 0.03
  basic + middle:          dlib identity kept >= 60%, CelebA recognition >= 30%
  full stream (<= 600 B):  LPIPS-alex <= 0.33, dlib identity kept >= 70%

A codec's value at a rate is interpolated linearly in log-bpp between its two nearest settings; below its lowest
rate there is none, and its lowest setting (bytes and value) is reported instead.
Usage: python benchmarks/stylegan_scalable/targets.py UTK_RUN CELEBA_RUN OUT.json
"""
from __future__ import annotations

import argparse
import csv
import json
import math
from pathlib import Path

TARGETS = {  # (layer, source, metric) -> (target, direction)
    (1, "utk", "bytes"): (250, "le"), (1, "utk", "nme_dlib"): (0.03, "le"),
    (2, "utk", "id_dlib_kept"): (0.6, "ge"), (2, "celeba", "recog_dlib_correct"): (0.3, "ge"),
    (3, "utk", "bytes"): (600, "le"), (3, "utk", "lpips_alex"): (0.33, "le"), (3, "utk", "id_dlib_kept"): (0.7, "ge"),
}
REFERENCES = ("vvc", "mean-scale")


def rows(run: Path) -> list[dict]:
    with open(run / "summary.csv") as handle:
        return list(csv.DictReader(handle))


def at_rate(points: list[tuple[float, float]], bpp: float) -> float | None:
    """Linear interpolation in log(bpp) of (bpp, value) points; None outside their range."""
    points = sorted(points)
    for (b0, v0), (b1, v1) in zip(points, points[1:]):
        if b0 <= bpp <= b1:
            t = (math.log(bpp) - math.log(b0)) / (math.log(b1) - math.log(b0)) if b1 > b0 else 0.0
            return v0 + t * (v1 - v0)
    return None


def reference(summary: list[dict], codec: str, metric: str, bpp: float) -> dict:
    points = [(float(r["bpp"]), float(r[metric]), float(r["bytes"])) for r in summary
              if r["codec"] == codec and r.get(metric) not in (None, "")]
    if not points:
        return {"value": None}
    value = at_rate([(b, v) for b, v, _ in points], bpp)
    if value is not None:
        return {"value": round(value, 4)}
    lowest = min(points)
    return {"value": None, "lowest_setting_bytes": round(lowest[2]), "lowest_setting_value": round(lowest[1], 4)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("utk")
    parser.add_argument("celeba")
    parser.add_argument("out")
    args = parser.parse_args()
    sources = {"utk": rows(Path(args.utk)), "celeba": rows(Path(args.celeba))}
    qualities = sorted({int(r["quality"]) for r in sources["utk"] if r["codec"] == "stylegan-scalable"})
    result = {}
    for q in qualities:
        entry = {}
        for (layer, source, metric), (target, direction) in TARGETS.items():
            row = next(r for r in sources[source] if r["codec"] == "stylegan-scalable"
                       and int(r["quality"]) == q and int(r["layer"]) == layer)
            value = float(row[metric])
            met = value <= target if direction == "le" else value >= target
            item = {"value": round(value, 4), "target": target, "met": met, "bytes": round(float(row["bytes"]))}
            if metric != "bytes":
                item.update({codec: reference(sources[source], codec, metric, float(row["bpp"]))
                             for codec in REFERENCES})
            entry[f"L{layer} {metric} ({source})"] = item
        result[f"q{q}"] = entry
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
