"""The index coding table of docs/results/codebook-svr: bits per codebook index on held-out images under
fixed-length codes, the static categorical of the training frequencies, the paper's Gaussian mixture over
zig-zag-mapped frequency ranks (fitted to the training histogram), and the order-0 adaptive categorical that
the stream uses (real bytes for the static and adaptive coders, ideal code length for the mixture).

    python benchmarks/codebook_svr/indexbits.py --out docs/results/codebook-svr/index-coding.json
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np



def main() -> None:
    import torch

    import lamina
    from lamina import zoo
    from lamina.codecs.codebook_svr import indexcoding as ic
    from lamina.imageio import pad_to
    from lamina.data.datasets import load_dataset
    torch.set_num_threads(1)
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--sets", nargs="*", default=["kodak:1", "bsds500-test:5", "imagenette-test:16"])
    args = parser.parse_args()
    table = []
    seen = set()
    for q in zoo.qualities("codebook-svr"):
        codec = lamina.load("codebook-svr", quality=q)
        book = (codec.model.config["grid"], codec.model.config["codes"], codec.model.codebook.sum().item())
        if book in seen:
            continue
        seen.add(book)
        prior = codec.model.index_probabilities()
        gmm = ic.fit_gmm(codec.model.index_counts.numpy())
        for spec in args.sets:
            name, stride = spec.split(":")
            bits = {"fixed": 0.0, "categorical": 0.0, "gmm": 0.0, "adaptive": 0.0}
            count = pixels = 0
            for item in load_dataset(name)[::int(stride)]:
                image = item.image()
                idx = codec.indices_of(pad_to(image, codec.multiple)).numpy().ravel()
                bits["fixed"] += np.ceil(np.log2(len(prior))) * len(idx)
                bits["categorical"] += 8 * len(ic.encode_indices(idx, prior))
                bits["gmm"] += ic.bits_static(idx, gmm)
                bits["adaptive"] += 8 * len(ic.encode_adaptive(idx, prior))
                count += len(idx)
                pixels += image.shape[0] * image.shape[1]
            row = {"codebook": f"grid {book[0]} (1/{8 * book[0]} side), K = {book[1]}", "set": name,
                   "images": len(load_dataset(name)[::int(stride)]), "indices": count,
                   **{f"{k}_bits_per_index": v / count for k, v in bits.items()},
                   "adaptive_bpp": bits["adaptive"] / pixels}
            print(json.dumps(row), flush=True)
            table.append(row)
    Path(args.out).write_text(json.dumps(table, indent=1))


if __name__ == "__main__":
    main()
