"""Coverage-guided fuzzing of lamina's stream parser and payload decoders with atheris (issue 15, item 8).

    .venv/bin/pip install atheris
    .venv/bin/python scripts/fuzz.py parse -atheris_runs=1000000 -rss_limit_mb=2048 -timeout=10
    .venv/bin/python scripts/fuzz.py video-header -atheris_runs=200000
    .venv/bin/python scripts/fuzz.py payload:latent-flow -atheris_runs=3000     # (slow: a network per run)
    .venv/bin/python scripts/fuzz.py payload:progressive-mask --instrument-all -atheris_runs=10000 -timeout=30

Targets:
- `parse`: Bitstream.parse on arbitrary bytes (seeded with real streams of several codecs, container v2 and v1;
  `--seed-again` adds the current seeds to an existing corpus);
- `video-header`: both face codecs' video codec-header readers on arbitrary headers of a real video container;
- `payload:CODEC`: CODEC.decode of a real stream's container whose layer payloads are replaced by the fuzzer's
  bytes (valid CRCs, so the payload decoder itself is exercised);
- `video:CODEC`: the same for CODEC.decode_video on a 4-frame clip (latent-flow, stylegan-scalable, codebook-svr),
  each layer either forged whole or frame by frame inside its per-frame packing (so the frames' decoders run).

Coverage guidance covers lamina.bitstream only, unless `--instrument-all` instruments every loaded Python function
(the codecs' own payload parsing too; slower per run).

The only exception allowed out of a target is lamina's BitstreamError; anything else is a crash (atheris
stops, prints the input and writes crash-*). Seeds are written to fuzz/corpus/TARGET/ on first use (commit them).
"""
from __future__ import annotations

import sys
from pathlib import Path

import atheris

with atheris.instrument_imports():
    from lamina.bitstream import Bitstream, Layer, Reader, pack_payloads
    from lamina.errors import BitstreamError

CORPUS = Path(__file__).resolve().parents[1] / "fuzz" / "corpus"


def _face():
    from lamina.data.datasets import load_dataset
    return load_dataset("utk-test", limit=1)[0].image()


def _clip() -> list:
    """Four 128x128 frames of a shared talking-face clip, aligned into the face framing (a short real video)."""
    from lamina.data.datasets import data_root
    from lamina.video import read_video
    from lamina.vision.align import align_clip
    frames, _ = read_video(data_root() / "video" / "lp_d0.mp4", max_frames=4)
    return align_clip(frames, 128)


def _split(payload: bytes) -> list[bytes] | None:
    """A video layer's per-frame payloads when it is a pack_payloads sequence, else None."""
    reader, out = Reader(payload), []
    try:
        while reader.pos < len(payload):
            out.append(reader.take(reader.varint("length"), "frame"))
    except BitstreamError:
        return None
    return out


def seeds(target: str) -> list[bytes]:
    import lamina
    face = _face()
    if target == "parse":  # both container versions (v2 is what lamina writes; v1 files stay readable)
        streams = [lamina.load(name, **kw).encode(face) for name, kw in
                   (("jpeg", {"quality": 30}), ("latent-flow", {"quality": 1}), ("mean-scale", {"quality": 1}),
                    ("progressive-mask", {"quality": 1}))]
        return [s.to_bytes() for s in streams] + [s.as_version(1).to_bytes() for s in streams[:3]]
    if target == "video-header":
        return [bytes([1, 3, 2, 0, 0xA8, 0xC3, 0x01]), bytes([1, 3, 2, 0xA8, 0xC3, 0x01])]
    if target.startswith("video:"):
        return [layer.payload for layer in lamina.load(target.split(":", 1)[1]).encode_video(_clip(), 25.0).layers]
    return [layer.payload for layer in lamina.load(target.split(":", 1)[1]).encode(face).layers]


def make_target(target: str):
    if target == "parse":
        def run(data: bytes) -> None:
            try:
                Bitstream.parse(data)
            except BitstreamError:
                pass
        return run
    if target == "video-header":
        from lamina.bitstream import KIND_VIDEO
        from lamina.codecs.latent_flow.video import video_header as lf_header
        from lamina.codecs.stylegan_scalable.video import video_header as sg_header

        def run(data: bytes) -> None:
            for codec, reader in (("latent-flow", lf_header), ("stylegan-scalable", sg_header)):
                stream = Bitstream(codec, 256, 256, (Layer("basic", b""),), kind=KIND_VIDEO, codec_header=data)
                try:
                    reader(stream)
                except BitstreamError:
                    pass
        return run
    if target.startswith(("payload:", "video:")):
        import lamina
        kind, name = target.split(":", 1)
        codec = lamina.load(name)
        if kind == "video":
            base, decode = codec.encode_video(_clip(), 25.0), codec.decode_video
            parts = [_split(layer.payload) for layer in base.layers]
        else:
            base, decode = codec.encode(_face()), codec.decode
            parts = [None] * len(base.layers)

        def run(data: bytes) -> None:
            fdp = atheris.FuzzedDataProvider(data)
            layers = []
            for layer, frames in zip(base.layers, parts):
                if frames is None or fdp.ConsumeBool():  # the whole layer's bytes
                    payload = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 4 * len(layer.payload)))
                else:  # a video layer: keep the per-frame packing, forge each frame's payload
                    payload = pack_payloads([fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 4 * len(f) + 8))
                                             for f in frames])
                layers.append(Layer(layer.name, payload))
            stream = Bitstream(base.codec, base.height, base.width, tuple(layers), model_id=base.model_id,
                               codec_header=base.codec_header, kind=base.kind)
            try:
                decode(stream.to_bytes())
            except BitstreamError:
                pass
        return run
    raise SystemExit(f"unknown target {target!r}: parse, video-header, payload:CODEC or video:CODEC")


def main() -> None:
    target, rest = sys.argv[1], sys.argv[2:]
    deep = "--instrument-all" in rest
    rest = [arg for arg in rest if arg != "--instrument-all"]
    again = "--seed-again" in rest
    rest = [arg for arg in rest if arg != "--seed-again"]
    corpus = CORPUS / target.replace(":", "-")
    if not corpus.exists() or again:
        corpus.mkdir(parents=True, exist_ok=True)
        import hashlib
        for seed in seeds(target):
            (corpus / f"seed-{hashlib.sha256(seed).hexdigest()[:12]}").write_bytes(seed)
    run = make_target(target)
    if deep:  # coverage of every loaded Python function (the codecs' payload parsing too), not only the container's
        atheris.instrument_all()
    atheris.Setup([sys.argv[0], *rest, str(corpus)], run)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
