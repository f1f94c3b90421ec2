"""Signed order-0 Exp-Golomb codes (zigzag: 0, -1, 1, -2, 2, ... -> 0, 1, 2, 3, 4, ...), for the few small integers
the face codecs send beside their entropy-coded payloads (lamina.codecs.reframe's transforms, lamina.codecs.geometry's
increments). Bits are handled as a '0'/'1' text: these blocks are tens of values long."""
from __future__ import annotations

from ..errors import BitstreamError

MAX_ZEROS = 40   # a longer prefix than any value needs: damage, not a value


def bits(values) -> str:
    """The codes of `values` (ints), concatenated."""
    out = []
    for value in values:
        value = int(value)
        n = (2 * value if value >= 0 else -2 * value - 1) + 1
        out.append("0" * (n.bit_length() - 1) + format(n, "b"))
    return "".join(out)


def to_bytes(text: str) -> bytes:
    """A bit text padded with zeros to whole bytes."""
    text += "0" * (-len(text) % 8)
    return int(text, 2).to_bytes(len(text) // 8, "big") if text else b""


def text(data: bytes) -> str:
    return "".join(format(b, "08b") for b in data)


def read(text: str, pos: int, count: int, what: str) -> tuple[list[int], int]:
    """(`count` values decoded from `text` at `pos`, the position after them); BitstreamError when the text ends
    inside a code or a prefix is implausibly long."""
    values = []
    for _ in range(count):
        zeros = 0
        while pos < len(text) and text[pos] == "0":
            zeros += 1
            pos += 1
        if zeros > MAX_ZEROS or pos + zeros + 1 > len(text):
            raise BitstreamError(f"{what} are truncated or corrupted")
        n = int(text[pos:pos + zeros + 1], 2) - 1
        pos += zeros + 1
        values.append(n // 2 if n % 2 == 0 else -(n + 1) // 2)
    return values, pos


def check_padding(text: str, pos: int, what: str) -> int:
    """The number of whole bytes up to `pos`, after checking that the padding to them is zeros."""
    used = -(-pos // 8)
    if "1" in text[pos:used * 8]:
        raise BitstreamError(f"{what} have stray bits: stream is corrupted")
    return used
