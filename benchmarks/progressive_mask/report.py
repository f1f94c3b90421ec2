"""Tables for docs/results/progressive-mask/ from benchmarks/progressive_mask/table.py's rows and the baselines'
bench folders.

    python benchmarks/progressive_mask/report.py --table runs/progressive-mask/table \
        --baselines runs/progressive-mask/bench/imagenette-test --rd kodak=runs/progressive-mask/rd/kodak.jsonl \
        --rd-baselines kodak=runs/codebook-svr/bench/kodak --out docs/results/progressive-mask

Writes table2.md + table2.json (Imagenette: bpp vs top-1 / top-5 / PSNR per variant and requested rate, the
rate-control error, each baseline quality, the originals, and every codec's top-1 interpolated at RMPGC's
achieved rates) and rd-<set>.md + rd-<set>.json (PSNR / LPIPS-alex / DISTS per point and BD-rates of the
RMPGC ladder against VVC, AV1, HEIC and mean-scale), plus a bench-style folder per set (summary.csv, plots/).
"""
from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np


BASELINES = ("heic", "vvc", "av1", "mean-scale")
VARIANTS = ("RMPGC", "MPGC-2", "MPGC-1", "VRGC")


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def mean(rows, key):
    values = [r[key] for r in rows if r.get(key) is not None]
    return float(np.mean(values)) if values else None


def interp(curve: list[tuple[float, float]], x: float) -> float | None:
    """y of a bpp -> metric curve (sorted by bpp) at x, linear; None outside the curve."""
    xs, ys = zip(*sorted(curve))
    if not xs[0] <= x <= xs[-1]:
        return None
    return float(np.interp(x, xs, ys))


