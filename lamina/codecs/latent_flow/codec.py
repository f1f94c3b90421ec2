"""latent-flow: faces coded in the face prior's style space through a RealNVP flow (seed 002, SGANC).

Encoding: the frozen prior's style encoder (on the TAEF2 latent of the 128 px face) gives styles s; the flow T
maps each style vector to the proxy space; the proxies are rounded (around the entropy model's medians) and
rANS-coded with a factorized model, one payload per style group. Layers `basic`, `middle` (style groups; decoding
k: T⁻¹ of the first k groups' proxies, the rest of the styles at w̄, the frozen generator, the TAEF2 decoder,
resized to the header's size), then `enhanced`: by default the detail residual (`detail_step`,
lamina.priors.detail, shared with stylegan-scalable through lamina.codecs.face_codec: the coarse TAEF2-latent
residual between the face and what the basic and middle styles generate, which carries who the person is); with
`--detail-step 0` the third style group; every layer starts with a geometry increment (`--geometry`,
lamina.codecs.geometry). Codec header: lamina.codecs.face_codec. Model id: the weights file's (lamina.zoo; it names the prior it was fitted on).

Video (`--gop g`, lamina.codecs.latent_flow.video): frame 0 intra; later frames the rounded latent
difference coded with the learned difference model; every g-th frame a residual (open loop, the paper's), coded
with an adaptive discrete Laplace (`--residual-model adaptive`, the default) or the paper's fixed Irwin-Hall pmf
(`--residual-model irwin-hall`); or closed-loop differences without residuals (`--loop closed`).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ...bitstream import Bitstream
from ...errors import BitstreamError, InputError
from ..base import VIDEO, Option, model_output_to_image, register
from ..face_codec import (FaceCodec, detail_fit_option, detail_option, fine_option, geometry_option,
                          reframe_option, temporal_smooth_option)
from .model import CODEC, load_model
from .residual import DEFAULT as DEFAULT_RESIDUAL, RESIDUALS, check as check_residual


@register
class LatentFlow(FaceCodec):
    name = CODEC
    status = ("preliminary (the same CPU-trained face prior as stylegan-scalable): the style layers give blurry "
              "faces with the person's pose, colouring and hair, fine identity lost; the enhanced layer (the "
              "detail residual) brings "
              "identity back (docs/results/face-prior/); aligned face crops only")
    training_module = "lamina.codecs.latent_flow.task"
    capabilities = frozenset({VIDEO})
    # Video's --temporal-smooth default, chosen on the training clips (lp_d3, lp_d6;
    # docs/results/video/probe-temporal-smooth/): 0.5 lowered flicker ~5% at q1 and q4 and q4's rate 11%, LPIPS
    # within 0.001; 0.8 no better.
    DEFAULT_TEMPORAL_SMOOTH = 0.5
    encode_options = (
        Option("--gop", "gop", type=int, help="latent-flow video: a residual every G frames (open loop; default 10)"),
        Option("--loop", "loop", choices=("open", "closed"), help="latent-flow video: 'open' (the paper's: "
               "differences of the encoder's latents + residuals) or 'closed' (differences against the decoded "
               "latent, no residuals)"),
        Option("--residual-model", "residual_model", choices=RESIDUALS, help="latent-flow video: the "
               "open loop's residual model: 'adaptive' (default; a discrete Laplace whose scale the encoder "
               "picks and whose counts adapt: 27-78%% fewer residual bytes on the training clips) or "
               "'irwin-hall' (the paper's fixed pmf)"),
        reframe_option(CODEC), detail_option(CODEC), detail_fit_option(CODEC), geometry_option(CODEC),
        fine_option(CODEC),
        temporal_smooth_option(CODEC, DEFAULT_TEMPORAL_SMOOTH),
    )

    def __init__(self, quality: int | None = None, device: str = "cpu", weights: str | Path | None = None,
                 check_face: bool = True, gop: int | None = None, loop: str | None = None,
                 detail_step: float | None = None, residual_model: str | None = None, detail_fit: int | None = None,
                 reframe: str | bool | None = None, geometry: str | bool | None = None,
                 fine_step: float | None = None, temporal_smooth: float | None = None):
        self.gop = 10 if gop is None else int(gop)
        self.loop = loop or "open"
        self.residual_model = check_residual(residual_model or DEFAULT_RESIDUAL)
        if self.gop < 1:
            raise InputError(f"GOP must be >= 1, got {self.gop}")
        if self.loop not in ("open", "closed"):
            raise InputError(f"loop must be 'open' or 'closed', got {self.loop!r}")
        super().__init__(quality, device, weights, check_face, detail_step, detail_fit, reframe, geometry,
                         fine_step, temporal_smooth)

    @staticmethod
    def load_weights(path: Path, device: str):
        return load_model(path, device)

    def styles_of(self, image: np.ndarray) -> torch.Tensor:
        """The prior's styles (1 x T x dim) of an RGB uint8 face."""
        return self.model.encode(self.model_input(image))

    def code_styles(self, x: torch.Tensor, layers: int | None = None) -> list[bytes]:
        return self.model.compress(self.model.encode(x), layers)

    def prior_styles(self, payloads: list[bytes]) -> torch.Tensor:
        return self.model.from_proxy(self.decode_proxies(payloads))

    def exact_styles(self, payloads: list[bytes]) -> torch.Tensor:
        """The styles through the flow's float64 twin (T⁻¹ in float32 differs between CPUs by ~1e-6: enough to move
        a pixel of the geometry fit's render across a rounding boundary)."""
        return self.exact_from_proxy(self.decode_proxies(payloads))

    def exact_from_proxy(self, proxies: list[torch.Tensor]) -> torch.Tensor:
        """T⁻¹ of decoded proxies through the flow's float64 twin (images' and video frames' geometry fits)."""
        from ...entropy import float64_twin
        return float64_twin(self.model).from_proxy([p.double() for p in proxies])

    def render_layers(self, payloads: list[bytes], layers: int, height: int, width: int) -> np.ndarray:
        return self.render(self.prior_styles(payloads), layers, height, width)

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
                     loop: str | None = None, residual_model: str | None = None) -> Bitstream:
        return self.video().encode_video(self, frames, fps, self.gop if gop is None else gop, loop or self.loop,
                                         residual_model or self.residual_model, self.reframe)

    @classmethod
    def video_info(cls, stream: Bitstream) -> dict:
        from .video import video_header
        header = video_header(stream)
        info = {"frames": header.frames, "fps": header.fps, "gop": header.gop, "loop": header.loop}
        if header.residual is not None:
            info["residual"] = header.residual
        if header.reframe:
            info["reframe"] = True
        if header.geometry:
            info["geometry"] = True
        return info if header.detail_step is None else {**info, "detail step": header.detail_step}
