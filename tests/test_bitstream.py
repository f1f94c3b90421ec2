import numpy as np
import pytest

from lamina.bitstream import MAGIC, Bitstream, Layer, encode_varint
from lamina.errors import BitstreamError

from toy_codec import ToyLayered


def make_stream():
    return Bitstream("toy-layered", 48, 40, (Layer("basic", b"\x01" * 7), Layer("middle", b"abc"),
                                             Layer("enhanced", bytes(range(200)))),
                     model_id=bytes(range(1, 9)), codec_header=b"\x05hi")


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


def test_layout_matches_spec_byte_for_byte():
    stream = make_stream()
    data = stream.to_bytes()
    expected = (MAGIC + b"\x01" + b"\x0btoy-layered" + bytes(range(1, 9)) + b"\x00" + b"\x30\x28"
                + b"\x03\x05hi" + b"\x03")
    assert data.startswith(expected)
    import zlib
    rec1 = b"\x05basic" + b"\x07" + zlib.crc32(b"\x01" * 7).to_bytes(4, "big")
    assert data[len(expected):len(expected) + len(rec1)] == rec1
    assert data.endswith(b"\x01" * 7 + b"abc" + bytes(range(200)))


def test_parse_round_trip():
    stream = make_stream()
    parsed = Bitstream.parse(stream.to_bytes())
    assert parsed == stream
    assert parsed.layer_sizes() == [("basic", 7), ("middle", 3), ("enhanced", 200)]


def test_truncate_writes_exact_k_layer_stream():
    stream = make_stream()
    for k in (1, 2, 3):
        cut = stream.truncate(k)
        data = cut.to_bytes()
        parsed = Bitstream.parse(data)
        assert parsed.available_layers == k
        assert parsed.declared_layers == ("basic", "middle", "enhanced")[:k]
        assert len(data) == stream.bytes_up_to(k)
    with pytest.raises(BitstreamError):
        stream.truncate(0)
    with pytest.raises(BitstreamError):
        stream.truncate(4)


def test_stream_cut_after_a_payload_keeps_complete_layers():
    stream = make_stream()
    data = stream.to_bytes()
    header = len(stream.header_bytes())
    parsed = Bitstream.parse(data[:header + 7])
    assert parsed.available_layers == 1 and len(parsed.declared_layers) == 3
    parsed = Bitstream.parse(data[:header + 10])
    assert parsed.available_layers == 2


@pytest.mark.parametrize("mutate, message", [
    (lambda d: b"LMNB" + d[4:], "not a lamina stream"),
    (lambda d: d[:4] + b"\x02" + d[5:], "unsupported container version"),
    (lambda d: d[:-1] + bytes([d[-1] ^ 1]), "CRC mismatch"),
    (lambda d: d + b"\x00", "unexpected bytes"),
    (lambda d: d[:10], "truncated"),
    (lambda d: b"", "truncated"),
])
def test_errors_say_which(mutate, message):
    with pytest.raises(BitstreamError, match=message):
        Bitstream.parse(mutate(make_stream().to_bytes()))


def test_every_truncation_and_byte_flip_is_a_correct_decode_or_an_error(small_image):
    codec = ToyLayered()
    stream = codec.encode(small_image)
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
