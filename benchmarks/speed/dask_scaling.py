"""Throughput of `lamina bench` on a Dask distributed cluster: the same bench (dataset, codecs, images) on a local
cluster of 1 worker process and of 2 (one thread each), wall time of each from the first task to the report, and
whether the rows are the same (timing columns aside). Needs as many free cores as workers.

Usage: python benchmarks/speed/dask_scaling.py --out docs/results/speed/dask [--images 24] [--codecs jpeg webp vvc]
Writes dask.json into --out: seconds of the whole run, of its report alone (written once more and timed: plots
and tables, the same work for both) and of the coding and scoring (the difference), images/s, speed-ups, and
whether the rows are equal.
"""
from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path


def main() -> None:
    from distributed import LocalCluster
    from lamina.bench.report import write_report
    from lamina.bench.runner import BenchConfig, read_rows, run_bench
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--dataset", default="utk-test")
    parser.add_argument("--images", type=int, default=24)
    parser.add_argument("--codecs", nargs="+", default=["jpeg", "webp", "vvc:57,63"])
    parser.add_argument("--metrics", nargs="+", default=["psnr", "lpips_alex", "landmarks_dlib"])
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp())
    result = {"dataset": args.dataset, "images": args.images, "codecs": args.codecs, "metrics": args.metrics}
    rows = {}
    for workers in (1, 2):
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
            config = BenchConfig(dataset=args.dataset, codecs=args.codecs, metrics=args.metrics, limit=args.images,
                                 out=work / f"w{workers}", scheduler=cluster.scheduler_address, progress=False)
            start = time.perf_counter()
            run_bench(config)
            seconds = time.perf_counter() - start
        start = time.perf_counter()
        write_report(config.out)
        report = time.perf_counter() - start
        rows[workers] = sorted(json.dumps({k: v for k, v in r.items() if k not in ("encode_s", "decode_s")},
                                          sort_keys=True) for r in read_rows(config.out / "results.jsonl"))
        result[f"workers_{workers}"] = {"seconds": round(seconds, 2), "report_s": round(report, 2),
                                        "work_s": round(seconds - report, 2),
                                        "images_per_s": round(args.images / (seconds - report), 3)}
    one, two = result["workers_1"], result["workers_2"]
    result["speedup_2_vs_1"] = round(one["seconds"] / two["seconds"], 3)
    result["speedup_2_vs_1_work"] = round(one["work_s"] / two["work_s"], 3)
    result["rows_equal"] = rows[1] == rows[2]
    (out / "dask.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
