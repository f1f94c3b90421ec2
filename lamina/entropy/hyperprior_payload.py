"""The payload of a CompressAI hyperprior network (scale or mean-scale): varint len(z bytes) + z bytes
(EntropyBottleneck, rANS) + y bytes (GaussianConditional, rANS). Inputs are edge-padded to multiples of
STRIDE and cropped back after decoding. Used by the hyperprior codecs and feature-texture's residual layer.

Portability: every value that decides a coded symbol or its distribution (the analysis g_a/h_a, whose outputs are
rounded to symbols, and the hyper-synthesis h_s, whose scales pick CDF tables and whose means offset the symbols) is
computed in float64 by a float64 twin of the network, on both sides. Float32 results differ between CPUs by float
rounding (~1e-6 relative): a value that close to a rounding or scale-table boundary gave other bytes on another CPU,
and an index computed differently by the decoder would desync it. In float64 the kernels' differences are ~1e-15,
so a flip needs a value within ~1e-13 of a boundary (never seen; docs/results/portability). The synthesis g_s,
which only renders pixels, stays float32 (its differences are the cross-CPU pixel tolerance)."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..bitstream import Reader, encode_varint
from ..errors import BitstreamError
from ..imageio import to_tensor
from . import float64_twin

STRIDE = 64  # total downsampling of the hyper path (16 x 4)


def pad_to_stride(x: torch.Tensor) -> torch.Tensor:
    """Edge-replicate an NCHW tensor to multiples of STRIDE (as coded)."""
    h, w = x.shape[-2:]
    return F.pad(x, (0, (-w) % STRIDE, 0, (-h) % STRIDE), mode="replicate")


def padded_tensor(image: np.ndarray, device: str = "cpu") -> torch.Tensor:
    """HxWx3 uint8 -> 1x3xH'xW' float in [0, 1], edge-replicated to multiples of STRIDE (as coded)."""
    return pad_to_stride(to_tensor(image).to(device))


def z_shape(height: int, width: int) -> tuple[int, int]:
    """Hyper-latent size of an HxW image (after padding to STRIDE)."""
    return (height + (-height) % STRIDE) // STRIDE, (width + (-width) % STRIDE) // STRIDE


def _mean_scale(network: torch.nn.Module) -> bool:
    return type(network).__name__ == "MeanScaleHyperprior"


def _params(twin: torch.nn.Module, z_hat: torch.Tensor, mean_scale: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(scales, means) of the hyper-synthesis, in float64."""
    params = twin.h_s(z_hat.double())
    if mean_scale:
        scales, means = params.chunk(2, 1)
        return scales, means
    return params, None


def compress_payload(network: torch.nn.Module, x: torch.Tensor) -> tuple[bytes, tuple[int, int]]:
    """(varint len(z) + z bytes + y bytes, z shape) of a 1x3xHxW float image in [0, 1] (CompressAI's compress
    of a scale or mean-scale hyperprior, with the symbol-deciding parts in float64: see the module docstring)."""
    twin, mean_scale = float64_twin(network), _mean_scale(network)
    y = twin.g_a(pad_to_stride(x).double())
    z = twin.h_a(y if mean_scale else torch.abs(y))
    z_bytes = network.entropy_bottleneck.compress(z)[0]
    shape = tuple(z.shape[-2:])
    z_hat = network.entropy_bottleneck.decompress([z_bytes], shape)
    scales, means = _params(twin, z_hat, mean_scale)
    indexes = network.gaussian_conditional.build_indexes(scales)
    y_bytes = network.gaussian_conditional.compress(y, indexes, means=means)[0]
    return encode_varint(len(z_bytes)) + z_bytes + y_bytes, shape


def decompress_payload(network: torch.nn.Module, payload: bytes, height: int, width: int, what: str) -> torch.Tensor:
    """Inverse of compress_payload: 3xHxW float in [0, 1]; BitstreamError for payloads that do not decode."""
    reader = Reader(payload)
    z_bytes = reader.take(reader.varint("z length"), "z string")
    y_bytes = payload[reader.pos:]
    try:
        twin, mean_scale = float64_twin(network), _mean_scale(network)
        z_hat = network.entropy_bottleneck.decompress([z_bytes], z_shape(height, width))
        scales, means = _params(twin, z_hat, mean_scale)
        indexes = network.gaussian_conditional.build_indexes(scales)
        y_hat = network.gaussian_conditional.decompress([y_bytes], indexes, torch.float64, means=means)
        x_hat = network.g_s(y_hat.float()).clamp(0, 1)
    except Exception as exc:
        raise BitstreamError(f"{what}: payload cannot be decoded: {exc}") from exc
    return x_hat[0, :, :height, :width].clamp(0, 1)
