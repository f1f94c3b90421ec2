"""lamina container: version 2 (written by default; a few bytes of header, for streams of 100-1,000 bytes) and
version 1 (read and written on request). See docs/bitstream.md; all integers are unsigned LEB128 varints unless a
width is given.

Version 1:

    magic "LMNA" | version u8 | codec (varint len + UTF-8) | model id (8 bytes) | kind u8
    | height varint | width varint | codec header (varint len + bytes) | layer count u8
    | layer records: name (varint len + UTF-8), payload length varint, CRC-32 (4 bytes, big endian)
    | payloads, in layer order

Version 2:

    "L" | flags u8: 0b11 (version 2), video, model id present, last length explicit, layer count (3 bits, 0: varint
    after the codec) | codec number varint (lamina.codec_numbers; 0: varint len + UTF-8 name follows)
    | [layer count varint] | [model id: first 3 bytes] | size u8 (aspect 2 bits: 1:1, 3:2, 2:3, 0 explicit;
    short side / 8 - 1 in 6 bits) [+ height varint, width varint when explicit] | codec header (varint len + bytes)
    | lengths: varint per layer but the last; the last: its length mod 256 (u8), or a varint when explicit
    | CRC-16/CCITT-FALSE over every header byte before it and payload 1 (big endian) | CRC-8 of each later payload
    | payloads

Layer names are not written in v2: they are the codec's layer spec (registered by the codec, LAYER_NAMES). The
last layer's length is implied by the end of the file and checked by its residue mod 256 and its CRC; an empty
last layer is written with an explicit length.

A stream cut after payload k parses as a valid k-layer stream (the header still declares all layers;
`available_layers` tells how many payloads are complete).
"""
from __future__ import annotations

import binascii
import zlib
from dataclasses import dataclass, field, replace

from ._version import __version__
from .codec_numbers import CODEC_NAMES, CODEC_NUMBERS, NAMED
from .errors import BitstreamError

MAGIC = b"LMNA"            # version 1
MAGIC_V2 = b"L"            # version 2: then a flags byte whose top two bits are 0b11
VERSION = 2                # what lamina writes by default
VERSIONS = (1, 2)          # what lamina reads
MODEL_ID_SIZE_V2 = 3       # v2 writes the model id's first 3 bytes: a fingerprint (committed ids are tested unique)
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
# v2 size byte: aspect code -> (width, height) multipliers of the short side.
ASPECTS = {1: (1, 1), 2: (3, 2), 3: (2, 3)}
SIZE_UNIT = 8
# Layer names by codec, registered by the codecs (codecs.base.register): v2 streams carry only the layer count.
LAYER_NAMES: dict[str, tuple[str, ...]] = {}


def crc8(data: bytes) -> int:
    """CRC-8 (polynomial 0x07, init 0, the SMBus CRC-8): every 1-bit error and every burst up to 8 bits is caught."""
    crc = 0
    table = _CRC8_TABLE
    for byte in data:
        crc = table[crc ^ byte]
    return crc


def _crc8_table() -> bytes:
    out = bytearray()
    for value in range(256):
        crc = value
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
        out.append(crc)
    return bytes(out)


_CRC8_TABLE = _crc8_table()


def crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE (polynomial 0x1021, init 0xFFFF): every burst up to 16 bits is caught."""
    return binascii.crc_hqx(data, 0xFFFF)


def layer_names(codec: str, count: int) -> tuple[str, ...]:
    """Names of a v2 stream's first `count` layers: the codec's registered spec, `layerK` beyond it."""
    spec = LAYER_NAMES.get(codec, ())
    return tuple(spec[i] if i < len(spec) else f"layer{i + 1}" for i in range(count))


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
    # Container version: what a parsed stream was read from, what to_bytes writes.
    version: int = VERSION

    def __post_init__(self):
        if self.version not in VERSIONS:
            raise ValueError(f"container version must be one of {VERSIONS}")
        if len(self.model_id) not in (MODEL_ID_SIZE, MODEL_ID_SIZE_V2):
            raise ValueError(f"model id must be {MODEL_ID_SIZE} (or, read from a v2 stream, {MODEL_ID_SIZE_V2}) bytes")
        if not self.declared_layers:
            object.__setattr__(self, "declared_layers", tuple(layer.name for layer in self.layers))
        if not 0 < len(self.declared_layers) <= MAX_LAYERS:
            raise ValueError(f"a stream holds 1..{MAX_LAYERS} layers")
        if not (0 < self.height <= MAX_DIMENSION and 0 < self.width <= MAX_DIMENSION):
            raise ValueError(f"bad coded size {self.height}x{self.width}")

    def matches_model(self, model_id: bytes) -> bool:
        """Whether weights with this (8-byte) model id are the ones the stream names (v2 streams name a prefix)."""
        return len(self.model_id) > 0 and model_id[:len(self.model_id)] == self.model_id

    @property
    def has_model(self) -> bool:
        """Whether the stream names weights (learned codecs) rather than none (classic codecs)."""
        return any(self.model_id)

    def named(self, names: tuple[str, ...]) -> "Bitstream":
        """The same stream with its layers named by a codec's spec (v2 streams carry only their count)."""
        declared = tuple(names[:len(self.declared_layers)])
        layers = tuple(Layer(name, layer.payload) for name, layer in zip(declared, self.layers))
        return replace(self, layers=layers, declared_layers=declared)

    def as_version(self, version: int) -> "Bitstream":
        """The same stream to be written in another container version (payloads unchanged)."""
        if version == 1 and len(self.model_id) != MODEL_ID_SIZE:
            raise BitstreamError("a stream read from version 2 names only a prefix of its model id: it cannot be "
                                 "written as version 1")
        return replace(self, version=version)

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
        return self._header_v2() if self.version == 2 else self._header_v1()

    def _header_v2(self) -> bytes:
        count = len(self.layers)
        last = self.layers[-1].payload
        explicit = len(last) == 0
        model = self.has_model
        flags = 0xC0 | (self.kind << 5) | (model << 4) | (explicit << 3) | (count if count <= 7 else 0)
        out = bytearray(MAGIC_V2)
        out.append(flags)
        number = CODEC_NUMBERS.get(self.codec, NAMED)
        out += encode_varint(number)
        if number == NAMED:
            name = self.codec.encode("utf-8")
            out += encode_varint(len(name)) + name
        if count > 7:
            out += encode_varint(count)
        if model:
            if not any(self.model_id[:MODEL_ID_SIZE_V2]):
                raise ValueError("a model id whose first 3 bytes are zero cannot be written in version 2")
            out += self.model_id[:MODEL_ID_SIZE_V2]
        out += _size_bytes(self.height, self.width)
        out += encode_varint(len(self.codec_header)) + self.codec_header
        for layer in self.layers[:-1]:
            out += encode_varint(len(layer.payload))
        out += encode_varint(0) if explicit else bytes([len(last) & 0xFF])
        out += crc16(bytes(out) + self.layers[0].payload).to_bytes(2, "big")
        out += bytes(crc8(layer.payload) for layer in self.layers[1:])
        return bytes(out)

    def _header_v1(self) -> bytes:
        if len(self.model_id) != MODEL_ID_SIZE:
            raise BitstreamError("a stream read from version 2 cannot be written as version 1")
        out = bytearray(MAGIC)
        out.append(1)
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

    def header_size(self, k: int | None = None) -> int:
        """Header bytes of the file with k layers (all held layers when None): the file less its payloads."""
        k = len(self.layers) if k is None else k
        return len(self.truncate(k).header_bytes())

    @classmethod
    def parse(cls, data: bytes, allow_partial: bool = True) -> "Bitstream":
        """Parse bytes; a stream cut between payloads keeps its complete layers when allow_partial.

        Raises BitstreamError for a wrong magic, unknown version, malformed header, CRC mismatch,
        a stream cut inside its header or first payload, or trailing garbage.
        """
        data = bytes(data)
        if data[:1] == MAGIC_V2 and len(data) > 1 and data[1] >> 6 == 0b11:
            return cls._parse_v2(data, allow_partial)
        reader = Reader(data)
        magic = reader.take(4, "magic")
        if magic != MAGIC:
            if data[:1] == MAGIC_V2 and len(data) > 1 and data[1] >> 6 == 0b10:
                raise BitstreamError(f"unsupported container version (flags {data[1]:#04x}): written by a newer "
                                     f"lamina than this one (reads versions {', '.join(map(str, VERSIONS))})")
            raise BitstreamError(f"not a lamina stream (starts with {data[:4]!r}; expected {MAGIC_V2!r} + flags, "
                                 f"or {MAGIC!r})")
        (version,) = reader.take(1, "version")
        if version != 1:
            raise BitstreamError(f"unsupported container version {version} (this lamina reads "
                                 f"{', '.join(map(str, VERSIONS))})")
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
                   kind=kind, codec_header=codec_header, declared_layers=tuple(r[0] for r in records), version=1)

    @classmethod
    def _parse_v2(cls, data: bytes, allow_partial: bool) -> "Bitstream":
        reader = Reader(data)
        reader.take(1, "magic")
        (flags,) = reader.take(1, "flags")
        kind, model, explicit, count = (flags >> 5) & 1, (flags >> 4) & 1, (flags >> 3) & 1, flags & 7
        number = reader.varint("codec number")
        if number == NAMED:
            codec = reader.text("codec name")
            if not codec:
                raise BitstreamError("empty codec name")
        elif number in CODEC_NAMES:
            codec = CODEC_NAMES[number]
        else:
            raise BitstreamError(f"unknown codec number {number}: the stream was written by a lamina newer than "
                                 f"this one ({__version__}, which knows codec numbers 1-{max(CODEC_NAMES)})")
        if count == 0:
            count = reader.varint("layer count")
            if not 8 <= count <= MAX_LAYERS:
                raise BitstreamError(f"implausible layer count {count}")
        model_id = reader.take(MODEL_ID_SIZE_V2, "model id") if model else ZERO_MODEL_ID
        height, width = _read_size(reader)
        header_len = reader.varint("codec header length")
        codec_header = reader.take(header_len, "codec header")
        lengths = [reader.varint(f"layer {index + 1} length") for index in range(count - 1)]
        last = reader.varint(f"layer {count} length") if explicit else reader.take(1, f"layer {count} length")[0]
        checked = reader.pos
        check1 = int.from_bytes(reader.take(2, "layer 1 CRC-16"), "big")
        checks = list(reader.take(count - 1, "layer CRC-8s"))
        payload_start = reader.pos
        names = layer_names(codec, count)
        layers = []
        for index in range(count):
            remaining = len(data) - reader.pos
            if index < count - 1 or explicit:
                length = lengths[index] if index < count - 1 else last
            elif remaining == 0 and layers and allow_partial:
                break  # cut exactly after a complete payload (the last one is never empty unless explicit)
            else:
                length = remaining
                if length == 0 or length & 0xFF != last:
                    raise BitstreamError(f"truncated or corrupted stream: layer {count} ({names[index]!r}) has "
                                         f"{length} bytes, its header says {last} mod 256")
            if remaining < length:
                if allow_partial and layers and remaining == 0:
                    break
                raise BitstreamError(f"truncated stream: layer {index + 1} ({names[index]!r}) needs {length} bytes, "
                                     f"{remaining} present")
            payload = reader.take(length, f"layer {index + 1} payload")
            if index == 0:
                if crc16(data[:checked] + payload) != check1:
                    raise BitstreamError("CRC mismatch in the header or layer 1 "
                                         f"({names[0]!r}): stream is corrupted")
            elif crc8(payload) != checks[index - 1]:
                raise BitstreamError(f"CRC mismatch in layer {index + 1} ({names[index]!r}): payload is corrupted")
            layers.append(Layer(names[index], payload))
        if not layers:
            raise BitstreamError(f"truncated stream: no payload after the header ({payload_start} bytes)")
        if reader.pos != len(data):
            raise BitstreamError(f"{len(data) - reader.pos} unexpected bytes after the last payload")
        return cls(codec=codec, height=height, width=width, layers=tuple(layers), model_id=model_id, kind=kind,
                   codec_header=codec_header, declared_layers=names, version=2)

    def bpp(self, k: int | None = None) -> float:
        """Bits per pixel of the whole file with k layers (all held layers when None)."""
        k = len(self.layers) if k is None else k
        return 8.0 * self.bytes_up_to(k) / (self.height * self.width)


