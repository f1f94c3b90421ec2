"""`lamina demo`: one face, every registered codec at its lowest setting, scored for humans and machines."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .imageio import labelled_grid, load_image, save_image, write_atomic

DEMO_METRICS = ("psnr", "lpips_alex", "identity_dlib", "landmarks_dlib")


def demo_face(image_path: str | None = None) -> np.ndarray:
    """The demo photo: scikit-image's astronaut (ships inside the package), or a given file."""
    if image_path:
        return load_image(image_path)
    from skimage import data
    return np.ascontiguousarray(data.astronaut())


def run_demo(out: Path, image_path: str | None = None, codecs: list[str] | None = None) -> list[dict]:
    """Align the demo face, code it with every codec (lowest setting, all layers), write PNGs + table."""
    from .batching import run_batched
    from .registry import codec_class, load, names
    from .vision.align import align_face
    from .vision.evaluators import Evaluator
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    face = align_face(demo_face(image_path), size=256)
    save_image(face, out / "original.png")
    evaluator = Evaluator(DEMO_METRICS)
    ref = evaluator.reference(face)
    rows, tiles = [], [("original", face)]

    def coded(name: str) -> tuple[int, list[tuple[bytes, np.ndarray]]]:
        """The codec's quality and (stream, decoded image) of every layer prefix."""
        codec = load(name, quality=codec_class(name).lowest_setting())
        stream = codec.encode(face)
        prefixes = [stream.truncate(k).to_bytes() for k in range(1, stream.available_layers + 1)]
        return codec.quality, [(data, codec.decode(data, layers=k)) for k, data in enumerate(prefixes, 1)]
    chosen = list(codecs or names())
    # two codecs at a time in threads (lamina.batching): the same streams and images, on two cores
    for name, (quality, layers) in zip(chosen, run_batched(coded, chosen, batch=2)):
        for k, (data, decoded) in enumerate(layers, 1):
            label = name if len(layers) == 1 else f"{name} L{k}"
            scores = evaluator.score(ref, decoded)
            rows.append({"codec": label, "quality": quality, "bytes": len(data),
                         "bpp": 8 * len(data) / (face.shape[0] * face.shape[1]), "psnr": scores["psnr"],
                         "lpips_alex": scores["lpips_alex"], "identity_kept": bool(scores["id_dlib_kept"]),
                         "nme_dlib": scores["nme_dlib"]})
            save_image(decoded, out / f"{label.replace(' ', '_')}.png")
            tiles.append((f"{label} {len(data)} B", decoded))
    _side_by_side(tiles, out / "side_by_side.png")
    _write_table(rows, out)
    print(f"demo written to {out.resolve()}/ (side_by_side.png, results.md, results.json)")
    print((out / "results.md").read_text())
    return rows


def _side_by_side(tiles, path: Path, columns: int = 5) -> None:
    labelled_grid([tiles[i:i + columns] for i in range(0, len(tiles), columns)], path, caption=18)


def _write_table(rows, out: Path) -> None:
    lines = ["| codec | quality | bytes | bpp | PSNR (dB) | LPIPS-alex | identity kept (dlib) | NME (dlib) |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['codec']} | {r['quality']} | {r['bytes']} | {r['bpp']:.4f} | {r['psnr']:.2f} | "
                     f"{r['lpips_alex']:.4f} | {'yes' if r['identity_kept'] else 'no'} | {r['nme_dlib']:.4f} |")
    write_atomic(out / "results.md", ("\n".join(lines) + "\n").encode())
    write_atomic(out / "results.json", (json.dumps(rows, indent=2) + "\n").encode())
