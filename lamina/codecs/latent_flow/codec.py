"""latent-flow: faces coded in the face prior's style space through a RealNVP flow (seed 002, SGANC).

Encoding: the frozen prior's style encoder (on the TAEF2 latent of the 128 px face) gives styles s; the flow T
maps each style vector to the proxy space; the proxies are rounded (around the entropy model's medians) and
rANS-coded with a factorized model, one payload per style group: `basic`, `middle`, `enhanced`. Decoding
k layers: T⁻¹ of the first k groups' proxies, the rest of the styles at w̄, the frozen generator, the TAEF2
decoder, resized to the header's size. Optional fourth layer `detail` (`detail_step`, lamina.priors.detail,
shared with stylegan-scalable through lamina.codecs.face_detail): the coarse TAEF2-latent residual between the face
and what the three style layers generate, which carries who the person is. Codec header: varint quality [+ varint
detail step in 1/16]. Model id: the weights file's (lamina.zoo; it names the prior it was fitted on).

Video (`--gop g`, lamina.codecs.latent_flow.video): frame 0 intra; later frames the rounded latent
difference coded with the learned difference model; every g-th frame a residual coded with the fixed
Irwin-Hall pmf (open loop, the paper's), or closed-loop differences without residuals (`--loop closed`).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from ... import zoo
from ...bitstream import Bitstream, Layer
from ...errors import BitstreamError, InputError
from ...vision.face import require_framed_face
from ..base import VIDEO, LayerSpec, Option, ZooCodec, model_output_to_image, register
from ..face_detail import STYLE_LAYERS, DetailLayer, detail_option
from ...priors.face import image_to_model
from .model import CODEC, load_model

DEFAULT_DETAIL_STEP = 1.0  # chosen on validation faces: docs/results/face-prior/probe-v2.md


@lru_cache(maxsize=4)
def _cached(path: str, device: str):
    return load_model(Path(path), device)


@register
class LatentFlow(DetailLayer, ZooCodec):
    name = CODEC
    status = ("preliminary (the same CPU-trained face prior as stylegan-scalable): blurry faces with the "
              "person's pose, colouring and hair, fine identity lost; aligned face crops only")
    layers = (LayerSpec("basic", ("landmarks", "parsing")), LayerSpec("middle", ("identity", "attributes")),
              LayerSpec("enhanced", ("human",)), LayerSpec("detail", ("human", "identity")))
    higher_is_better = True
    training_module = "lamina.codecs.latent_flow.task"
    capabilities = frozenset({VIDEO})
    encode_options = (
        Option("--gop", "gop", type=int, help="latent-flow video: an Irwin-Hall residual every G frames (open "
                                              "loop; default 10)"),
        Option("--loop", "loop", choices=("open", "closed"), help="latent-flow video: 'open' (the paper's: "
               "differences of the encoder's latents + residuals) or 'closed' (differences against the decoded "
               "latent, no residuals)"),
        detail_option(CODEC, DEFAULT_DETAIL_STEP),
    )

    def __init__(self, quality: int | None = None, device: str = "cpu", weights: str | Path | None = None,
                 check_face: bool = True, gop: int | None = None, loop: str | None = None,
                 detail_step: float | None = None):
        if weights is None:
            weights = zoo.find(CODEC, quality)
            quality = int(Path(weights).stem.rsplit("-q", 1)[1])
        self.quality, self.device, self.weights = int(quality or 0), device, Path(weights)
        self.check_face = check_face
        self.gop = 10 if gop is None else int(gop)
        self.loop = loop or "open"
        if self.gop < 1:
            raise InputError(f"GOP must be >= 1, got {self.gop}")
        if self.loop not in ("open", "closed"):
            raise InputError(f"loop must be 'open' or 'closed', got {self.loop!r}")
        self.model, self.model_id = _cached(str(self.weights), device)
        self.init_detail(detail_step, DEFAULT_DETAIL_STEP)

    def styles_of(self, image: np.ndarray) -> torch.Tensor:
        """The prior's styles (1 x T x dim) of an RGB uint8 face."""
        return self.model.encode(image_to_model(image, self.model.config["size"]).to(self.device))

    @torch.no_grad()
    def _encode(self, image: np.ndarray) -> Bitstream:
        if self.check_face:
            require_framed_face(image)
        h, w = image.shape[:2]
        x = image_to_model(image, self.model.config["size"]).to(self.device)
        payloads, header = self.with_detail(x, self.model.compress(self.model.encode(x)), self.quality)
        layers = tuple(Layer(spec.name, payload) for spec, payload in zip(self.layers, payloads))
        return Bitstream(self.name, h, w, layers, model_id=self.model_id, codec_header=header)

    def prior_styles(self, payloads: list[bytes]) -> torch.Tensor:
        return self.model.from_proxy(self.decode_proxies(payloads))

    @torch.no_grad()
    def _decode(self, stream: Bitstream, layers: int) -> np.ndarray:
        _, step = self.read_header(stream)
        styles = self.prior_styles([layer.payload for layer in stream.layers[:min(layers, STYLE_LAYERS)]])
        if layers <= STYLE_LAYERS:
            return self.render(styles, layers, stream.height, stream.width)
        return self.render_detail(stream, styles, step)

    def decode_proxies(self, payloads: list[bytes]) -> list[torch.Tensor]:
        """Proxies of the first len(payloads) groups; BitstreamError for payloads that do not decode."""
        try:
            proxies = self.model.decompress_proxies(payloads)
        except Exception as exc:
            raise BitstreamError(f"latent-flow payload cannot be decoded: {exc}") from exc
        if not all(torch.isfinite(p).all() for p in proxies):
            raise BitstreamError("latent-flow payload decodes to non-finite values: stream is corrupted")
        return proxies

    @torch.no_grad()
    def render(self, styles: torch.Tensor, layers: int, height: int, width: int) -> np.ndarray:
        """G(T⁻¹(ŷ)) of the first `layers` groups at height x width, uint8."""
        return model_output_to_image(self.model.synthesize(styles, layers), height, width)

    def encode_video(self, frames: list[np.ndarray], fps: float, gop: int | None = None,
                     loop: str | None = None) -> Bitstream:
        from .video import encode_video
        return encode_video(self, frames, fps, self.gop if gop is None else gop, loop or self.loop)

    def decode_video(self, stream: Bitstream | bytes, layers: int | None = None) -> list[np.ndarray]:
        from .video import decode_video
        if isinstance(stream, (bytes, bytearray)):
            stream = Bitstream.parse(bytes(stream))
        return decode_video(self, stream, layers)

    @classmethod
    def video_info(cls, stream: Bitstream) -> dict:
        from .video import video_header
        header = video_header(stream)
        return {"frames": header.frames, "fps": header.fps, "gop": header.gop, "loop": header.loop}
