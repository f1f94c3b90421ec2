"""Pictures of latent-flow on utk-test faces: original | the prior's projection G(E(x)) | latent-flow at every
committed quality | its basic layer alone (best quality) | stylegan-scalable q3 | VVC at its lowest rate; bytes in
the captions.

Usage: python benchmarks/latent_flow/pictures.py OUT_DIR [--faces 6] [--offset 0]
Writes OUT_DIR/faces.png.
"""
from __future__ import annotations

import argparse
from pathlib import Path


def main() -> None:
    from lamina import load
    from lamina.codecs.latent_flow.codec import LatentFlow
    from lamina.data.datasets import load_dataset
    from lamina.errors import NoFaceError
    from lamina.imageio import labelled_grid

    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--faces", type=int, default=6)
    parser.add_argument("--offset", type=int, default=0, help="first utk-test face shown")
    parser.add_argument("--vvc-qp", type=int, default=63)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    qualities = LatentFlow.bench_grid()
    flows = {q: load("latent-flow", quality=q) for q in qualities}
    stylegan = load("stylegan-scalable", quality=3)
    vvc = load("vvc", quality=args.vvc_qp)
    rows = []
    for item in load_dataset("utk-test", limit=args.offset + 4 * args.faces)[args.offset:]:
        face = item.image()
        try:
            streams = {q: codec.encode(face) for q, codec in flows.items()}
        except NoFaceError:
            continue
        top = flows[qualities[-1]]
        row = [("original", face), ("projection G(E(x))", top.render(top.styles_of(face), 3, *face.shape[:2]))]
        for q, stream in streams.items():
            data = stream.to_bytes()
            row.append((f"latent-flow q{q} {len(data)} B", flows[q].decode(data)))
        basic = streams[qualities[-1]].truncate(1).to_bytes()
        row.append((f"q{qualities[-1]} basic {len(basic)} B", top.decode(basic)))
        data = stylegan.encode(face).to_bytes()
        row.append((f"stylegan-sc. q3 {len(data)} B", stylegan.decode(data)))
        data = vvc.encode(face).to_bytes()
        row.append((f"VVC QP{args.vvc_qp} {len(data)} B", vvc.decode(data)))
        rows.append(row)
        if len(rows) == args.faces:
            break
    labelled_grid(rows, out / "faces.png")


if __name__ == "__main__":
    main()
