"""False-accept rate of the container's checks on random corruptions (issue 27): for each codec's stream of a
shared face (and Kodak for the natural-image codecs), N random corruptions of each kind, parsed with
Bitstream.parse (v1 and v2); a corruption the parser accepts is a false accept (a changed stream taken as valid;
the codec's payload decoder may still refuse it, which is not counted here).

Kinds: one random bit flipped anywhere in the file; one random byte replaced by another value; a burst of 2-16
random bytes overwritten at a random place; the file cut at a random length (v1/v2: a cut at a layer boundary is a
valid shorter stream and is not counted).

    .venv/bin/python benchmarks/container/corruption.py --trials 100000 --out docs/results/container
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

import lamina
from lamina.bitstream import Bitstream
from lamina.data.datasets import load_dataset
from lamina.errors import BitstreamError

CODECS = [("vvc", 63), ("jpeg", 30), ("hyperprior", 2), ("feature-texture", None), ("stylegan-scalable", 3),
          ("latent-flow", 4), ("codebook-svr", 1), ("progressive-mask", 1)]
ON_KODAK = {"vvc", "codebook-svr"}  # the others on the face only (the parser's Python CRC-8 makes big files slow)


def corrupt(data: bytes, kind: str, rng: np.random.Generator) -> bytes:
    out = bytearray(data)
    if kind == "bit":
        position = int(rng.integers(len(out)))
        out[position] ^= 1 << int(rng.integers(8))
    elif kind == "byte":
        position = int(rng.integers(len(out)))
        out[position] = (out[position] + int(rng.integers(1, 256))) % 256
    elif kind == "burst":
        size = int(rng.integers(2, 17))
        start = int(rng.integers(0, max(1, len(out) - size)))
        out[start:start + size] = rng.integers(0, 256, size).astype(np.uint8).tobytes()
    else:  # cut
        return bytes(out[:int(rng.integers(len(out)))])
    return bytes(out)


def boundaries(stream: Bitstream) -> set[int]:
    """Offsets where a cut of the whole file leaves complete payloads (a valid shorter stream, not a corruption)."""
    header = len(stream.header_bytes())
    return {header + sum(len(layer.payload) for layer in stream.layers[:k]) for k in range(1, len(stream.layers) + 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=100000, help="random bit flips per codec and image, v2")
    parser.add_argument("--other", type=int, default=20000, help="trials of every other kind, and of v1")
    parser.add_argument("--out", default="docs/results/container")
    args = parser.parse_args()
    images = {"face": load_dataset("utk-test", limit=1)[0].image(), "kodak": load_dataset("kodak", limit=1)[0].image()}
    rows = []
    for name, quality in CODECS:
        codec = lamina.load(name, quality=quality)
        for label, image in images.items():
            if label == "kodak" and name not in ON_KODAK:
                continue
            stream = codec.encode(image)
            for version in (1, 2):
                written = stream.as_version(version)
                data = written.to_bytes()
                cuts = boundaries(written)
                rng = np.random.default_rng(0)
                for kind in ("bit", "byte", "burst", "cut"):
                    accepted = 0
                    trials = args.trials if (kind, version) == ("bit", 2) else args.other
                    for _ in range(trials):
                        bad = corrupt(data, kind, rng)
                        if kind == "cut" and len(bad) in cuts:
                            trials -= 1
                            continue
                        try:
                            Bitstream.parse(bad)
                        except BitstreamError:
                            continue
                        accepted += 1
                    rows.append({"codec": name, "image": label, "version": version, "bytes": len(data),
                                 "header": written.header_size(), "kind": kind, "trials": trials,
                                 "accepted": accepted, "rate": accepted / max(trials, 1)})
                    print(json.dumps(rows[-1]), flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "corruption.json").write_text(json.dumps({"trials_per_kind": args.trials, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
