"""lamina container, version 1: header, layer table with CRC-32 per layer, concatenated payloads.

Layout (all integers unsigned LEB128 varints unless a width is given), see docs/bitstream.md:

    magic "LMNA" | version u8 | codec (varint len + UTF-8) | model id (8 bytes) | kind u8
    | height varint | width varint | codec header (varint len + bytes) | layer count u8
    | layer records: name (varint len + UTF-8), payload length varint, CRC-32 (4 bytes, big endian)
    | payloads, in layer order

A stream cut after payload k parses as a valid k-layer stream (the layer table still names all
layers; `available_layers` tells how many payloads are complete).
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass, field, replace

from .errors import BitstreamError

MAGIC = b"LMNA"
VERSION = 1
KIND_IMAGE = 0
KIND_VIDEO = 1
MODEL_ID_SIZE = 8
ZERO_MODEL_ID = bytes(MODEL_ID_SIZE)
MAX_LAYERS = 255
# Sanity bounds so a corrupted varint cannot make the parser allocate or loop absurdly.
MAX_DIMENSION = 1 << 20
MAX_NAME_BYTES = 255
# Decompression-bomb guards, checked before a decoder allocates anything: a coded image holds at most as many
# pixels as lamina accepts as input (64 MP), a decoded clip at most MAX_VIDEO_PIXELS (frames x height x width,
# 3 GB of uint8 RGB).
MAX_PIXELS = 64 * 1024 * 1024
MAX_VIDEO_PIXELS = 1 << 30


def check_video_size(stream: "Bitstream", frames: int) -> None:
    """BitstreamError when a video header's frame count x the coded size exceeds MAX_VIDEO_PIXELS."""
    if frames * stream.height * stream.width > MAX_VIDEO_PIXELS:
        raise BitstreamError(f"video claims {frames} frames of {stream.width}x{stream.height}, above the decoding "
                             f"limit of {MAX_VIDEO_PIXELS} pixels: stream is corrupted or forged")


def encode_varint(value: int) -> bytes:
    """Unsigned LEB128 encoding of a non-negative integer."""
    if value < 0:
        raise ValueError(f"varint must be non-negative, got {value}")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


class Reader:
    """Cursor over bytes that raises BitstreamError (never IndexError) when data runs out: how codecs read
    their codec headers and payload framing."""

    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def take(self, n: int, what: str) -> bytes:
        if self.pos + n > len(self.data):
            raise BitstreamError(f"truncated stream: {what} needs {n} bytes at offset {self.pos}, "
                                 f"only {len(self.data) - self.pos} left")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def varint(self, what: str) -> int:
        result = 0
        shift = 0
        for _ in range(10):  # 70 bits is far beyond any field lamina writes
            (byte,) = self.take(1, what)
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return result
            shift += 7
        raise BitstreamError(f"malformed varint in {what} at offset {self.pos}")

    def text(self, what: str) -> str:
        n = self.varint(f"{what} length")
        if n > MAX_NAME_BYTES:
            raise BitstreamError(f"{what} is {n} bytes long, limit is {MAX_NAME_BYTES}")
        raw = self.take(n, what)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BitstreamError(f"{what} is not valid UTF-8") from exc


    def finish(self, what: str) -> None:
        """BitstreamError when bytes are left over after the last field of `what`."""
        if self.pos != len(self.data):
            raise BitstreamError(f"{what}: {len(self.data) - self.pos} unexpected trailing bytes")


def decode_varint_exact(data: bytes, what: str) -> int:
    """Decode bytes that must hold exactly one varint."""
    reader = Reader(data)
    value = reader.varint(what)
    reader.finish(what)
    return value


def pack_payloads(payloads: list[bytes]) -> bytes:
    """Several payloads in one: varint length + bytes each."""
    return b"".join(encode_varint(len(p)) + p for p in payloads)


def unpack_payloads(data: bytes, count: int, what: str) -> list[bytes]:
    """Inverse of pack_payloads for exactly `count` payloads; BitstreamError otherwise."""
    reader = Reader(data)
    out = [reader.take(reader.varint(f"{what} length"), what) for _ in range(count)]
    reader.finish(what)
    return out


@dataclass(frozen=True)
class Layer:
    """One layer record: its name and payload bytes."""

    name: str
    payload: bytes

    @property
    def crc32(self) -> int:
        """CRC-32 of the payload, as stored in the layer table."""
        return zlib.crc32(self.payload) & 0xFFFFFFFF


