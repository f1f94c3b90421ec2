"""A tiny three-layer codec used only by tests: progressively refined bit planes, zlib-coded."""
from __future__ import annotations

import zlib

import numpy as np

from lamina.bitstream import Bitstream, Layer
from lamina.codecs.base import Codec, LayerSpec
from lamina.errors import BitstreamError


class ToyLayered(Codec):
    name = "toy-layered"
    layers = (LayerSpec("basic", ("landmarks",)), LayerSpec("middle", ("identity",)),
              LayerSpec("enhanced", ("human",)))
    model_id = bytes(range(1, 9))
    SHIFTS = (5, 2, 0)  # layer k keeps the top (8 - shift) bits

    def _encode(self, image):
        payloads, previous = [], np.zeros_like(image)
        for shift in self.SHIFTS:
            kept = (image >> shift) << shift
            payloads.append(zlib.compress((kept - previous).tobytes(), 9))
            previous = kept
        h, w = image.shape[:2]
        return Bitstream(self.name, h, w, tuple(Layer(s.name, p) for s, p in zip(self.layers, payloads)),
                         model_id=self.model_id)

    def _decode(self, stream, layers):
        image = np.zeros((stream.height, stream.width, 3), np.uint8)
        for layer in stream.layers[:layers]:
            try:
                delta = np.frombuffer(zlib.decompress(layer.payload), np.uint8)
            except zlib.error as exc:
                raise BitstreamError(f"bad payload: {exc}") from exc
            if delta.size != image.size:
                raise BitstreamError("payload size does not match header")
            image = image + delta.reshape(image.shape)
        return image


# Not registered (tests only), so its layer names are given to the v2 parser here.
from lamina.bitstream import LAYER_NAMES  # noqa: E402

LAYER_NAMES.setdefault(ToyLayered.name, tuple(spec.name for spec in ToyLayered.layers))
