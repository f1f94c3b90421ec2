"""latent-flow video's open-loop residual bytes under the paper's Irwin-Hall pmf and the adaptive model
(lamina.codecs.latent_flow.residual) on the training clips (VIDEO_TRAIN_CLIPS, 50 aligned frames), per quality and
GOP; both models code the same residual values (the adaptive model's clamp never triggered here: `clamped`).

    python benchmarks/latent_flow/residual_probe.py --out docs/results/video/probe-latent-flow-residual
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def tail_bytes(payloads: list[list[bytes]], gop: int) -> int:
    from lamina.bitstream import Reader
    total = 0
    for frames in payloads:
        for t, payload in enumerate(frames):
            if t and t % gop == 0:
                reader = Reader(payload)
                reader.take(reader.varint("length"), "body")
                total += len(payload) - reader.pos
    return total


def main() -> None:
    import torch

    import lamina
    from lamina import zoo
    from lamina.bench.video import CLIP_SETS, load_clip
    from lamina.codecs.latent_flow import residual as residual_model
    from lamina.codecs.latent_flow.video import clip_proxies, code_proxies
    from lamina.data.datasets import VIDEO_TRAIN_CLIPS
    from lamina.paths import data_root
    torch.set_num_threads(1)
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--frames", type=int, default=50)
    parser.add_argument("--gops", type=int, nargs="+", default=[5, 10, 25])
    args = parser.parse_args()
    folder = data_root(None) / CLIP_SETS["talking-faces"][0]
    clips = {name: load_clip(folder / name, args.frames, True)[0] for name in VIDEO_TRAIN_CLIPS}
    rows = []
    for q in zoo.qualities("latent-flow"):
        codec = lamina.load("latent-flow", quality=q)
        for name, frames in clips.items():
            proxies = clip_proxies(codec, frames)
            for gop in args.gops:
                row = {"quality": q, "clip": name, "gop": gop, "frames": len(frames)}
                for model in residual_model.RESIDUALS:
                    payloads, _, residuals = code_proxies(codec.model, proxies, gop, "open", model)
                    row[f"{model}_residual_bytes"] = tail_bytes(payloads, gop)
                    row[f"{model}_stream_bytes"] = sum(len(p) for frames_ in payloads for p in frames_)
                    if model == "irwin-hall":
                        values = np.concatenate(residuals) if residuals else np.zeros(0)
                        row["residual_values"] = int(values.size)
                        row["zeros"] = round(float((values == 0).mean()), 4) if values.size else None
                        row["clamped"] = int((np.abs(values) > residual_model.half_width(gop)).sum())
                row["saving"] = round(1 - row["adaptive_residual_bytes"] / row["irwin-hall_residual_bytes"], 4)
                print(json.dumps(row), flush=True)
                rows.append(row)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "residual_bytes.json").write_text(json.dumps(rows, indent=1))
    lines = ["| quality | GOP | zeros | Irwin-Hall residual B | adaptive residual B | saving | style layers kbit/s (25 fps), IH -> adaptive |",
             "|---|---|---|---|---|---|---|"]
    for q in sorted({r["quality"] for r in rows}):
        for gop in args.gops:
            sel = [r for r in rows if r["quality"] == q and r["gop"] == gop]
            ih, ad = (sum(r[f"{m}_residual_bytes"] for r in sel) for m in ("irwin-hall", "adaptive"))
            kbps = [np.mean([8 * r[f"{m}_stream_bytes"] / r["frames"] * 25 / 1000 for r in sel])
                    for m in ("irwin-hall", "adaptive")]
            zeros = np.mean([r["zeros"] for r in sel if r["zeros"] is not None])
            lines.append(f"| {q} | {gop} | {zeros:.2f} | {ih} | {ad} | {100 * (1 - ad / ih):.0f}% | "
                         f"{kbps[0]:.2f} -> {kbps[1]:.2f} |")
    (out / "residual_bytes.md").write_text("(sums over the 3 training clips; kbit/s = the mean clip's three style "
                                           "layers' payloads, no container)\n\n" + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
