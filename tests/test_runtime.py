"""The decoders' inference runtime (lamina.nn.taef2.decode): ONNX Runtime by default for CPU decoding without
gradients, PyTorch as the reference (LAMINA_RUNTIME=torch). Coded bytes never depend on it; decoded pixels agree
with the reference far inside the cross-CPU tolerance."""
import numpy as np
import pytest
import torch

import lamina
from lamina.errors import InputError
from lamina.nn import taef2


def test_onnx_decoder_matches_the_torch_reference_at_any_size():
    torch.manual_seed(0)
    for shape in ((1, 32, 16, 16), (2, 32, 12, 20)):
        z = torch.randn(shape)
        with torch.no_grad():
            fast, reference = taef2.decode(z), taef2.load_decoder()(z)
        assert fast.shape == reference.shape == (shape[0], 3, 8 * shape[2], 8 * shape[3])
        assert float((fast - reference).abs().max()) < 1e-4


def test_gradients_and_the_switch_take_the_torch_module(monkeypatch):
    z = torch.randn(1, 32, 8, 8, requires_grad=True)
    taef2.decode(z).mean().backward()  # grad enabled: the PyTorch module, so gradients flow
    assert z.grad is not None and float(z.grad.abs().sum()) > 0
    monkeypatch.setenv("LAMINA_RUNTIME", "tensorrt")
    with pytest.raises(InputError, match="LAMINA_RUNTIME"):
        with torch.no_grad():
            taef2.decode(z)


@pytest.mark.parametrize("name,quality", [("stylegan-scalable", 1), ("codebook-svr", 1), ("progressive-mask", 1)])
def test_bytes_do_not_depend_on_the_runtime_and_pixels_agree(name, quality, face, monkeypatch):
    codec = lamina.load(name, quality=quality)
    data = codec.encode(face).to_bytes()
    fast = codec.decode(data)
    monkeypatch.setenv("LAMINA_RUNTIME", "torch")
    assert codec.encode(face).to_bytes() == data
    reference = codec.decode(data)
    difference = np.abs(fast.astype(int) - reference.astype(int))
    assert difference.max() <= 1 and (difference > 0).mean() < 0.01


def test_without_a_writable_cache_decoding_falls_back_to_the_reference(tmp_path, monkeypatch):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("LAMINA_CACHE", str(blocked / "cache"))
    taef2._session.cache_clear()
    try:
        z = torch.randn(1, 32, 8, 8)
        with torch.no_grad():
            assert torch.equal(taef2.decode(z), taef2.load_decoder()(z))
    finally:
        taef2._session.cache_clear()


# ------------------------------------------------------------------ faster decoders (decoding_with, --decoder)
def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(((a.astype(float) - b.astype(float)) ** 2).mean())
    return 10 * np.log10(255 ** 2 / max(mse, 1e-10))


def test_the_int8_decoder_is_close_to_the_reference_and_only_inside_its_block():
    torch.manual_seed(0)
    z = torch.randn(1, 32, 16, 16) * 0.8
    with torch.no_grad():
        reference = taef2.decode(z)
        with taef2.decoding_with("int8"):
            fast = taef2.decode(z)
        assert torch.equal(taef2.decode(z), reference)  # the block's choice does not outlive it
    assert fast.shape == reference.shape
    difference = (fast - reference).abs()
    assert 0 < float(difference.mean()) < 0.02


def test_an_unknown_decoder_and_a_codec_without_taef2_are_errors(face):
    with pytest.raises(InputError, match="decoder must be one of"):
        with taef2.decoding_with("fp8"):
            pass
    jpeg = lamina.load("jpeg", quality=50)
    with pytest.raises(InputError, match="no --decoder"):
        jpeg.decode(jpeg.encode(face).to_bytes(), decoder="int8")


@pytest.mark.parametrize("name", ["codebook-svr", "latent-flow"])
def test_int8_decoding_changes_no_byte_and_stays_close_to_the_reference(name, face):
    codec = lamina.load(name, quality=1)
    data = codec.encode(face).to_bytes()
    reference = codec.decode(data)
    fast = codec.decode(data, decoder="int8")
    assert codec.encode(face).to_bytes() == data
    assert fast.shape == reference.shape and not np.array_equal(fast, reference)
    assert _psnr(fast, reference) > 30


def test_the_committed_lite_decoders_render_close_to_the_reference(face):
    """lamina/zoo/taef2-lite.pt (the distilled decoder): the same stream, another decoder, a nearby image; the lite
    decoders' whole images are within a few dB of the reference (held-out 36 dB against the teacher's images on
    clean latents; a codec's latents are farther from those)."""
    assert taef2.lite_weights().exists()
    codec = lamina.load("codebook-svr", quality=1)
    data = codec.encode(face).to_bytes()
    reference = codec.decode(data)
    for name in ("lite", "lite-int8"):
        fast = codec.decode(data, decoder=name)
        assert fast.shape == reference.shape and not np.array_equal(fast, reference)
        assert _psnr(fast, reference) > 28, name
    z = torch.randn(1, 32, 8, 8)
    with torch.no_grad(), taef2.decoding_with("lite"):
        module = taef2.load_lite_decoder()(z)
        assert float((taef2.decode(z) - module).abs().max()) < 1e-4  # ONNX Runtime matches the lite module


def test_the_codecs_decoder_option_offers_exactly_the_decoders():
    from lamina.codecs.base import DECODER_OPTION
    assert DECODER_OPTION.choices == taef2.DECODERS
