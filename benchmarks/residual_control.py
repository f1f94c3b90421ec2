"""Control for feature-texture's learned residual codec: the same image hyperprior fine-tuned identically
(same steps, batches and crops; `python -m lamina.train.feature_texture control`) on the faces themselves,
coding the images directly. Compares with the scalable stream of a `lamina bench` run at equal total bytes.

Usage: python benchmarks/residual_control.py BENCH_RUN_DIR CONTROL_DIR [N]
Writes residual_control.json/.md into BENCH_RUN_DIR (BD-rate of `feature-texture` L2 vs the control).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from lamina.codecs.hyperprior import Hyperprior
from lamina.data.datasets import load_dataset
from lamina.metrics.bdrate import bd_rate
from lamina.metrics.perceptual import lpips_alex
from lamina.metrics.pixel import ms_ssim, psnr

sys.path.insert(0, str(Path(__file__).parent))
from scalable_vs_direct import _read  # noqa: E402

METRICS = {"psnr": psnr, "ms_ssim": ms_ssim, "lpips_alex": lpips_alex}


def main(run: str, control: str, count: int = 100) -> None:
    run_path = Path(run)
    faces = [item.image() for item in load_dataset("celeba-test", limit=count)]
    points = []
    for path in sorted(Path(control).glob("control-q*.pt")):
        codec = Hyperprior(quality=int(path.stem.rsplit("q", 1)[1]), weights=path)
        rows = []
        for face in faces:
            stream = codec.encode(face)
            decoded = codec.decode(stream.to_bytes())
            rows.append([stream.bpp()] + [float(f(face, decoded)) for f in METRICS.values()])
        points.append(np.mean(rows, axis=0))
    points.sort(key=lambda p: p[0])
    control_curve = np.array(points)
    summary = [r for r in _read(run_path / "summary.csv") if r["codec"] == "feature-texture" and r["layer"] == 2]
    summary.sort(key=lambda r: r["bpp"])
    result = {"control_points": [dict(zip(["bpp", *METRICS], map(float, p))) for p in control_curve],
              "scalable_points": [{k: r[k] for k in ["bpp", *METRICS]} for r in summary], "bd_rate_percent": {}}
    for i, metric in enumerate(METRICS, start=1):
        sign = -1.0 if metric == "lpips_alex" else 1.0
        qa, qt = sign * control_curve[:, i], sign * np.array([r[metric] for r in summary])
        ok = np.all(np.diff(qa) > 0) and np.all(np.diff(qt) > 0)
        result["bd_rate_percent"][metric] = round(bd_rate(control_curve[:, 0], qa, np.array([r["bpp"] for r in summary]),
                                                          qt, method="pchip"), 2) if ok else None
    (run_path / "residual_control.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = ["| feature-texture vs | " + " | ".join(f"BD-rate {m}" for m in METRICS) + " |", "|---|---|---|---|",
             "| hyperprior fine-tuned identically on the faces (control) | " + " | ".join(
                 "–" if v is None else f"{v:+.1f}%" for v in result["bd_rate_percent"].values()) + " |"]
    (run_path / "residual_control.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(json.dumps(result["control_points"], indent=1))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 100)
