import numpy as np
import pytest

from lamina.bitstream import MAGIC, Bitstream, Layer, crc8, crc16, encode_varint
from lamina.errors import BitstreamError

from toy_codec import ToyLayered

VERSIONS = pytest.mark.parametrize("version", [1, 2])


def make_stream(version: int = 2):
    return Bitstream("toy-layered", 48, 40, (Layer("basic", b"\x01" * 7), Layer("middle", b"abc"),
                                             Layer("enhanced", bytes(range(200)))),
                     model_id=bytes(range(1, 9)), codec_header=b"\x05hi", version=version)


def same_stream(parsed: Bitstream, written: Bitstream) -> bool:
    """Equal up to what v2 does not carry: the model id's tail (a prefix is written)."""
    return (parsed.codec, parsed.height, parsed.width, parsed.kind, parsed.codec_header, parsed.layers,
            parsed.declared_layers, parsed.version) == (written.codec, written.height, written.width, written.kind,
                                                          written.codec_header, written.layers,
                                                          written.declared_layers, written.version) \
        and parsed.matches_model(written.model_id)


def test_varint_round_trip_and_known_values():
    from lamina.bitstream import Reader
    assert encode_varint(0) == b"\x00"
    assert encode_varint(127) == b"\x7f"
    assert encode_varint(128) == b"\x80\x01"
    assert encode_varint(300) == b"\xac\x02"
    for value in [0, 1, 127, 128, 16383, 16384, 2**32, 2**56]:
        assert Reader(encode_varint(value)).varint("v") == value
    with pytest.raises(ValueError):
        encode_varint(-1)


def test_layout_v1_matches_spec_byte_for_byte():
    stream = make_stream(1)
    data = stream.to_bytes()
    expected = (MAGIC + b"\x01" + b"\x0btoy-layered" + bytes(range(1, 9)) + b"\x00" + b"\x30\x28"
                + b"\x03\x05hi" + b"\x03")
    assert data.startswith(expected)
    import zlib
    rec1 = b"\x05basic" + b"\x07" + zlib.crc32(b"\x01" * 7).to_bytes(4, "big")
    assert data[len(expected):len(expected) + len(rec1)] == rec1
    assert data.endswith(b"\x01" * 7 + b"abc" + bytes(range(200)))


def test_layout_v2_matches_spec_byte_for_byte():
    stream = make_stream(2)
    data = stream.to_bytes()
    # flags 0b11 0 1 0 011: version 2, image, model id present, last length implied, 3 layers; codec number 0
    # (unnumbered) + name; model id prefix; size: explicit (48 x 40 is not a table aspect); codec header
    head = (b"L" + bytes([0b11010011]) + b"\x00" + b"\x0btoy-layered" + bytes([1, 2, 3]) + b"\x00\x30\x28"
            + b"\x03\x05hi" + b"\x07\x03" + bytes([200]))
    assert data.startswith(head)
    rest = data[len(head):]
    assert rest[:2] == crc16(head + b"\x01" * 7).to_bytes(2, "big")
    assert rest[2:4] == bytes([crc8(b"abc"), crc8(bytes(range(200)))])
    assert rest[4:] == b"\x01" * 7 + b"abc" + bytes(range(200))
    assert stream.header_size() == len(head) + 4 == len(data) - 210


@pytest.mark.parametrize("height, width, size_bytes", [
    (256, 256, bytes([0x40 | 31])), (200, 200, bytes([0x40 | 24])), (512, 768, bytes([0x80 | 63])),
    (768, 512, bytes([0xC0 | 63])), (112, 112, bytes([0x40 | 13])), (1024, 1024, b"\x00\x80\x08\x80\x08"),
    (100, 100, b"\x00\x64\x64"), (480, 640, b"\x00\xe0\x03\x80\x05")])
def test_v2_size_byte(height, width, size_bytes):
    from lamina.bitstream import _size_bytes
    assert _size_bytes(height, width) == size_bytes
    stream = Bitstream("jpeg", height, width, (Layer("image", b"x" * 300),))
    parsed = Bitstream.parse(stream.to_bytes())
    assert (parsed.height, parsed.width) == (height, width)
    # a classic single-layer stream: "L", flags, codec number, size, codec header, length mod 256, CRC-16
    assert stream.header_size() == 2 + 1 + len(size_bytes) + 1 + 1 + 2


def test_v2_empty_last_layer_is_written_with_its_length():
    stream = Bitstream("toy-layered", 16, 16, (Layer("basic", b"ab"), Layer("middle", b"")), model_id=bytes(range(1, 9)))
    data = stream.to_bytes()
    assert data[1] & 0x08  # the "last length explicit" flag
    parsed = Bitstream.parse(data)
    assert parsed.available_layers == 2 and parsed.layers[1].payload == b""
    assert Bitstream.parse(data[:-0 or None]).available_layers == 2


