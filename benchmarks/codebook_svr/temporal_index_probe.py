"""Index bytes of codebook-svr video under index coding 0 (per-frame payloads, order-0 adaptive mask and values)
and 1 (lamina.codecs.codebook_svr.temporal: one stream, contextual mask, changed index given the previous one and
its neighbours), on the training clips (VIDEO_TRAIN_CLIPS, 50 aligned frames, the committed --stable). Both coders run on the same index maps, so the difference is the coding alone.

    python benchmarks/codebook_svr/temporal_index_probe.py --out docs/results/video/probe-codebook-svr-index-context
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def main() -> None:
    import torch

    import lamina
    from lamina import zoo
    from lamina.codecs.codebook_svr.video import code_index_maps, stable_index_maps, temporal_coder
    from lamina.bench.video import CLIP_SETS, load_clip
    from lamina.data.datasets import VIDEO_TRAIN_CLIPS
    from lamina.paths import data_root
    from lamina.imageio import pad_to
    torch.set_num_threads(1)
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--frames", type=int, default=50)
    args = parser.parse_args()
    rows = []
    folder = data_root(None) / CLIP_SETS["talking-faces"][0]
    clips = {name: load_clip(folder / name, args.frames, True)[0] for name in VIDEO_TRAIN_CLIPS}
    for q in zoo.qualities("codebook-svr"):
        codec = lamina.load("codebook-svr", quality=q)
        for name, frames in clips.items():
            maps = stable_index_maps(codec, [pad_to(f, codec.multiple) for f in frames], codec.stable)
            payloads, unchanged = code_index_maps(maps, codec.model.index_probabilities())
            old = sum(len(p) for p in payloads) + len(payloads)  # + the varint length of each packed payload
            coder = temporal_coder(codec)
            start = time.perf_counter()
            new = coder.encode(maps)
            encode_s = time.perf_counter() - start
            start = time.perf_counter()
            back = coder.decode(new, len(maps), maps[0].shape)
            decode_s = time.perf_counter() - start
            assert all(np.array_equal(a, b) for a, b in zip(back, maps))
            row = {"quality": q, "clip": name, "frames": len(maps), "indices_per_frame": int(maps[0].size),
                   "unchanged": round(unchanged, 4), "frame0_bytes": len(payloads[0]),
                   "index_coding_0_bytes": old, "index_coding_1_bytes": len(new),
                   "saving": round(1 - len(new) / old, 4),
                   "kbps_0": round(8 * old / len(maps) * 25 / 1000, 2), "kbps_1": round(8 * len(new) / len(maps) * 25 / 1000, 2),
                   "encode_s": round(encode_s, 2), "decode_s": round(decode_s, 2)}
            print(json.dumps(row), flush=True)
            rows.append(row)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "index_bytes.json").write_text(json.dumps(rows, indent=1))
    lines = ["| quality | clip | unchanged | frame 0 B | coding 0 B | coding 1 B | saving | kbit/s 0 -> 1 (25 fps) |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['quality']} | {r['clip']} | {r['unchanged']:.3f} | {r['frame0_bytes']} | "
                     f"{r['index_coding_0_bytes']} | {r['index_coding_1_bytes']} | {100 * r['saving']:.0f}% | "
                     f"{r['kbps_0']} -> {r['kbps_1']} |")
    (out / "index_bytes.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
