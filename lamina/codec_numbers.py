"""The codec numbers of container version 2: one byte names the codec instead of its registry name.

APPEND-ONLY. A number, once given, names that codec for ever: never reuse, renumber or remove one (a retired codec
keeps its number), so that every v2 stream ever written keeps naming the same codec. tests/test_bitstream.py holds a
frozen copy and fails when an existing entry changes. Codecs without a number (plugins, test codecs) are written
with number 0 followed by their name."""
from __future__ import annotations

CODEC_NUMBERS: dict[str, int] = {
    "jpeg": 1,
    "jpeg2000": 2,
    "webp": 3,
    "avif": 4,
    "heic": 5,
    "jpegxl": 6,
    "vvc": 7,
    "hevc": 8,
    "av1": 9,
    "hyperprior": 10,
    "mean-scale": 11,
    "feature-texture": 12,
    "stylegan-scalable": 13,
    "latent-flow": 14,
    "codebook-svr": 15,
    "progressive-mask": 16,
}
NAMED = 0  # the codec's name follows as text
CODEC_NAMES: dict[int, str] = {number: name for name, number in CODEC_NUMBERS.items()}
