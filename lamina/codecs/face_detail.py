"""What stylegan-scalable and latent-flow share about their optional fourth layer, `detail` (lamina.priors.detail):
the `--detail-step` option, the codec header (varint quality [+ varint step in 1/16 when the stream has a detail
layer]), coding the residual against the latent the decoder generates from the three style layers, and rendering
with it. A codec using it has `self.model.prior` (the face prior) and implements `prior_styles(payloads)`: the
decoded styles of the first style layers, in the prior's units."""
from __future__ import annotations

import numpy as np
import torch

from ..bitstream import Bitstream, Reader, encode_varint
from ..errors import BitstreamError, InputError
from ..options import Option
from ..priors import detail
from .base import model_output_to_image

STYLE_LAYERS = 3  # basic, middle, enhanced; `detail` is the fourth


def detail_option(codec: str, default: float) -> Option:
    return Option("--detail-step", "detail_step", type=float,
                  help=f"{codec} images: quantisation step of the `detail` layer (a TAEF2-latent residual that "
                       f"keeps who the person is), a multiple of 1/16; larger: fewer bytes; 0: the three style "
                       f"layers only (default {default})")


class DetailLayer:
    """Mixin of the two face codecs (after ZooCodec in the bases)."""

    detail_step: float

    def init_detail(self, detail_step: float | None, default: float) -> None:
        if detail_step is None:  # models in pixel space (tiny test models, the paper presets) have no detail layer
            detail_step = default if hasattr(self.model, "prior") else 0.0
        self.detail_step = float(detail_step)
        if self.detail_step < 0:
            raise InputError(f"--detail-step must be >= 0, not {self.detail_step}")
        if self.detail_step:
            detail.step_code(self.detail_step)  # a multiple of 1/16, else InputError
            if not hasattr(self.model, "prior"):
                raise InputError("the detail layer needs a model on the face prior (TAEF2 latents)")

    def prior_styles(self, payloads: list[bytes]) -> torch.Tensor:
        raise NotImplementedError

    def generated_latent(self, styles: torch.Tensor) -> torch.Tensor:
        """The prior's TAEF2 latent of all three style layers (styles in the prior's units)."""
        return self.model.prior.synthesize(styles, STYLE_LAYERS)

    def with_detail(self, x: torch.Tensor, payloads: list[bytes], quality: int) -> tuple[list[bytes], bytes]:
        """(payloads + the detail payload when detail_step is set, codec header) of a face x (model input)."""
        header = encode_varint(quality)
        if not self.detail_step:
            return payloads, header
        generated = self.generated_latent(self.prior_styles(payloads))
        target = detail.target_latent(self.model.prior, x)
        return (payloads + [detail.encode(target, generated, self.detail_step)],
                header + encode_varint(detail.step_code(self.detail_step)))

    def read_header(self, stream: Bitstream) -> tuple[int, float | None]:
        """(quality, detail step or None) of the codec header; BitstreamError when it is corrupted."""
        reader = Reader(stream.codec_header)
        quality = reader.varint("codec header (quality)")
        step = None
        if reader.pos < len(stream.codec_header):
            step = reader.varint("codec header (detail step)") * detail.STEP_UNIT
        if reader.pos != len(stream.codec_header) or step == 0:
            raise BitstreamError(f"{self.name}: codec header is corrupted")
        if step is None and len(stream.declared_layers) > STYLE_LAYERS:
            raise BitstreamError(f"{self.name}: the stream has a detail layer but no detail step")
        return quality, step

    def render_detail(self, stream: Bitstream, styles: torch.Tensor, step: float) -> np.ndarray:
        """The face of all four layers: the generated latent plus the detail offset, rendered at the header's
        size."""
        from ..priors.face import render
        generated = self.generated_latent(styles)
        offset = detail.decode(stream.layers[STYLE_LAYERS].payload, tuple(generated.shape[1:]), step)
        return model_output_to_image(render(self.model.prior, generated + offset.to(generated)) * 2 - 1,
                                     stream.height, stream.width)