def _size_bytes(height: int, width: int) -> bytes:
    """v2 size: one byte for square, 3:2 and 2:3 images whose short side is a multiple of 8 up to 512 px."""
    short = min(height, width)
    if short % SIZE_UNIT == 0 and short <= 64 * SIZE_UNIT:
        for code, (w_mul, h_mul) in ASPECTS.items():
            unit = short // min(w_mul, h_mul)
            if (unit * h_mul, unit * w_mul) == (height, width):
                return bytes([code << 6 | (short // SIZE_UNIT - 1)])
    return bytes([0]) + encode_varint(height) + encode_varint(width)


def _read_size(reader: Reader) -> tuple[int, int]:
    (code,) = reader.take(1, "size")
    if code >> 6 == 0:
        if code:
            raise BitstreamError(f"malformed size byte {code:#04x}")
        height, width = reader.varint("height"), reader.varint("width")
    else:
        w_mul, h_mul = ASPECTS[code >> 6]
        short = ((code & 0x3F) + 1) * SIZE_UNIT
        unit = short // min(w_mul, h_mul)
        height, width = unit * h_mul, unit * w_mul
    if not (0 < height <= MAX_DIMENSION and 0 < width <= MAX_DIMENSION):
        raise BitstreamError(f"implausible coded size {height}x{width}")
    if height * width > MAX_PIXELS:
        raise BitstreamError(f"coded size {width}x{height} is above the limit of {MAX_PIXELS} pixels: "
                             f"stream is corrupted or forged")
    return height, width


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
