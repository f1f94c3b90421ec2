"""The payload of a CompressAI hyperprior network (scale or mean-scale): varint len(z bytes) + z bytes
(EntropyBottleneck, rANS) + y bytes (GaussianConditional, rANS). Inputs are edge-padded to multiples of
STRIDE and cropped back after decoding. Used by the hyperprior codecs and feature-texture's residual layer."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..bitstream import Reader, encode_varint
from ..errors import BitstreamError
from ..imageio import to_tensor

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


def compress_payload(network: torch.nn.Module, x: torch.Tensor) -> tuple[bytes, tuple[int, int]]:
    """(varint len(z) + z bytes + y bytes, z shape) of a 1x3xHxW float image in [0, 1]."""
    out = network.compress(pad_to_stride(x))
    y_bytes, z_bytes = out["strings"][0][0], out["strings"][1][0]
    return encode_varint(len(z_bytes)) + z_bytes + y_bytes, tuple(out["shape"])


def decompress_payload(network: torch.nn.Module, payload: bytes, height: int, width: int, what: str) -> torch.Tensor:
    """Inverse of compress_payload: 3xHxW float in [0, 1]; BitstreamError for payloads that do not decode."""
    reader = Reader(payload)
    z_bytes = reader.take(reader.varint("z length"), "z string")
    y_bytes = payload[reader.pos:]
    try:
        x_hat = network.decompress([[y_bytes], [z_bytes]], z_shape(height, width))["x_hat"]
    except Exception as exc:
        raise BitstreamError(f"{what}: payload cannot be decoded: {exc}") from exc
    return x_hat[0, :, :height, :width].clamp(0, 1)