@VERSIONS
def test_parse_round_trip(version):
    stream = make_stream(version)
    parsed = Bitstream.parse(stream.to_bytes())
    assert same_stream(parsed, stream)
    if version == 1:
        assert parsed == stream
    assert parsed.layer_sizes() == [("basic", 7), ("middle", 3), ("enhanced", 200)]


@VERSIONS
def test_truncate_writes_exact_k_layer_stream(version):
    stream = make_stream(version)
    for k in (1, 2, 3):
        cut = stream.truncate(k)
        data = cut.to_bytes()
        parsed = Bitstream.parse(data)
        assert parsed.available_layers == k and parsed.version == version
        assert parsed.declared_layers == ("basic", "middle", "enhanced")[:k]
        assert Bitstream.parse(parsed.truncate(k).to_bytes()).to_bytes() == data  # a parsed stream re-writes as is
        assert len(data) == stream.bytes_up_to(k)
    with pytest.raises(BitstreamError):
        stream.truncate(0)
    with pytest.raises(BitstreamError):
        stream.truncate(4)


@VERSIONS
def test_stream_cut_after_a_payload_keeps_complete_layers(version):
    stream = make_stream(version)
    data = stream.to_bytes()
    header = len(stream.header_bytes())
    parsed = Bitstream.parse(data[:header + 7])
    assert parsed.available_layers == 1 and len(parsed.declared_layers) == 3
    parsed = Bitstream.parse(data[:header + 10])
    assert parsed.available_layers == 2
    with pytest.raises(BitstreamError, match="truncated"):
        Bitstream.parse(data[:header + 5])     # inside layer 1
    with pytest.raises(BitstreamError, match="truncated"):
        Bitstream.parse(data[:-1])             # inside the last layer


@pytest.mark.parametrize("version, mutate, message", [
    (1, lambda d: b"LMNB" + d[4:], "not a lamina stream"),
    (1, lambda d: d[:4] + b"\x02" + d[5:], "unsupported container version"),
    (1, lambda d: d[:-1] + bytes([d[-1] ^ 1]), "CRC mismatch"),
    (1, lambda d: d + b"\x00", "unexpected bytes"),
    (1, lambda d: d[:10], "truncated"),
    (2, lambda d: b"X" + d[1:], "not a lamina stream"),
    (2, lambda d: d[:1] + bytes([d[1] & 0x3F | 0x80]) + d[2:], "newer lamina"),
    (2, lambda d: d[:-1] + bytes([d[-1] ^ 1]), "CRC mismatch in layer 3"),
    (2, lambda d: d[:-50] + bytes([d[-50] ^ 1]) + d[-49:], "CRC mismatch in layer 3"),
    (2, lambda d: d[:20] + bytes([d[20] ^ 1]) + d[21:], "CRC mismatch in the header or layer 1"),
    (2, lambda d: d + b"\x00", "truncated or corrupted"),
    (2, lambda d: d[:10], "truncated"),
    (2, lambda d: b"", "truncated"),
])
def test_errors_say_which(version, mutate, message):
    with pytest.raises(BitstreamError, match=message):
        Bitstream.parse(mutate(make_stream(version).to_bytes()))


FROZEN_CODEC_NUMBERS = {  # what v2 streams already say: never change an entry (append new ones in codec_numbers)
    "jpeg": 1, "jpeg2000": 2, "webp": 3, "avif": 4, "heic": 5, "jpegxl": 6, "vvc": 7, "hevc": 8, "av1": 9,
    "hyperprior": 10, "mean-scale": 11, "feature-texture": 12, "stylegan-scalable": 13, "latent-flow": 14,
    "codebook-svr": 15, "progressive-mask": 16}


def test_codec_numbers_are_append_only_and_cover_every_builtin_codec():
    from lamina import registry
    from lamina.codec_numbers import CODEC_NAMES, CODEC_NUMBERS, NAMED
    for name, number in FROZEN_CODEC_NUMBERS.items():
        assert CODEC_NUMBERS.get(name) == number, f"codec number of {name} changed: numbers are append-only"
    assert len(set(CODEC_NUMBERS.values())) == len(CODEC_NUMBERS) and NAMED not in CODEC_NAMES
    assert min(CODEC_NUMBERS.values()) == 1 and all(n >= max(FROZEN_CODEC_NUMBERS.values())
                                                    for name, n in CODEC_NUMBERS.items()
                                                    if name not in FROZEN_CODEC_NUMBERS)
    assert {cls.name for cls in registry.classes()} <= set(CODEC_NUMBERS)


def test_unknown_codec_number_names_the_reader_version():
    import lamina
    data = bytearray(Bitstream("jpeg", 16, 16, (Layer("image", b"abc"),)).to_bytes())
    data[2] = 120
    with pytest.raises(BitstreamError, match=f"newer than this one \\({lamina.__version__}, which knows codec numbers"):
        Bitstream.parse(bytes(data))


