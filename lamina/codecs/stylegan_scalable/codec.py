"""stylegan-scalable: the three-layer face codec on a StyleGAN2 prior (seed 000) — codec, container and swap.

The codec runs from a weights file (encoder, entropy model, generator, w̄): the committed
`lamina/zoo/stylegan-scalable-q*.pt` (CPU-trained, preliminary: docs/results/stylegan-scalable/) register it;
tests also use tiny randomly initialised models written by `save_model`. Encoding refuses images without a
face in the shared framing (NoFaceError).

Layers `basic`, `middle` (style layers: each payload holds that layer's hyper-latents and style symbols,
lamina.codecs.stylegan_scalable.entropy, so k layers decode from the first k payloads: x̂_k = G({L1..Lk, 0..} + w̄),
Eqs. 4-6), then `enhanced`: by default the detail residual (`detail_step`, lamina.priors.detail: the coarse
TAEF2-latent residual between the face and what the basic and middle styles generate, which carries who the person
is); with `--detail-step 0` the paper's fine styles (lamina.codecs.face_codec says why the default differs). Every
layer starts with a geometry increment (`--geometry`, lamina.codecs.geometry). Codec header:
lamina.codecs.face_codec. Model id: the weights file's (lamina.zoo).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ...bitstream import Bitstream, Layer, encode_varint
from ...errors import BitstreamError
from ..base import SWAP, VIDEO, Option, model_output_to_image, register
from .. import geometry
from ..face_codec import (DETAIL_OVER, IMAGE_LAYERS, STYLE_LAYERS, FaceCodec, detail_fit_option, detail_option,
                          fine_option, geometry_option, reframe_option, temporal_smooth_option)
from .entropy import swap_layers
from .model import CODEC, LAYER_NAMES, load_model


@register
class StyleganScalable(FaceCodec):
    name = CODEC
    status = ("preliminary (CPU-trained face prior): the style layers show the person's pose, expression, "
              "colouring and hair, blurry and with fine identity lost; the enhanced layer (the detail residual) "
              "brings identity back "
              "(docs/results/face-prior/); aligned face crops only")
    training_module = "lamina.codecs.stylegan_scalable.task"
    capabilities = frozenset({VIDEO, SWAP})
    # Video's --temporal-smooth default, chosen on the training clips (lp_d3, lp_d6, q1;
    # docs/results/video/probe-temporal-smooth/): 0.5 lowered flicker 10-15% (7.17 -> 6.43, 6.33 -> 5.38), LPIPS
    # -0.001 / -0.002, the rate -0.6%; 0.8 no better.
    DEFAULT_TEMPORAL_SMOOTH = 0.5
    encode_options = (Option("--keyframe-interval", "keyframe_interval", type=int,
                             help="stylegan-scalable video: every N-th frame carries all layers, the others the "
                                  "basic layer only (default 10)"),
                      reframe_option(CODEC), detail_option(CODEC), detail_fit_option(CODEC), geometry_option(CODEC),
                      fine_option(CODEC), temporal_smooth_option(CODEC, DEFAULT_TEMPORAL_SMOOTH))

    def __init__(self, quality: int | None = None, device: str = "cpu", weights: str | Path | None = None,
                 check_face: bool = True, keyframe_interval: int | None = None, detail_step: float | None = None,
                 detail_fit: int | None = None, reframe: str | bool | None = None,
                 geometry: str | bool | None = None,
                 fine_step: float | None = None, temporal_smooth: float | None = None):
        super().__init__(quality, device, weights, check_face, detail_step, detail_fit, reframe, geometry,
                         fine_step, temporal_smooth)
        self.keyframe_interval = 10 if keyframe_interval is None else int(keyframe_interval)

    @staticmethod
    def load_weights(path: Path, device: str):
        return load_model(path, device)

    def code_styles(self, x: torch.Tensor, layers: int | None = None) -> list[bytes]:
        return self.model.entropy.compress(self.model.encode(x), layers)

    def prior_styles(self, payloads: list[bytes]) -> torch.Tensor:
        return self.decode_styles(payloads) * self.model.coding_step

    def render_layers(self, payloads: list[bytes], layers: int, height: int, width: int) -> np.ndarray:
        return self.render(self.decode_styles(payloads), layers, height, width)

    def decode_styles(self, payloads: list[bytes]) -> torch.Tensor:
        """Residual styles of the first len(payloads) layers; BitstreamError for payloads that do not decode."""
        try:
            return self.model.entropy.decompress(payloads)
        except BitstreamError:
            raise
        except Exception as exc:
            raise BitstreamError(f"stylegan-scalable payload cannot be decoded: {exc}") from exc

    @torch.no_grad()
    def render(self, styles: torch.Tensor, layers: int, height: int, width: int) -> np.ndarray:
        """x̂_k = G({L1..Lk, 0..} + w̄) (Eqs. 4-6) at height x width, uint8."""
        return model_output_to_image(self.model.synthesize(styles, layers), height, width)

    def encode_video(self, frames: list[np.ndarray], fps: float, keyframe_interval: int | None = None) -> Bitstream:
        """Key-frame video mode (lamina.codecs.stylegan_scalable.video)."""
        interval = self.keyframe_interval if keyframe_interval is None else keyframe_interval
        return self.video().encode_video(self, frames, fps, interval)

    @classmethod
    def video_info(cls, stream: Bitstream) -> dict:
        from .video import video_header
        header = video_header(stream)
        info = {"frames": header.frames, "fps": header.fps, "keyframe interval": header.keyframe_interval,
                **({"reframe": True} if header.reframe else {}), **({"geometry": True} if header.geometry else {})}
        return info if header.detail_step is None else {**info, "detail step": header.detail_step}

    def swap(self, a: Bitstream | bytes, b: Bitstream | bytes) -> Bitstream:
        """A's style layers with B's middle layer, re-coded without decoding pixels (the paper's face swap): A's
        basic and enhanced styles with B's middle styles, or, for A in the default layout (its enhanced layer is
        the detail residual, which belongs to A's face), A's basic and B's middle. Both streams must be complete
        and coded by this model; the swapped stream has style layers only, without geometry increments (they were
        fitted to A's renders)."""
        checked = []
        for label, stream in (("first", a), ("second", b)):
            try:  # codec name, model id and layer names, as for decoding
                stream = self.check_stream(stream)
                header = self.read_header(stream)
                step, has_geometry = header.detail_step, header.geometry
            except BitstreamError as exc:
                raise BitstreamError(f"swap: the {label} stream: {exc}") from exc
            if stream.available_layers < IMAGE_LAYERS:
                raise BitstreamError(f"swap: the {label} stream holds {stream.available_layers} of {IMAGE_LAYERS} "
                                     f"layers")
            payloads = [l.payload for l in stream.layers[:STYLE_LAYERS if step is None else DETAIL_OVER]]
            checked.append((stream, geometry.split(payloads)[1] if has_geometry else payloads))
        (a, styles_a), (b, styles_b) = checked
        payloads = swap_layers(self.model.entropy, styles_a, styles_b, (1,))
        layers = tuple(Layer(name, payload) for name, payload in zip(LAYER_NAMES, payloads))
        return Bitstream(self.name, a.height, a.width, layers, model_id=self.model_id,
                         codec_header=encode_varint(self.read_header(a).quality))