@dataclass(frozen=True)
class Bitstream:
    """A parsed or to-be-written lamina stream."""

    codec: str
    height: int
    width: int
    layers: tuple[Layer, ...]
    model_id: bytes = ZERO_MODEL_ID
    kind: int = KIND_IMAGE
    codec_header: bytes = b""
    # Names of every layer the encoder wrote; longer than `layers` for a truncated stream.
    declared_layers: tuple[str, ...] = field(default=())

    def __post_init__(self):
        if len(self.model_id) != MODEL_ID_SIZE:
            raise ValueError(f"model id must be {MODEL_ID_SIZE} bytes")
        if not self.declared_layers:
            object.__setattr__(self, "declared_layers", tuple(layer.name for layer in self.layers))
        if not 0 < len(self.declared_layers) <= MAX_LAYERS:
            raise ValueError(f"a stream holds 1..{MAX_LAYERS} layers")
        if not (0 < self.height <= MAX_DIMENSION and 0 < self.width <= MAX_DIMENSION):
            raise ValueError(f"bad coded size {self.height}x{self.width}")

    @property
    def available_layers(self) -> int:
        """How many layer payloads this stream holds completely."""
        return len(self.layers)

    def layer(self, name: str) -> Layer:
        """The layer with this name; BitstreamError if absent."""
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise BitstreamError(f"stream has no layer named {name!r} (has {[l.name for l in self.layers]})")

    def truncate(self, k: int) -> "Bitstream":
        """A stream holding only the first k layers (its header then declares exactly k layers)."""
        if not 1 <= k <= len(self.layers):
            raise BitstreamError(f"cannot keep {k} layers: stream holds {len(self.layers)}")
        kept = self.layers[:k]
        return replace(self, layers=kept, declared_layers=tuple(l.name for l in kept))

    def header_bytes(self) -> bytes:
        """Everything before the payloads, for the layers this stream holds."""
        out = bytearray(MAGIC)
        out.append(VERSION)
        name = self.codec.encode("utf-8")
        out += encode_varint(len(name)) + name
        out += self.model_id
        out.append(self.kind)
        out += encode_varint(self.height) + encode_varint(self.width)
        out += encode_varint(len(self.codec_header)) + self.codec_header
        out.append(len(self.layers))
        for layer in self.layers:
            layer_name = layer.name.encode("utf-8")
            out += encode_varint(len(layer_name)) + layer_name
            out += encode_varint(len(layer.payload))
            out += layer.crc32.to_bytes(4, "big")
        return bytes(out)

    def to_bytes(self) -> bytes:
        """Serialize the stream (only the layers it holds, so a truncated stream is self-consistent)."""
        return self.header_bytes() + b"".join(layer.payload for layer in self.layers)

    def layer_sizes(self) -> list[tuple[str, int]]:
        """(name, payload bytes) for each layer held."""
        return [(layer.name, len(layer.payload)) for layer in self.layers]

    def bytes_up_to(self, k: int) -> int:
        """Size in bytes of the file that `truncate(k).to_bytes()` would write."""
        return len(self.truncate(k).to_bytes())

    @classmethod
    def parse(cls, data: bytes, allow_partial: bool = True) -> "Bitstream":
        """Parse bytes; a stream cut between payloads keeps its complete layers when allow_partial.

        Raises BitstreamError for a wrong magic, unknown version, malformed header, CRC mismatch,
        a stream cut inside its header or first payload, or trailing garbage.
        """
        data = bytes(data)
        reader = Reader(data)
        magic = reader.take(4, "magic")
        if magic != MAGIC:
            raise BitstreamError(f"not a lamina stream (magic {magic!r}, expected {MAGIC!r})")
        (version,) = reader.take(1, "version")
        if version != VERSION:
            raise BitstreamError(f"unsupported container version {version} (this lamina reads {VERSION})")
        codec = reader.text("codec name")
        if not codec:
            raise BitstreamError("empty codec name")
        model_id = reader.take(MODEL_ID_SIZE, "model id")
        (kind,) = reader.take(1, "kind")
        if kind not in (KIND_IMAGE, KIND_VIDEO):
            raise BitstreamError(f"unknown stream kind {kind}")
        height = reader.varint("height")
        width = reader.varint("width")
        if not (0 < height <= MAX_DIMENSION and 0 < width <= MAX_DIMENSION):
            raise BitstreamError(f"implausible coded size {height}x{width}")
        if height * width > MAX_PIXELS:
            raise BitstreamError(f"coded size {width}x{height} is above the limit of {MAX_PIXELS} pixels: "
                                 f"stream is corrupted or forged")
        header_len = reader.varint("codec header length")
        codec_header = reader.take(header_len, "codec header")
        (count,) = reader.take(1, "layer count")
        if count == 0:
            raise BitstreamError("stream declares no layers")
        records = []
        for index in range(count):
            name = reader.text(f"layer {index + 1} name")
            length = reader.varint(f"layer {index + 1} length")
            crc = int.from_bytes(reader.take(4, f"layer {index + 1} CRC"), "big")
            records.append((name, length, crc))
        layers = []
        for index, (name, length, crc) in enumerate(records):
            remaining = len(data) - reader.pos
            if remaining < length:
                if allow_partial and layers and remaining == 0:
                    break  # cut exactly after a complete payload: a valid shorter stream
                raise BitstreamError(f"truncated stream: layer {index + 1} ({name!r}) needs {length} bytes, "
                                     f"{remaining} present")
            payload = reader.take(length, f"layer {index + 1} payload")
            if zlib.crc32(payload) & 0xFFFFFFFF != crc:
                raise BitstreamError(f"CRC mismatch in layer {index + 1} ({name!r}): payload is corrupted")
            layers.append(Layer(name, payload))
        if reader.pos != len(data):
            raise BitstreamError(f"{len(data) - reader.pos} unexpected bytes after the last payload")
        return cls(codec=codec, height=height, width=width, layers=tuple(layers), model_id=model_id,
                   kind=kind, codec_header=codec_header, declared_layers=tuple(r[0] for r in records))

    def bpp(self, k: int | None = None) -> float:
        """Bits per pixel of the whole file with k layers (all held layers when None)."""
        k = len(self.layers) if k is None else k
        return 8.0 * self.bytes_up_to(k) / (self.height * self.width)


def read_stream(path) -> Bitstream:
    """Read and parse a .lmn file; missing files raise InputError."""
    from .errors import InputError
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError as exc:
        raise InputError(f"no such file: {path}") from exc
    except IsADirectoryError as exc:
        raise InputError(f"is a directory, not a stream: {path}") from exc
    return Bitstream.parse(data)