def table2(table_dir: Path, baselines: Path, out: Path) -> None:
    rows = [r for path in sorted(table_dir.glob("*.jsonl")) for r in read(path)]
    images = {r["image"] for r in rows if r.get("variant") == "RMPGC"}
    rows = [r for r in rows if r["image"] in images]
    lines = [f"# Table II on Imagenette test ({len(images)} images, 224x224)", "",
             "Rates are whole files (lamina container included) from the rate control (`--bpp`); top-1 / top-5 "
             "are EfficientNet-Lite0 (ImageNet-1k) against the image's class; PSNR in dB. Rate error = achieved "
             "/ requested − 1 (the control fills the request from below).", "",
             "| method | requested bpp | achieved bpp | rate error (mean, worst) | top-1 | top-5 | PSNR |",
             "|---|---|---|---|---|---|---|"]
    data = {"images": len(images), "variants": {}, "layers": {}, "baselines": {}}
    originals = [r for r in rows if r["kind"] == "original"]
    for variant in VARIANTS:
        groups = defaultdict(list)
        for r in rows:
            if r.get("variant") == variant and r["kind"] == "rate" and "bpp" in r:
                groups[r["target"]].append(r)
        for target, group in sorted(groups.items()):
            errors = [r["bpp"] / target - 1 for r in group]
            unreachable = sum(1 for r in rows if r.get("variant") == variant and r.get("target") == target
                              and "unreachable" in r)
            entry = {"target": target, "bpp": mean(group, "bpp"), "top1": mean(group, "top1"),
                     "top5": mean(group, "top5"), "psnr": mean(group, "psnr"), "images": len(group),
                     "rate_error_mean": float(np.mean(errors)), "rate_error_worst": float(np.min(errors)),
                     "unreachable": unreachable}
            data["variants"].setdefault(variant, []).append(entry)
            note = f" ({unreachable} images could not reach it)" if unreachable else ""
            lines.append(f"| {variant} ({len(group)} images) | {target:.3f} | {entry['bpp']:.4f} | {100 * entry['rate_error_mean']:+.1f}%, "
                         f"{100 * entry['rate_error_worst']:+.1f}%{note} | {entry['top1']:.4f} | {entry['top5']:.4f} | "
                         f"{entry['psnr']:.2f} |")
    for variant in VARIANTS:
        for kind in ("base", "full-latent", "residual-coarse", "residual-fine"):
            group = [r for r in rows if r.get("variant") == variant and r["kind"] == kind]
            if group:
                entry = {"bpp": mean(group, "bpp"), "top1": mean(group, "top1"), "top5": mean(group, "top5"),
                         "psnr": mean(group, "psnr"), "images": len(group)}
                data["layers"].setdefault(variant, {})[kind] = entry
                lines.append(f"| {variant}, {kind} ({len(group)} images) | – | {entry['bpp']:.4f} | – | {entry['top1']:.4f} | "
                             f"{entry['top5']:.4f} | {entry['psnr']:.2f} |")
    # the ablation on the images every variant ran on
    present = [v for v in VARIANTS if any(r.get("variant") == v and r["kind"] == "rate" for r in rows)]
    common = set.intersection(*({r["image"] for r in rows if r.get("variant") == v and r["kind"] == "rate"}
                                for v in present)) if present else set()
    if len(present) > 1:
        lines += ["", f"## Ablation on the same {len(common)} images", "",
                  "| requested bpp | " + " | ".join(f"{v} bpp / top-1 / top-5 / PSNR" for v in present) + " |",
                  "|---" * (1 + len(present)) + "|"]
        targets = sorted({r["target"] for r in rows if r["kind"] == "rate"})
        data["ablation"] = {"images": len(common), "rows": []}
        for target in targets:
            cells, entry = [], {"target": target}
            for v in present:
                group = [r for r in rows if r.get("variant") == v and r["kind"] == "rate" and r.get("target") == target
                         and r["image"] in common and "bpp" in r]
                e = {m: mean(group, m) for m in ("bpp", "top1", "top5", "psnr")}
                entry[v] = e
                cells.append("–" if e["bpp"] is None else
                             f"{e['bpp']:.4f} / {e['top1']:.3f} / {e['top5']:.3f} / {e['psnr']:.2f}")
            data["ablation"]["rows"].append(entry)
            lines.append(f"| {target:.3f} | " + " | ".join(cells) + " |")
    base_rows = [r for r in read(baselines / "results.jsonl") if r["image"] in images]
    curves = {}
    for codec in BASELINES:
        groups = defaultdict(list)
        for r in base_rows:
            if r["codec"] == codec and r["layer"] == r["layers_total"]:
                groups[r["quality"]].append(r)
        entries = []
        for quality, group in groups.items():
            entries.append({"quality": quality, "bpp": mean(group, "bpp"), "top1": mean(group, "top1"),
                            "top5": mean(group, "top5"), "psnr": mean(group, "psnr"), "images": len(group)})
        entries.sort(key=lambda e: e["bpp"])
        data["baselines"][codec] = entries
        curves[codec] = entries
        for e in entries:
            lines.append(f"| {codec} q{e['quality']} ({e['images']} images) | – | {e['bpp']:.4f} | – | {e['top1']:.4f} | "
                         f"{e['top5']:.4f} | {e['psnr']:.2f} |")
    if originals:
        data["originals"] = {"top1": mean(originals, "top1"), "top5": mean(originals, "top5"),
                             "images": len(originals)}
        lines.append(f"| originals | – | 24 | – | {data['originals']['top1']:.4f} | {data['originals']['top5']:.4f} | – |")
    # every codec at RMPGC's achieved rates (linear interpolation of its bpp curve)
    lines += ["", "## At equal rate", "",
              "Each codec's top-1 / top-5 / PSNR interpolated (linear in bpp) at the rate RMPGC achieved for each "
              "request; '–' = outside that codec's measured range.", "",
              "| RMPGC bpp | " + " | ".join(f"{c} top-1 / top-5 / PSNR" for c in ("RMPGC",) + BASELINES) + " |",
              "|---" * (2 + len(BASELINES)) + "|"]
    data["equal_rate"] = []
    for entry in data["variants"].get("RMPGC", []):
        x = entry["bpp"]
        cells, row = [f"{entry['top1']:.3f} / {entry['top5']:.3f} / {entry['psnr']:.2f}"], {"bpp": x}
        for codec in BASELINES:
            vals = [interp([(e["bpp"], e[m]) for e in curves[codec]], x) if curves[codec] else None
                    for m in ("top1", "top5", "psnr")]
            row[codec] = vals
            cells.append("–" if vals[0] is None else f"{vals[0]:.3f} / {vals[1]:.3f} / {vals[2]:.2f}")
        data["equal_rate"].append(row)
        lines.append(f"| {x:.4f} | " + " | ".join(cells) + " |")
    out.mkdir(parents=True, exist_ok=True)
    (out / "table2.md").write_text("\n".join(lines) + "\n")
    (out / "table2.json").write_text(json.dumps(data, indent=1) + "\n")
    print("\n".join(lines))


