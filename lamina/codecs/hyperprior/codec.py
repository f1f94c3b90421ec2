"""Learned baselines as lamina codecs: `hyperprior` (Ballé 2018 scale hyperprior) and `mean-scale` (Minnen
2018 mean-scale hyperprior without context), CompressAI networks trained here on faces.

Bitstream: one layer `image` = the hyperprior payload (lamina.entropy.hyperprior_payload: varint len(z bytes)
+ z bytes + y bytes, rANS). Codec header = varint quality, varint z height, varint z width. Model id: the
weights file's (lamina.zoo); a stream is matched to weights by the header's quality and that id.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ... import zoo
from ...bitstream import Bitstream, Layer, Reader, encode_varint
from ...entropy.hyperprior_payload import compress_payload, decompress_payload, z_shape
from ...errors import BitstreamError
from ...imageio import to_tensor
from ..base import LayerSpec, ZooCodec, register
from .model import cached_network


class LearnedHyperprior(ZooCodec):
    """A trained CompressAI hyperprior model as a single-layer lamina codec."""

    arch = "hyperprior"
    status = ("trained here on CPU (2,000 steps per quality): a faithful image that blurs and loses fine "
              "detail at low rates, like a conventional codec; behind VVC on faces")
    layers = (LayerSpec("image", ("human",)),)
    higher_is_better = True
    accepts_device = True
    learned = True
    training_module = "lamina.codecs.hyperprior.task"

    def __init__(self, quality: int | None = None, device: str = "cpu", weights: str | Path | None = None):
        if weights is None:
            quality, weights = zoo.find(self.arch, quality)
        self.quality = int(quality or 0)
        self.device = device
        self.weights = Path(weights)
        self.network = cached_network(str(self.weights), self.arch, device)
        self.model_id = zoo.model_id_of(self.weights)

    @classmethod
    def zoo_name(cls) -> str:
        return cls.arch

    def _encode(self, image: np.ndarray) -> Bitstream:
        h, w = image.shape[:2]
        with torch.no_grad():
            payload, (zh, zw) = compress_payload(self.network, to_tensor(image).to(self.device))
        header = encode_varint(self.quality) + encode_varint(zh) + encode_varint(zw)
        return Bitstream(self.name, h, w, (Layer("image", payload),), model_id=self.model_id, codec_header=header)

    def _decode(self, stream: Bitstream, layers: int) -> np.ndarray:
        reader = Reader(stream.codec_header)
        reader.varint("quality")
        zh, zw = reader.varint("z height"), reader.varint("z width")
        if reader.pos != len(stream.codec_header) or (zh, zw) != z_shape(stream.height, stream.width):
            raise BitstreamError(f"{self.name}: codec header does not match the coded size")
        return self.decompress(stream.layers[0].payload, stream.height, stream.width)

    def decompress(self, payload: bytes, height: int, width: int) -> np.ndarray:
        """The height x width uint8 image of a hyperprior payload (no container; BitstreamError when it does not
        decode): what SingleLayerCodec.decompress is for the classic codecs."""
        with torch.no_grad():
            x_hat = decompress_payload(self.network, payload, height, width, self.name)
        return (x_hat.mul(255).round().byte().permute(1, 2, 0).cpu().numpy())

    def card(self) -> dict:
        return zoo.card(self.weights)


@register
class Hyperprior(LearnedHyperprior):
    """Balle et al. 2018 scale hyperprior (CompressAI bmshj2018-hyperprior), trained here."""

    name = "hyperprior"
    arch = "hyperprior"


@register
class MeanScale(LearnedHyperprior):
    """Minnen et al. 2018 mean-scale hyperprior without context model (CompressAI mbt2018-mean), trained here."""

    name = "mean-scale"
    arch = "mean-scale"
