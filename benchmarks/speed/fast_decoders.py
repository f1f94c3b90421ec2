"""What the faster TAEF2 decoders (`--decoder int8 | lite | lite-int8`, lamina.nn.taef2.DECODERS) buy and cost,
beside the reference decoder and VVC in the same process, one torch thread:

- time: median of `--repeat` warm decodes of the same stream (whole stream, and the first layer alone for the face
  codecs), on a 256x256 face (celeba-test[0]) and, for the natural-image codecs, on Kodak's kodim23 (768x512),
  with VVC's decode of the same image as the ratio's anchor, timed two ways: through an ffmpeg process (the
  anchor of issue 25's targets) and in-process (PyAV, how lamina decodes VVC now);
- quality: PSNR and LPIPS-alex against the original, and PSNR against the reference decoder's image, over the
  first `--faces` celeba-test faces in which the face codecs find a face (and `--kodak` Kodak images for the natural-image codecs). Streams are coded
  once: every decoder reads the same bytes.

Usage: python benchmarks/speed/fast_decoders.py --out docs/results/speed/fast-decoders [--faces 8] [--kodak 4]
Writes fast_decoders.json (rows), fast_decoders.md (the tables) and pictures.png (per codec, the first image:
original, then each decoder's image; Kodak as its 256x256 centre crop).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from profile_codecs import timed  # the sibling script's median of warm runs

FACE_CODECS = [("stylegan-scalable", 3), ("latent-flow", 3), ("codebook-svr", 3), ("progressive-mask", 3)]
NATURAL_CODECS = [("codebook-svr", 3), ("progressive-mask", 3)]
ANCHORS = {"face": ("vvc", 63), "kodak": ("vvc", 51)}


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(((a.astype(float) - b.astype(float)) ** 2).mean())
    return 10 * np.log10(255 ** 2 / max(mse, 1e-10))


def framed_faces(items, count: int) -> list:
    """The first `count` faces the face codecs accept (a face found in the shared framing)."""
    from lamina.errors import NoFaceError
    from lamina.vision.face import require_framed_face
    chosen = []
    for item in items:
        try:
            require_framed_face(item.image())
        except NoFaceError:
            continue
        chosen.append(item.image())
        if len(chosen) == count:
            break
    return chosen


def main() -> None:
    import torch
    import lamina
    from lamina.data.datasets import load_dataset
    from lamina.metrics.perceptual import lpips_alex
    from lamina.nn import taef2
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--faces", type=int, default=8)
    parser.add_argument("--kodak", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--decoders", default=",".join(taef2.DECODERS))
    args = parser.parse_args()
    torch.set_num_threads(1)
    decoders = args.decoders.split(",")
    for name in decoders:
        taef2.check_decoder(name)
    sets = {"face": framed_faces(load_dataset("celeba-test", limit=4 * args.faces), args.faces)}
    kodak = load_dataset("kodak")
    sets["kodak"] = [kodak[22].image()] + [item.image() for item in kodak[:max(args.kodak - 1, 0)]]
    rows, strips = [], []
    for which, settings in (("face", FACE_CODECS), ("kodak", NATURAL_CODECS)):
        images = sets[which]
        anchor = lamina.load(*ANCHORS[which][:1], quality=ANCHORS[which][1])
        anchor_data = anchor.encode(images[0]).to_bytes()
        anchor_payload = lamina.Bitstream.parse(anchor_data).layers[0].payload
        h, w = images[0].shape[:2]
        # The anchor: VVC decoded by an ffmpeg process (as lamina did until the in-process decoder),
        # and lamina's VVC decode today (in-process, PyAV): both timed in this run.
        anchor_s = timed(lambda: anchor.decompress_with_process(anchor_payload, h, w), args.repeat)
        in_process_s = timed(lambda: anchor.decode(anchor_data), args.repeat)
        print(which, "anchor", ANCHORS[which], f"{anchor_s * 1000:.0f} ms (process), "
              f"{in_process_s * 1000:.1f} ms (in-process)", flush=True)
        for codec_name, quality in settings:
            codec = lamina.load(codec_name, quality=quality)
            streams = [codec.encode(image).to_bytes() for image in images]
            layers = lamina.Bitstream.parse(streams[0]).available_layers
            references = [codec.decode(data) for data in streams]
            strip = [images[0]]
            for decoder in decoders:
                row = {"images": which, "codec": codec_name, "quality": quality, "decoder": decoder,
                       "bytes_mean": float(np.mean([len(d) for d in streams])),
                       "anchor": f"{ANCHORS[which][0]} {ANCHORS[which][1]}", "anchor_decode_s": round(anchor_s, 4),
                       "anchor_in_process_s": round(in_process_s, 5),
                       "decode_s": round(timed(lambda: codec.decode(streams[0], decoder=decoder), args.repeat), 4)}
                if which == "face" and layers > 1 and codec_name in ("stylegan-scalable", "latent-flow"):
                    row["decode_layer1_s"] = round(timed(lambda: codec.decode(streams[0], layers=1, decoder=decoder),
                                                         args.repeat), 4)
                decoded = [codec.decode(data, decoder=decoder) for data in streams]
                strip.append(decoded[0])
                row["decode_vs_anchor"] = round(row["decode_s"] / anchor_s, 2)
                row["decode_vs_in_process_anchor"] = round(row["decode_s"] / in_process_s, 1)
                row["psnr"] = round(float(np.mean([psnr(o, d) for o, d in zip(images, decoded)])), 3)
                row["lpips_alex"] = round(float(np.mean([lpips_alex(o, d) for o, d in zip(images, decoded)])), 4)
                row["psnr_vs_reference"] = round(float(np.mean([psnr(r, d) for r, d in zip(references, decoded)])), 2)
                rows.append(row)
                print(json.dumps(row), flush=True)
            strips.append((f"{which} {codec_name} q{quality}", strip))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "fast_decoders.json").write_text(json.dumps({"threads": 1, "repeat": args.repeat, "faces": args.faces,
                                                        "kodak": args.kodak, "rows": rows}, indent=1) + "\n")
    lines = ["| images | codec | q | decoder | decode ms | / VVC (process) | / VVC (in-process) | layer 1 ms | PSNR | "
             "LPIPS-alex | PSNR vs reference decoder |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        layer1 = f"{r['decode_layer1_s'] * 1000:.0f}" if "decode_layer1_s" in r else "-"
        lines.append(f"| {r['images']} | {r['codec']} | {r['quality']} | {r['decoder']} | {r['decode_s'] * 1000:.0f} | "
                     f"{r['decode_vs_anchor']} | {r['decode_vs_in_process_anchor']} | {layer1} | {r['psnr']:.2f} | "
                     f"{r['lpips_alex']:.4f} | {r['psnr_vs_reference']:.1f} |")
    anchors = sorted({(r["images"], r["anchor"], r["anchor_decode_s"], r["anchor_in_process_s"]) for r in rows})
    lines += [""] + [f"VVC anchor, {images} ({anchor}): {process * 1000:.1f} ms through an ffmpeg process, "
                     f"{in_process * 1000:.2f} ms in-process" for images, anchor, process, in_process in anchors]
    (out / "fast_decoders.md").write_text("\n".join(lines) + "\n")
    pictures(strips, ["original", *decoders], out / "pictures.png")


def pictures(strips, columns, path) -> None:
    """One row per (images, codec): 256x256 tiles (Kodak's centre crop), column titles on top."""
    from PIL import Image, ImageDraw
    tile, title = 256, 18
    sheet = Image.new("RGB", (tile * len(columns), title + (tile + title) * len(strips)), "white")
    draw = ImageDraw.Draw(sheet)
    for c, name in enumerate(columns):
        draw.text((c * tile + 4, 2), name, fill="black")
    for r, (label, images) in enumerate(strips):
        top = title + r * (tile + title)
        draw.text((4, top + 2), label, fill="black")
        for c, image in enumerate(images):
            h, w = image.shape[:2]
            y, x = max((h - tile) // 2, 0), max((w - tile) // 2, 0)
            sheet.paste(Image.fromarray(image[y:y + tile, x:x + tile]), (c * tile, top + title))
    sheet.save(path, optimize=True)


if __name__ == "__main__":
    main()