def rd(name: str, path: Path, baselines: Path, out: Path) -> None:
    from lamina.bench.report import summarise, write_summary_report
    from lamina.metrics.bdrate import bd_rate
    from lamina.vision.evaluators import LOWER_IS_BETTER, label
    rows = [r for r in read(path) if r.get("variant") == "RMPGC" and "bpp" in r]
    images = {r["image"] for r in rows}
    # bench-format rows: the RMPGC ladder as one codec (quality = point index by rate)
    points = sorted({(r["kind"], r.get("target")) for r in rows}, key=lambda k: mean(
        [r for r in rows if (r["kind"], r.get("target")) == k], "bpp"))
    bench_rows = []
    for q, key in enumerate(points, 1):
        for r in rows:
            if (r["kind"], r.get("target")) == key:
                bench_rows.append({"dataset": name, "image": r["image"], "codec": "progressive-mask", "quality": q,
                                   "layer": 1, "layers_total": 1,  # one curve: the ladder
                                   "layer_name": key[0] if key[1] is None else f"--bpp {key[1]:g}",
                                   "bytes": r["bytes"], "bpp": r["bpp"], "psnr": r["psnr"],
                                   "lpips_alex": r.get("lpips_alex"), "dists": r.get("dists")})
    base = [r for r in read(baselines / "results.jsonl") if r["image"] in images and r["codec"] in BASELINES
            and r["layer"] == r["layers_total"]]
    bench_rows += [{k: r.get(k) for k in ("dataset", "image", "codec", "quality", "layer", "layers_total",
                                           "layer_name", "bytes", "bpp", "psnr", "lpips_alex", "dists")}
                   for r in base]
    summary = summarise(bench_rows)
    folder = out / name
    folder.mkdir(parents=True, exist_ok=True)
    write_summary_report(folder, summary, bench_rows, {"dataset": name, "images": len(images),
                                                       "codecs": ["progressive-mask"] + list(BASELINES)}, ["vvc"])
    metrics = ("psnr", "lpips_alex", "dists")
    lines = [f"# {name}: rate-distortion ({len(images)} images)", "",
             "| codec | point | bpp | " + " | ".join(label(m) for m in metrics) + " |", "|---" * 6 + "|"]
    for e in sorted(summary, key=lambda e: (e["codec"] != "progressive-mask", e["codec"], e["bpp"])):
        lines.append(f"| {e['codec']} | {e.get('layer_name') or e['quality']} | {e['bpp']:.4f} | "
                     + " | ".join("" if e.get(m) is None else f"{e[m]:.4f}" for m in metrics) + " |")
    lines += ["", "BD-rate of the RMPGC ladder against each baseline (PCHIP; negative = fewer bits at equal "
              "quality; over the common quality range):", "", "| anchor | " + " | ".join(label(m) for m in metrics)
              + " |", "|---" * 4 + "|"]
    bd = {}
    ours = [e for e in summary if e["codec"] == "progressive-mask"]
    for anchor in BASELINES:
        theirs = [e for e in summary if e["codec"] == anchor]
        cells = []
        for m in metrics:
            sign = -1 if m in LOWER_IS_BETTER else 1
            try:
                value = bd_rate([e["bpp"] for e in theirs], [sign * e[m] for e in theirs],
                                [e["bpp"] for e in ours], [sign * e[m] for e in ours], method="pchip")
                bd.setdefault(anchor, {})[m] = value
                cells.append(f"{value:+.1f}%")
            except ValueError as exc:
                bd.setdefault(anchor, {})[m] = None
                cells.append(f"n/a ({exc})")
        lines.append(f"| {anchor} | " + " | ".join(cells) + " |")
    (out / f"rd-{name}.md").write_text("\n".join(lines) + "\n")
    (out / f"rd-{name}.json").write_text(json.dumps({"summary": summary, "bd_rate_pchip": bd}, indent=1,
                                                    default=float) + "\n")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--table", default=None)
    parser.add_argument("--baselines", default=None)
    parser.add_argument("--rd", nargs="*", default=[], help="NAME=rows.jsonl")
    parser.add_argument("--rd-baselines", nargs="*", default=[], help="NAME=bench folder")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    out = Path(args.out)
    if args.table:
        table2(Path(args.table), Path(args.baselines), out)
    anchors = dict(item.split("=", 1) for item in args.rd_baselines)
    for item in args.rd:
        name, path = item.split("=", 1)
        rd(name, Path(path), Path(anchors[name]), out)


if __name__ == "__main__":
    main()
