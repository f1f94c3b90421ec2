"""Issue 4's targets for stylegan-scalable, read off the merged bench summaries (same images for every codec).

  1. basic layer <= 250 bytes, with landmark NME no worse than VVC's (VVenC) at 3x the basic layer's bytes;
  2. middle layer keeps dlib identity for >= 90% of the faces;
  3. enhanced layer LPIPS below VVC's at equal bpp.
VVC's value at a rate is interpolated linearly in log-bpp between its two nearest settings (none outside
its measured range). Usage: python benchmarks/stylegan_targets.py UTK_RUN HELEN_RUN OUT.json [--quality 3]
"""
from __future__ import annotations

import argparse
import csv
import json
import math
from pathlib import Path


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


def layer_row(summary, quality: int, layer: int) -> dict:
    return next(r for r in summary if r["codec"] == "stylegan-scalable" and int(r["quality"]) == quality
                and int(r["layer"]) == layer)


def curve(summary, codec: str, metric: str) -> list[tuple[float, float]]:
    return [(float(r["bpp"]), float(r[metric])) for r in summary if r["codec"] == codec and r.get(metric)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("utk")
    parser.add_argument("helen")
    parser.add_argument("out")
    parser.add_argument("--quality", type=int, default=None, help="default: every quality")
    args = parser.parse_args()
    utk, helen = rows(Path(args.utk)), rows(Path(args.helen))
    qualities = sorted({int(r["quality"]) for r in utk if r["codec"] == "stylegan-scalable"})
    result = {}
    for q in ([args.quality] if args.quality else qualities):
        basic, middle, full = (layer_row(utk, q, k) for k in (1, 2, 3))
        basic_helen = layer_row(helen, q, 1)
        entry = {
            "basic_bytes": float(basic["bytes"]),
            "basic_bytes_target": 250,
            "basic_nme_dlib": float(basic["nme_dlib"]),
            "vvc_nme_dlib_at_3x_basic_bytes": at_rate(curve(utk, "vvc", "nme_dlib"), 3 * float(basic["bpp"])),
            "basic_nme_dlib_gt_helen": float(basic_helen["nme_dlib_gt"]),
            "vvc_nme_dlib_gt_helen_at_3x_basic_bytes": at_rate(curve(helen, "vvc", "nme_dlib_gt"),
                                                               3 * float(basic_helen["bpp"])),
            "middle_id_dlib_kept": float(middle["id_dlib_kept"]),
            "middle_id_dlib_kept_target": 0.9,
            "enhanced_bpp": float(full["bpp"]),
            "enhanced_lpips_alex": float(full["lpips_alex"]),
            "vvc_lpips_alex_at_enhanced_bpp": at_rate(curve(utk, "vvc", "lpips_alex"), float(full["bpp"])),
        }
        vvc_nme = entry["vvc_nme_dlib_at_3x_basic_bytes"]
        vvc_lpips = entry["vvc_lpips_alex_at_enhanced_bpp"]
        entry["met"] = {
            "basic_le_250_bytes": entry["basic_bytes"] <= 250,
            "basic_nme_le_vvc_at_3x": None if vvc_nme is None else entry["basic_nme_dlib"] <= vvc_nme,
            "middle_identity_ge_90pct": entry["middle_id_dlib_kept"] >= 0.9,
            "enhanced_lpips_lt_vvc": None if vvc_lpips is None else entry["enhanced_lpips_alex"] < vvc_lpips,
        }
        result[f"q{q}"] = entry
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
