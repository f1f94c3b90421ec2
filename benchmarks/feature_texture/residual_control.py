"""Control for feature-texture's learned residual codec: the same image hyperprior fine-tuned identically
(same steps, batches and crops; `lamina train feature-texture --stage control`) on the faces themselves,
coding the images directly. Compares with the scalable stream of a `lamina bench` run at equal total bytes.

Usage: python benchmarks/feature_texture/residual_control.py BENCH_RUN_DIR CONTROL_DIR [N]
Writes residual_control.json/.md into BENCH_RUN_DIR (BD-rate of `feature-texture` L2 vs the control).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from lamina.bench.report import bd_table
from lamina.codecs.hyperprior.codec import Hyperprior
from lamina.data.datasets import load_dataset
from lamina.metrics.perceptual import lpips_alex
from lamina.metrics.pixel import ms_ssim, psnr

from scalable_vs_direct import load_summary  # noqa: E402

METRICS = {"psnr": psnr, "ms_ssim": ms_ssim, "lpips_alex": lpips_alex}


def main(run: str, control: str, count: int = 100) -> None:
    run_path = Path(run)
    faces = [item.image() for item in load_dataset("celeba-test", limit=count)]
    summary = load_summary(run_path)
    scalable = sorted((e for e in summary if e["codec"] == "feature-texture" and e["layer"] == 2), key=lambda e: e["bpp"])
    control_points = []
    for path in sorted(Path(control).glob("control-q*.pt")):
        quality = int(path.stem.rsplit("q", 1)[1])
        codec = Hyperprior(quality=quality, weights=path)
        rows = []
        for face in faces:
            stream = codec.encode(face)
            decoded = codec.decode(stream.to_bytes())
            rows.append([stream.bpp()] + [float(f(face, decoded)) for f in METRICS.values()])
        means = dict(zip(["bpp", *METRICS], map(float, np.mean(rows, axis=0))))
        control_points.append(means)
        summary.append({"codec": "control", "quality": quality, "layer": 1, "layers_total": 1, **means})
    control_points.sort(key=lambda p: p["bpp"])
    result = {"control_points": control_points,
              "scalable_points": [{k: e[k] for k in ["bpp", *METRICS]} for e in scalable], "bd_rate_percent": {}}
    for metric in METRICS:  # the report's BD-rate against the control curve
        value = bd_table(summary, metric, "control").get("feature-texture L2")
        result["bd_rate_percent"][metric] = None if value is None else round(value, 2)
    (run_path / "residual_control.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = ["| feature-texture vs | " + " | ".join(f"BD-rate {m}" for m in METRICS) + " |", "|---|---|---|---|",
             "| hyperprior fine-tuned identically on the faces (control) | " + " | ".join(
                 "–" if v is None else f"{v:+.1f}%" for v in result["bd_rate_percent"].values()) + " |"]
    (run_path / "residual_control.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(json.dumps(result["control_points"], indent=1))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 100)