def test_model_id_prefixes_are_unique_and_retired_ids_name_a_lamina_version():
    """v2 names weights by their model id's first 3 bytes: no two committed or retired weights may share them; a
    stream naming retired weights is refused with the commit that still ships them."""
    from lamina import zoo
    from lamina.bitstream import MODEL_ID_SIZE_V2
    ids = [zoo.recorded_id(p) for p in zoo.ROOT.glob("*.pt")] + [bytes.fromhex(e["model_id"])
                                                               for e in zoo.retired_models()]
    prefixes = [i[:MODEL_ID_SIZE_V2] for i in ids]
    assert len(set(prefixes)) == len(prefixes)
    retired = zoo.retired_models()[0]
    error = zoo.unknown_model(retired["codec"], bytes.fromhex(retired["model_id"])[:MODEL_ID_SIZE_V2])
    assert "retired weights" in str(error) and retired["last_shipped_in"] in str(error)
    assert "nor any retired" in str(zoo.unknown_model("latent-flow", b"\xff\xfe\xfd"))


@VERSIONS
def test_every_truncation_and_byte_flip_is_a_correct_decode_or_an_error(small_image, version):
    codec = ToyLayered()
    stream = codec.encode(small_image).as_version(version)
    data = stream.to_bytes()
    references = {k: codec.decode(stream, layers=k) for k in (1, 2, 3)}
    for cut in range(len(data)):
        try:
            parsed = Bitstream.parse(data[:cut])
        except BitstreamError:
            continue
        image = codec.decode(parsed)
        np.testing.assert_array_equal(image, references[parsed.available_layers])
    outcomes = {"error": 0, "decoded": 0}
    for position in range(len(data)):
        for bit in (0x01, 0x80, 0xFF):
            corrupted = bytearray(data)
            corrupted[position] ^= bit
            try:
                image = codec.decode(bytes(corrupted))
            except BitstreamError:
                outcomes["error"] += 1
                continue
            outcomes["decoded"] += 1
            parsed = Bitstream.parse(bytes(corrupted))
            np.testing.assert_array_equal(image, references[parsed.available_layers])
    assert outcomes["error"] > 0


def test_model_id_and_codec_mismatch(small_image):
    codec = ToyLayered()
    stream = codec.encode(small_image)
    other = ToyLayered()
    other.model_id = bytes(8)
    with pytest.raises(BitstreamError, match="model id mismatch"):
        other.decode(stream)
    import lamina
    with pytest.raises(BitstreamError, match="coded by 'toy-layered'"):
        lamina.load("jpeg").decode(stream)


def test_more_layers_than_held_is_an_error(small_image):
    codec = ToyLayered()
    stream = codec.encode(small_image).truncate(2)
    with pytest.raises(BitstreamError, match="cannot decode 3 layers"):
        codec.decode(stream, layers=3)


def test_quality_increases_with_layers(small_image):
    codec = ToyLayered()
    stream = codec.encode(small_image)
    errors = [np.abs(codec.decode(stream, k).astype(int) - small_image).mean() for k in (1, 2, 3)]
    assert errors[0] > errors[1] > errors[2] == 0


def test_decompression_bombs_are_refused_before_decoding():
    """Headers claiming more pixels than lamina ever codes (64 MP per image, 2^30 decoded pixels per clip) are
    refused by the parser / the video header, before any decoder allocates an image."""
    from lamina.bitstream import KIND_VIDEO, MAX_PIXELS, MAX_VIDEO_PIXELS
    bomb = Bitstream("jpeg", 60000, 60000, (Layer("image", b"\xff\xd8"),)).to_bytes()  # 3.6 G pixels
    with pytest.raises(BitstreamError, match="above the limit"):
        Bitstream.parse(bomb)
    assert Bitstream.parse(Bitstream("jpeg", 8192, 8192, (Layer("image", b"x"),)).to_bytes()).height == 8192
    assert 8192 * 8192 <= MAX_PIXELS
    from lamina.codecs.latent_flow.video import video_header
    header = b"".join(encode_varint(v) for v in (1, 100, 10, 0, 25000))  # quality, frames, gop, loop, fps
    clip = Bitstream("latent-flow", 4096, 4096, (Layer("basic", b""),), kind=KIND_VIDEO, codec_header=header)
    assert 100 * 4096 * 4096 > MAX_VIDEO_PIXELS
    with pytest.raises(BitstreamError, match="above the decoding limit"):
        video_header(Bitstream.parse(clip.to_bytes()))
    from lamina.codecs.stylegan_scalable.video import video_header as sg_header
    header = b"".join(encode_varint(v) for v in (1, 100, 10, 25000))
    with pytest.raises(BitstreamError, match="above the decoding limit"):
        sg_header(Bitstream("stylegan-scalable", 4096, 4096, (Layer("basic", b""),), kind=KIND_VIDEO,
                            codec_header=header))
