"""Encode/decode time per 256x256 face for every registered codec, as ratios to JPEG in the same run.

Usage: python benchmarks/speed/bench_speed.py [--images 20] [--repeat 3] [--device cpu|cuda] [--out DIR]
Faces: the first N celeba-test images (256x256). Each codec runs at its default setting; learned codecs
at their highest committed quality. Times are medians over images of the best of `repeat` runs,
single-threaded torch on CPU (the machine the project targets). With --device cuda, learned codecs are
also timed on the GPU with batch sizes 1 and 64 (network + entropy coding per image).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def time_codec(codec, faces, repeat: int) -> tuple[float, float, float]:
    enc, dec, bpp = [], [], []
    for face in faces:
        stream = codec.encode(face)
        data = stream.to_bytes()
        enc.append(best_of(lambda: codec.encode(face), repeat))
        dec.append(best_of(lambda: codec.decode(data), repeat))
        bpp.append(stream.bpp())
    return float(np.median(enc)), float(np.median(dec)), float(np.mean(bpp))


def gpu_batches(codec, faces, batch: int, repeat: int) -> tuple[float, float]:
    """Seconds per image to compress/decompress a batch on the GPU (network + rANS)."""
    x = torch.from_numpy(np.stack([faces[i % len(faces)] for i in range(batch)])).permute(0, 3, 1, 2)
    x = x.float().div(255).cuda()
    net = codec.network
    with torch.no_grad():
        out = net.compress(x)
        torch.cuda.synchronize()
        enc = best_of(lambda: (net.compress(x), torch.cuda.synchronize()), repeat)
        dec = best_of(lambda: (net.decompress(out["strings"], out["shape"]), torch.cuda.synchronize()), repeat)
    return enc / batch, dec / batch


def main() -> None:
    from lamina.codecs.classic import encoder_versions
    from lamina.data.datasets import load_dataset
    from lamina.registry import codec_class, load, names
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", default="runs/speed")
    args = parser.parse_args()
    torch.set_num_threads(1)
    faces = [item.image() for item in load_dataset("celeba-test", limit=args.images)]
    assert all(f.shape == (256, 256, 3) for f in faces)
    rows = []
    for name in names():
        cls = codec_class(name)
        quality = max(cls.bench_grid()) if getattr(cls, "accepts_device", False) else None
        codec = load(name, quality=quality)
        enc, dec, bpp = time_codec(codec, faces, args.repeat)
        rows.append({"codec": name, "device": "cpu", "batch": 1, "quality": codec.quality, "bpp": bpp,
                     "encode_s": enc, "decode_s": dec})
        if args.device == "cuda" and getattr(cls, "accepts_device", False):
            gpu = load(name, quality=quality, device="cuda")
            for batch in (1, 64):
                enc, dec = gpu_batches(gpu, faces, batch, args.repeat)
                rows.append({"codec": name, "device": torch.cuda.get_device_name(), "batch": batch,
                             "quality": gpu.quality, "bpp": None, "encode_s": enc, "decode_s": dec})
    jpeg = next(r for r in rows if r["codec"] == "jpeg")
    for row in rows:
        row["encode_x_jpeg"] = row["encode_s"] / jpeg["encode_s"]
        row["decode_x_jpeg"] = row["decode_s"] / jpeg["decode_s"]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "speed.json").write_text(json.dumps({"images": args.images, "repeat": args.repeat, "rows": rows,
                                                "encoders": encoder_versions()}, indent=2) + "\n")
    lines = [f"# Speed per 256x256 face ({args.images} celeba-test faces, best of {args.repeat}, median over faces)",
             "", "Ratios are to JPEG (Pillow, quality 75) measured in the same run; torch single-threaded.", "",
             "| codec | device | batch | quality | bpp | encode ms | decode ms | encode x JPEG | decode x JPEG |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        bpp = f"{r['bpp']:.3f}" if r["bpp"] is not None else "–"
        lines.append(f"| {r['codec']} | {r['device']} | {r['batch']} | {r['quality']} | {bpp} | "
                     f"{1000 * r['encode_s']:.2f} | {1000 * r['decode_s']:.2f} | {r['encode_x_jpeg']:.1f} | "
                     f"{r['decode_x_jpeg']:.1f} |")
    (out / "speed.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
