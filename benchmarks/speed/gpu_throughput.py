"""Issue 25 item 3: throughput of every learned codec on a GPU beside the CPU, in one run, and whether streams
coded on the GPU are the CPU's streams.

For each codec setting: encode + decode of N utk-test faces (256x256) and M Kodak images (768x512; the face codecs
code faces only), one image at a time and `--batch` images at a time (`encode_many` / `decode_many`,
lamina.batching: on a GPU the TAEF2 encoder and decoder run once per group of same-sized images; on the CPU the
images run side by side in threads, one torch thread each), on `--device` and on the CPU in the same process. Per codec it reports faces/s and Kodak images/s on each device (warm:
models loaded before the clock starts), how many GPU-encoded streams are byte-identical to the CPU's, whether every
GPU-encoded stream decodes on the CPU, and the largest pixel difference between the GPU's and the CPU's decoding of
the same stream, and whether the batched pass gave the same streams and pixels as one image at a time. A codec
that fails on the device is reported with its error instead of stopping the run.

Usage (on a machine with CUDA; e.g. through the device tool, with the shared data beside the repository):
  python benchmarks/speed/gpu_throughput.py --device cuda --faces 32 --kodak 4 --batch 8 --out runs/gpu-throughput
Writes gpu_throughput.json (and prints it). Without --device it measures the CPU alone (a dry run of the script).
"""
from __future__ import annotations

import argparse
import json
import time
import traceback
from pathlib import Path

import numpy as np

SETTINGS = [("hyperprior", 2), ("mean-scale", 2), ("feature-texture", 2), ("stylegan-scalable", 3),
            ("latent-flow", 3), ("codebook-svr", 3), ("progressive-mask", 3)]
FACE_ONLY = {"feature-texture", "stylegan-scalable", "latent-flow"}


def throughput(codec, images: list[np.ndarray], batch: int = 1) -> tuple[float, float, list[bytes], list[np.ndarray]]:
    """(encodes/s, decodes/s, the streams, their decoded images) of one warm pass over images, `batch` at a time."""
    codec.decode(codec.encode(images[0]).to_bytes())  # warm-up: weights on the device, caches filled
    start = time.perf_counter()
    streams = [s.to_bytes() for s in codec.encode_many(images, batch=batch)]
    middle = time.perf_counter()
    decoded = codec.decode_many(streams, batch=batch)
    end = time.perf_counter()
    return len(images) / (middle - start), len(images) / (end - middle), streams, decoded


def rates(codec, images, batch: int) -> tuple[dict, list[bytes], list[np.ndarray]]:
    """One image at a time and `batch` at a time: rates, and whether the batched pass changed anything."""
    enc, dec, streams, decoded = throughput(codec, images)
    out = {"encode_per_s": round(enc, 2), "decode_per_s": round(dec, 2)}
    if batch > 1:
        enc, dec, batched_streams, batched = throughput(codec, images, batch)
        out.update({f"encode_per_s_batch{batch}": round(enc, 2), f"decode_per_s_batch{batch}": round(dec, 2),
                    "batched_streams_identical": f"{sum(a == b for a, b in zip(batched_streams, streams))}/"
                                                 f"{len(streams)}",
                    "batched_max_pixel_difference": max(int(np.abs(a.astype(np.int16) - b).max())
                                                        for a, b in zip(decoded, batched))})
        if getattr(codec, "device", "cpu") == "cpu":  # on the CPU the images run side by side; grouped decoding measured beside it
            start = time.perf_counter()
            grouped = codec.decode_many(streams, batch=batch, group=True)
            out[f"decode_per_s_batch{batch}_grouped"] = round(len(images) / (time.perf_counter() - start), 2)
            out["grouped_max_pixel_difference"] = max(int(np.abs(a.astype(np.int16) - b).max())
                                                      for a, b in zip(decoded, grouped))
    return out, streams, decoded


def measure(name: str, quality: int, device: str, sets: dict[str, list[np.ndarray]], batch: int = 1) -> dict:
    import lamina
    row: dict = {"codec": name, "quality": quality}
    cpu = lamina.load(name, quality=quality)
    other = lamina.load(name, quality=quality, device=device) if device != "cpu" else None
    for label, images in sets.items():
        if not images or (label == "kodak" and name in FACE_ONLY):
            continue
        row[label] = {"cpu": None}
        row[label]["cpu"], cpu_streams, _ = rates(cpu, images, batch)
        if other is None:
            continue
        row[label][device], streams, decoded = rates(other, images, batch)
        same = sum(a == b for a, b in zip(streams, cpu_streams))
        worst = 0
        for data, on_device in zip(streams, decoded):  # a GPU-coded stream must decode anywhere: on the CPU here
            difference = cpu.decode(data).astype(np.int16) - on_device.astype(np.int16)
            worst = max(worst, int(np.abs(difference).max()))
        row[label]["streams_identical_to_cpu"] = f"{same}/{len(streams)}"
        row[label]["decodes_on_cpu"] = True
        row[label]["max_pixel_difference_gpu_vs_cpu_decode"] = worst
    return row


def main() -> None:
    import torch

    from lamina.data.datasets import load_dataset
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cpu", help="cuda, cuda:N (or cpu: the CPU alone)")
    parser.add_argument("--faces", type=int, default=32)
    parser.add_argument("--kodak", type=int, default=4)
    parser.add_argument("--batch", type=int, default=8, help="images per encode_many / decode_many call")
    parser.add_argument("--codecs", nargs="*", default=None, help="names (default: every learned codec)")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    torch.set_num_threads(1)  # lamina's default on the CPU; the GPU rows are not limited by it
    from lamina.codecs.face_codec import require_framed_face
    from lamina.errors import NoFaceError
    faces = []
    for item in load_dataset("utk-test"):  # the first N faces the face codecs accept (in the shared framing)
        image = item.image()
        try:
            require_framed_face(image)
        except NoFaceError:
            continue
        faces.append(image)
        if len(faces) == args.faces:
            break
    kodak = [item.image() for item in load_dataset("kodak", limit=args.kodak)]
    sets = {"faces": faces, "kodak": kodak}
    info = {"device": args.device, "gpu": torch.cuda.get_device_name(args.device) if args.device != "cpu" else None,
            "torch": torch.__version__, "faces": len(faces), "kodak": len(kodak), "batch": args.batch, "rows": []}
    for name, quality in SETTINGS:
        if args.codecs and name not in args.codecs:
            continue
        try:
            info["rows"].append(measure(name, quality, args.device, sets, args.batch))
        except Exception as exc:  # noqa: BLE001 - reported per codec, the run goes on
            info["rows"].append({"codec": name, "quality": quality, "error": f"{type(exc).__name__}: {exc}",
                                 "where": traceback.format_exc(limit=-3)})
        print(json.dumps(info["rows"][-1]), flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "gpu_throughput.json").write_text(json.dumps(info, indent=1) + "\n")


if __name__ == "__main__":
    main()
