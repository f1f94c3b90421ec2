"""Where each learned codec spends its time on one 256x256 face (one torch thread, lamina's default), beside VVC in
the same process: median encode/decode of `--repeat` runs after a warm-up (models loaded and cached), decode of the
first layer alone, decode with the PyTorch reference runtime (LAMINA_RUNTIME=torch) beside the default (ONNX Runtime
for the TAEF2 decoder), and cProfile's top entries (cumulative time, lamina's and torch's own functions) of one
warm encode and one warm decode.

Usage: python benchmarks/speed/profile_codecs.py --out docs/results/speed [--repeat 5] [--top 12]
Writes profile.json (timings and top entries per codec) and profile.md (the table and the top entries).
"""
from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import statistics
import time
from pathlib import Path

SETTINGS = [("vvc", 63), ("av1", 63), ("hyperprior", 2), ("mean-scale", 2), ("feature-texture", 2),
            ("stylegan-scalable", 3), ("latent-flow", 3), ("codebook-svr", 3), ("progressive-mask", 3)]


def timed(fn, repeat: int) -> float:
    fn()  # warm-up: weights loaded, caches filled
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def top_entries(fn, top: int) -> list[dict]:
    profile = cProfile.Profile()
    profile.enable()
    fn()
    profile.disable()
    stats = pstats.Stats(profile)
    total = stats.total_tt
    rows = []
    for (path, line, name), (_, calls, own, cumulative, _) in stats.stats.items():
        if "lamina" not in path and "torch/nn" not in path and "constriction" not in path and "compressai" not in path:
            continue
        where = path.split("site-packages/")[-1].split("/lamina/")[-1]
        rows.append({"function": f"{where}:{line}({name})", "calls": calls, "own_s": round(own, 4),
                     "cumulative_s": round(cumulative, 4), "share": round(cumulative / total, 3) if total else None})
    rows.sort(key=lambda r: -r["cumulative_s"])
    return rows[:top]


def main() -> None:
    import torch
    import lamina
    from lamina.data.datasets import load_dataset
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args()
    torch.set_num_threads(1)
    face = load_dataset("celeba-test", limit=1)[0].image()
    results = []
    for name, quality in SETTINGS:
        codec = lamina.load(name, quality=quality)
        data = codec.encode(face).to_bytes()
        entry = {"codec": name, "quality": quality, "bytes": len(data),
                 "encode_s": timed(lambda: codec.encode(face), args.repeat),
                 "decode_s": timed(lambda: codec.decode(data), args.repeat)}
        os.environ["LAMINA_RUNTIME"] = "torch"
        entry["decode_torch_s"] = timed(lambda: codec.decode(data), args.repeat)
        del os.environ["LAMINA_RUNTIME"]
        layers = lamina.Bitstream.parse(data).available_layers
        if layers > 1:
            entry["decode_layer1_s"] = timed(lambda: codec.decode(data, layers=1), args.repeat)
        entry["encode_top"] = top_entries(lambda: codec.encode(face), args.top)
        entry["decode_top"] = top_entries(lambda: codec.decode(data), args.top)
        results.append(entry)
        print(name, quality, f"enc {entry['encode_s'] * 1000:.0f} ms dec {entry['decode_s'] * 1000:.0f} ms", flush=True)
    vvc = results[0]
    for entry in results:
        entry["decode_vs_vvc"] = round(entry["decode_s"] / vvc["decode_s"], 2)
        entry["encode_vs_vvc"] = round(entry["encode_s"] / vvc["encode_s"], 2)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "profile.json").write_text(json.dumps({"face": "celeba-test[0], 256x256", "threads": 1,
                                                  "repeat": args.repeat, "codecs": results}, indent=1) + "\n")
    lines = ["| codec | q | bytes | encode ms | decode ms | decode ms, PyTorch runtime | layer 1 ms | decode / VVC | "
             "encode / VVC |", "|---|---|---|---|---|---|---|---|---|"]
    for e in results:
        layer1 = f"{e['decode_layer1_s'] * 1000:.0f}" if "decode_layer1_s" in e else "-"
        lines.append(f"| {e['codec']} | {e['quality']} | {e['bytes']} | {e['encode_s'] * 1000:.0f} | "
                     f"{e['decode_s'] * 1000:.0f} | {e['decode_torch_s'] * 1000:.0f} | {layer1} | {e['decode_vs_vvc']} | "
                     f"{e['encode_vs_vvc']} |")
    for e in results[2:]:
        for kind in ("decode", "encode"):
            lines += ["", f"**{e['codec']} q{e['quality']} {kind}** (cumulative s, share of the call)", ""]
            lines += [f"- {r['function']}: {r['cumulative_s']:.4f} s ({100 * (r['share'] or 0):.0f}%), {r['calls']} calls"
                      for r in e[f"{kind}_top"]]
    (out / "profile.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
