"""What the two face codecs on lamina's face prior share (stylegan-scalable, latent-flow): one base class,
FaceCodec, with their layer spec, the cached weights loader, the constructor's common part, the encode/decode
skeleton, the codec header (varint quality [+ varint detail step in 1/16, 0 for none [+ varint flags [+ varint fine
step in 1/16]]]), the coded geometry (lamina.codecs.geometry: flag 1, every layer payload starts with a displacement
increment), the spatial detail residual (lamina.priors.detail: the coarse TAEF2-latent residual between the face
and what the style layers generate, coded against the latent the decoder generates, rendered with it) and the fine
residual over it (flag 2).

Image streams have three or four layers, in layouts that the codec header tells apart:
- with a detail step (the default): `basic` and `middle` styles, then `enhanced` = the detail residual against the
  latent of those two style groups; the prior's enhanced styles stay at w̄ and are not sent. Chosen on the prior's
  validation faces (docs/results/face-prior/probe-v2.md, "The enhanced layer"): the enhanced styles added nothing a
  measure sees (identity, LPIPS, NME within noise) for 33-56 B, and the residual under them was no smaller, so each
  layer now improves what it serves;
- and with a fine step (the default, `--fine-step`; 0: none): a fourth layer `detail`, the rest of the residual at
  the latent's own resolution around the eyes, nose and mouth (lamina.priors.detail.encode_fine), which makes the
  face recognisable among others (docs/results/face-prior/fine/); the first three layers are the same bytes as
  without it;
- `--detail-step 0`: the paper's three style layers `basic`, `middle`, `enhanced` (fine styles).
Video streams (the codecs' video modules) keep the four names `basic`, `middle`, `enhanced` (styles) and `detail`
(key-frame detail, when asked for); with geometry every frame's basic payload starts with an increment.

A subclass sets `name`, `status`, `training_module`, `capabilities`, `encode_options` (+ detail_option) and
`load_weights` (path, device -> (model, model id)), and implements:
- `code_styles(x, layers)`: the first `layers` style layers' payloads of a face x (model input, 1 x 3 x size x size
  in [-1, 1]; all when None; a payload never depends on later layers);
- `prior_styles(payloads)`: the decoded styles of the first payloads, in the prior's units;
- `render_layers(payloads, k, height, width)`: the face of the first k <= 3 style layers;
- `exact_styles(payloads)` where prior_styles runs float32 network arithmetic: the same styles in float64 (the
  geometry fit's renders);
- `video` (its video module: encode_video / decode_video / video_header).
"""
from __future__ import annotations

import importlib
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from .. import zoo
from ..bitstream import Bitstream, Layer, Reader, encode_varint
from ..errors import BitstreamError, InputError
from ..options import Option
from ..priors import detail
from ..vision.face import require_framed_face
from . import geometry
from .base import DECODER_OPTION, LayerSpec, ZooCodec, chosen_decoder, model_output_to_image

STYLE_LAYERS = 3  # the prior's style groups: basic, middle, enhanced
DETAIL_OVER = 2  # image streams with detail: the enhanced layer is the residual against these style groups' latent
IMAGE_LAYERS = 3  # without the fine layer (header flag 2: a fourth)
FACE_LAYERS = (LayerSpec("basic", ("landmarks", "parsing")), LayerSpec("middle", ("identity", "attributes")),
               LayerSpec("enhanced", ("human", "identity")), LayerSpec("detail", ("human", "identity")))
DEFAULT_DETAIL_STEP = 1.0  # chosen on validation faces: docs/results/face-prior/probe-v2.md
GEOMETRY_FLAG = 1  # codec header flags: every layer payload starts with a geometry increment (lamina.codecs.geometry)
FINE_FLAG = 2      # codec header flags: a fourth layer `detail`, the fine residual (lamina.priors.detail.encode_fine);
                   # its step (in 1/16) follows the flags
DEFAULT_FINE_STEP = 2.0   # chosen on celeba-train faces: docs/results/face-prior/fine/
# With geometry, the fine layer codes the residual against the face resampled by the inverse of the first three
# layers' field (so that the decoder's field puts what it paints where the face has it): docs/results/face-prior/fine/
FINE_IN_FIELD = True


class ImageHeader(NamedTuple):
    quality: int
    detail_step: float | None     # None: the paper's three style layers
    geometry: bool                # every layer payload starts with a geometry increment
    fine_step: float | None       # the fourth layer's step; None: at most three layers


@lru_cache(maxsize=8)
def _cached(loader, path: str, device: str) -> tuple:
    """loader(path, device) -> (model, model id), once per (codec's loader, file, device) in a process."""
    return loader(Path(path), device)


def detail_option(codec: str) -> Option:
    return Option("--detail-step", "detail_step", type=float,
                  help=f"{codec} images: quantisation step of the detail residual (a TAEF2-latent residual that "
                       f"keeps who the person is, the `enhanced` layer), a multiple of 1/16; larger: fewer bytes; "
                       f"0: the paper's three style layers (`enhanced` = fine styles) (default "
                       f"{DEFAULT_DETAIL_STEP}; video: only when given, a `detail` layer once per key frame)")


def detail_fit_option(codec: str) -> Option:
    return Option("--detail-fit", "detail_fit", type=int,
                  help=f"{codec}: encoder-side optimiser steps that fit the detail residual to the decoded face "
                       f"(analysis by synthesis, e.g. {detail.FIT_STEPS}: fewer bytes and better LPIPS, identity "
                       f"and landmarks than the residual on held-out faces, ~13-20x the encode time; the decoder is "
                       f"the same, but the bytes then depend on the CPU's float kernels); default 0: the latent "
                       f"residual")


def reframe_option(codec: str) -> Option:
    return Option("--reframe", "reframe", choices=("on", "off"),
                  help=f"{codec} video: 'on' (default) codes every frame warped into the face framing by its own "
                       f"transform (sent, ~1-2 bytes a frame) and warps it back at the decoder, so the prior sees the "
                       f"face where it was trained to while the head moves (training clips: identity kept in 2x the "
                       f"frames, LPIPS -0.014, ~5%% more bytes, flicker +0.5); 'off': the first frame's framing for "
                       f"the whole clip (square frames only with 'on')")


def fine_option(codec: str) -> Option:
    return Option("--fine-step", "fine_step", type=float,
                  help=f"{codec} images: quantisation step of a fourth layer, `detail`: the rest of the TAEF2-latent "
                       f"residual at full latent resolution around the eyes, nose and mouth (what face recognition "
                       f"reads), a multiple of 1/16; 0: three layers (default {DEFAULT_FINE_STEP:g})")


def geometry_option(codec: str) -> Option:
    return Option("--geometry", "geometry", choices=("on", "off"),
                  help=f"{codec}: 'on' (default) starts every image layer with a small coded displacement field "
                       f"that moves the decoded face's eyes, brows, mouth and jaw onto the original's (~8-14 bytes a "
                       f"layer; 100 utk-test faces: the basic layer's landmark NME 0.027 -> 0.016, identity kept +7-12 "
                       f"points; the encoder renders each layer in float64 and runs dlib: ~2-3 s a face), and every "
                       f"video frame's basic payload with an increment against the previous frame's field (evaluation "
                       f"clips: landmark NME 0.027 -> 0.019 for ~1.4 kbit/s, identity and LPIPS unchanged; ~1 s a "
                       f"frame to encode); 'off': the renders as generated")


def temporal_smooth_option(codec: str, default: float) -> Option:
    return Option("--temporal-smooth", "temporal_smooth", type=float,
                  help=f"{codec} video: filter the encoder's per-frame styles in time before coding, (1 - W) s_t + "
                       f"W/2 (s_t-1 + s_t+1), so the decoded frames do not jitter with the style encoder's "
                       f"frame-to-frame noise (0 = off; default {default:g}; the decoder is unchanged)")


def smooth_in_time(series: list[torch.Tensor], weight: float) -> list[torch.Tensor]:
    """x'_t = (1 - w) x_t + w/2 (x_t-1 + x_t+1), the clip's ends repeated: per-frame estimates with their
    frame-to-frame jitter filtered out (w = 0: unchanged; 0.5: the [1, 2, 1] / 4 kernel)."""
    if weight <= 0 or len(series) < 2:
        return list(series)
    padded = [series[0], *series, series[-1]]
    return [(1 - weight) * padded[t] + weight / 2 * (padded[t - 1] + padded[t + 1]) for t in range(1, len(series) + 1)]


def _switch(option: str, value) -> bool | None:
    """An on/off option's value: None when not given, else True for 'on' / True, False for 'off' / False;
    InputError for anything else."""
    if value not in (None, True, False, "on", "off"):
        raise InputError(f"--{option} is on or off, not {value!r}")
    return None if value is None else value in (True, "on")


class FaceCodec(ZooCodec):
    layers = FACE_LAYERS
    higher_is_better = True
    detail_step: float
    DEFAULT_TEMPORAL_SMOOTH = 0.0   # video: --temporal-smooth's default (the subclass's, chosen on training clips)
    decode_options = (DECODER_OPTION,)

    @staticmethod
    def load_weights(path: Path, device: str):
        raise NotImplementedError

    def __init__(self, quality: int | None = None, device: str = "cpu", weights: str | Path | None = None,
                 check_face: bool = True, detail_step: float | None = None, detail_fit: int | None = None,
                 reframe: str | bool | None = None, geometry: str | bool | None = None,
                 fine_step: float | None = None, temporal_smooth: float | None = None):
        if weights is None:
            quality, weights = zoo.find(self.name, quality)
        self.temporal_smooth = float(self.DEFAULT_TEMPORAL_SMOOTH if temporal_smooth is None else temporal_smooth)
        if not 0 <= self.temporal_smooth < 1:
            raise InputError(f"--temporal-smooth must be in [0, 1), got {self.temporal_smooth:g}")
        self.quality, self.device, self.weights = int(quality or 0), device, Path(weights)
        self.check_face = check_face  # refuse images without a face in the shared framing (NoFaceError)
        self.model, self.model_id = _cached(self.load_weights, str(self.weights), device)
        given = detail_step is not None
        if detail_step is None:  # models in pixel space (tiny test models, the paper presets) have no detail layer
            detail_step = DEFAULT_DETAIL_STEP if hasattr(self.model, "prior") else 0.0
        self.detail_step = float(detail_step)
        # Video carries key-frame detail only when asked (--detail-step): by default a clip's rate rises with the
        # quality (a low quality's larger detail residual would otherwise outweigh its cheaper styles).
        self.video_detail_step = self.detail_step if given else 0.0
        if self.detail_step < 0:
            raise InputError(f"--detail-step must be >= 0, not {self.detail_step}")
        # video: each frame coded in the framing (lamina.codecs.reframe); on unless 'off' (or False) is given
        self.reframe = _switch("reframe", reframe) is not False
        # images: coded landmark geometry (lamina.codecs.geometry), on by default for models on the face prior
        asked = _switch("geometry", geometry)
        self.geometry = asked is not False and hasattr(self.model, "prior")
        if asked and not self.geometry:
            raise InputError("--geometry needs a model on the face prior")
        # video: one geometry increment a frame, in the basic layer (lamina.codecs.geometry.fit_frames)
        self.video_geometry = self.geometry
        # images: the fourth layer (the fine residual), on by default over the detail layer
        self.fine_step = float((DEFAULT_FINE_STEP if self.detail_step else 0.0) if fine_step is None else fine_step)
        if self.fine_step < 0:
            raise InputError(f"--fine-step must be >= 0, not {self.fine_step}")
        if self.fine_step and not self.detail_step:
            raise InputError("--fine-step needs the detail layer (a --detail-step above 0, on the face prior)")
        if self.fine_step:
            detail.step_code(self.fine_step)
        self.detail_fit = 0 if detail_fit is None else int(detail_fit)
        if self.detail_fit < 0:
            raise InputError(f"--detail-fit must be >= 0, not {self.detail_fit}")
        if self.detail_step:
            detail.step_code(self.detail_step)  # a multiple of 1/16, else InputError
            if not hasattr(self.model, "prior"):
                raise InputError("the detail layer needs a model on the face prior (TAEF2 latents)")

    # ------------------------------------------------------------------ what a face codec implements
    def code_styles(self, x: torch.Tensor, layers: int | None = None) -> list[bytes]:
        raise NotImplementedError

    def prior_styles(self, payloads: list[bytes]) -> torch.Tensor:
        raise NotImplementedError

    def render_layers(self, payloads: list[bytes], layers: int, height: int, width: int) -> np.ndarray:
        raise NotImplementedError

    # ------------------------------------------------------------------ shared
    def model_input(self, image: np.ndarray) -> torch.Tensor:
        """An RGB uint8 face as the model's 1 x 3 x size x size input in [-1, 1]."""
        from ..priors.face import image_to_model
        return image_to_model(image, self.model.config["size"]).to(self.device)

    @torch.no_grad()
    def _encode(self, image: np.ndarray) -> Bitstream:
        if self.check_face:
            require_framed_face(image)
        h, w = image.shape[:2]
        x = self.model_input(image)
        header = encode_varint(self.quality)
        if not self.detail_step:  # the paper's three style layers
            payloads = self.code_styles(x)
        else:  # basic, middle, then the residual as the enhanced layer (the enhanced styles are not coded)
            payloads = self.code_styles(x, DETAIL_OVER)
            styles = self.prior_styles(payloads)
            payloads = payloads + [self.detail_payload(x, styles, self.detail_step)]
        if self.detail_step or self.geometry:   # step 0 only before the flags (no detail, geometry)
            header += encode_varint(detail.step_code(self.detail_step) if self.detail_step else 0)
        reference = self.geometry_reference(image) if self.geometry else None
        increments = self.fit_geometry(image, reference, payloads) if self.geometry else []
        if self.fine_step:  # the rest of the residual, around the eyes, nose and mouth
            generated = self.generated_latent(styles)
            current = generated + detail.decode(payloads[-1], tuple(generated.shape[1:]), self.detail_step)
            if increments and FINE_IN_FIELD:  # the face where the decoder's field will put the render's features
                x = geometry.warp(x, -sum(increments))
            payloads.append(detail.encode_fine(detail.target_latent(self.model.prior, x), current, self.fine_step))
            if self.geometry:
                increments += self.fit_geometry(image, reference, payloads, increments)
        if self.geometry:  # every payload after its increment
            payloads = [geometry.pack(increment) + payload for increment, payload in zip(increments, payloads)]
        if self.geometry or self.fine_step:
            header += encode_varint(GEOMETRY_FLAG * self.geometry + FINE_FLAG * bool(self.fine_step))
        if self.fine_step:
            header += encode_varint(detail.step_code(self.fine_step))
        layers = tuple(Layer(spec.name, payload) for spec, payload in zip(self.layers, payloads))
        return Bitstream(self.name, h, w, layers, model_id=self.model_id, codec_header=header)

    @torch.no_grad()
    def _decode(self, stream: Bitstream, layers: int) -> np.ndarray:
        header = self.read_header(stream)
        step = header.detail_step
        payloads = [layer.payload for layer in stream.layers[:layers]]
        if header.geometry:
            nodes, payloads = geometry.split(payloads)
            return model_output_to_image(self.pixels(payloads, step, fine=header.fine_step), stream.height,
                                         stream.width, lambda x: geometry.warp(x, nodes))
        if step is None or layers <= DETAIL_OVER:  # style layers only
            return self.render_layers(payloads, layers, stream.height, stream.width)
        generated = self.generated_latent(self.prior_styles(payloads[:DETAIL_OVER]))
        offset = self.detail_offset(payloads[DETAIL_OVER:], tuple(generated.shape[1:]), step, header.fine_step)
        return self.render_with_detail(generated, offset, stream.height, stream.width)

    @staticmethod
    def detail_offset(payloads: list[bytes], shape: tuple[int, int, int], step: float,
                      fine: float | None) -> torch.Tensor:
        """The latent offset of the detail payloads held (the enhanced layer's coarse residual [+ the fine
        layer's])."""
        offset = detail.decode(payloads[0], shape, step)
        if len(payloads) > 1:
            offset = offset + detail.decode_fine(payloads[1], shape, fine)
        return offset

    def pixels(self, payloads: list[bytes], step: float | None, exact: bool = False,
               fine: float | None = None) -> torch.Tensor:
        """The render of the first payloads (no geometry blocks; a fourth, the fine layer, of step `fine`) at the
        model's size, 1 x 3 x size x size in about [-1, 1] (as the codecs' render_layers compute it); exact: in float64
        (the prior's and the TAEF2 decoder's float64 twins), what the decoder shows up to its float32 rounding, the
        same on every CPU."""
        from ..entropy import float64_twin
        from ..priors.face import render
        prior = float64_twin(self.model.prior) if exact else self.model.prior
        styled = min(len(payloads), DETAIL_OVER if step else STYLE_LAYERS)
        styles = self.exact_styles(payloads[:styled]) if exact else self.prior_styles(payloads[:styled])
        if step and len(payloads) > DETAIL_OVER:
            latent = prior.synthesize(styles, STYLE_LAYERS)
            latent = latent + self.detail_offset(payloads[DETAIL_OVER:], tuple(latent.shape[1:]), step, fine).to(latent)
        else:
            latent = prior.synthesize(styles, styled)
        return self.exact_decode(latent) if exact else render(prior, latent) * 2 - 1

    def exact_render(self, styles: torch.Tensor, layers: int, offset: torch.Tensor | None = None) -> torch.Tensor:
        """The render of styles (prior units, the first `layers` groups) [+ a latent offset] in float64, as pixels
        (exact) computes it: the video geometry fit's pictures."""
        from ..entropy import float64_twin
        latent = float64_twin(self.model.prior).synthesize(styles.double(), layers)
        return self.exact_decode(latent if offset is None else latent + offset.to(latent))

    @staticmethod
    def exact_decode(latent: torch.Tensor) -> torch.Tensor:
        """A TAEF2 latent (float64) through the TAEF2 decoder's float64 twin, 1 x 3 x size x size in about [-1, 1]."""
        from ..entropy import float64_twin
        from ..nn.taef2 import load_decoder
        return float64_twin(load_decoder(str(latent.device)))(latent) * 2 - 1

    def exact_styles(self, payloads: list[bytes]) -> torch.Tensor:
        """prior_styles in float64, computed without float32 network arithmetic (here: the decoded symbols times a
        step, exact in float32 too; latent-flow overrides it with its flow's float64 twin)."""
        return self.prior_styles(payloads).double()

    @staticmethod
    def geometry_reference(image: np.ndarray) -> tuple[tuple[int, int, int, int], np.ndarray]:
        """(face box, dlib 68 landmarks) of the original face, as the NME evaluator finds them: what the geometry
        fits aim at (found once per encode)."""
        from ..vision.face import box_to_tuple, face_box
        from ..vision.landmarks import dlib68
        box = box_to_tuple(face_box(image))
        return box, dlib68(image, box)

    def fit_geometry(self, image: np.ndarray, reference: tuple, payloads: list[bytes],
                     done: list[np.ndarray] = ()) -> list[np.ndarray]:
        """Each layer's geometry increment (lamina.codecs.geometry.fit) for the coded payloads of a face, fitted
        layer by layer on the exact render of the first k layers under the field so far (so the choice does not
        depend on the CPU) toward the original's `reference` (geometry_reference); `done`: the increments of the
        first layers, fitted before (the others are returned)."""
        box, landmarks = reference
        h, w = image.shape[:2]
        nodes, increments = sum(done, np.zeros(geometry.VALUES, dtype=np.int64)), []
        for k in range(len(done) + 1, len(payloads) + 1):
            exact = self.pixels(payloads[:k], self.detail_step or None, exact=True, fine=self.fine_step or None)
            increments.append(geometry.fit(lambda n: model_output_to_image(exact, h, w, lambda y: geometry.warp(y, n)),
                                           landmarks, box, nodes))
            nodes = nodes + increments[-1]
        return increments

    def generated_latent(self, styles: torch.Tensor) -> torch.Tensor:
        """The prior's TAEF2 latent of the decoded style groups (styles in the prior's units; groups not given
        sit at w̄)."""
        return self.model.prior.synthesize(styles, STYLE_LAYERS)

    def detail_payload(self, x: torch.Tensor, styles: torch.Tensor, step: float) -> bytes:
        """The `detail` payload of the model input x, coded against the latent its decoded styles (prior units)
        generate: the encoder computes exactly what the decoder will (images and video key frames); fitted to the
        face by `detail_fit` gradient steps (lamina.priors.detail.fit) unless 0."""
        return detail.encode(detail.target_latent(self.model.prior, x), self.generated_latent(styles), step,
                             self.detail_fit, x / 2 + 0.5)

    def render_with_detail(self, generated: torch.Tensor, offset: torch.Tensor, height: int, width: int) -> np.ndarray:
        """The image of a generated latent plus a decoded detail offset, at height x width, uint8."""
        return model_output_to_image(self.detail_pixels(generated, offset), height, width)

    def detail_pixels(self, generated: torch.Tensor, offset: torch.Tensor) -> torch.Tensor:
        """The render of a generated latent plus a decoded detail offset at the model's size, 1 x 3 x S x S in about
        [-1, 1]."""
        from ..priors.face import render
        return render(self.model.prior, generated + offset.to(generated)) * 2 - 1

    def read_header(self, stream: Bitstream) -> ImageHeader:
        """An image stream's codec header: varint quality [+ varint detail step in 1/16, 0 for none [+ varint flags
        (1: geometry, 2: a fine layer) [+ varint fine step in 1/16]]]; BitstreamError when corrupted."""
        reader = Reader(stream.codec_header)
        end = len(stream.codec_header)
        quality = reader.varint("codec header (quality)")
        step, flags, code, fine = None, 0, None, None
        if reader.pos < end:
            code = reader.varint("codec header (detail step)")
            step = code * detail.STEP_UNIT if code else None
        if reader.pos < end:
            flags = reader.varint("codec header (flags)")
        if flags & FINE_FLAG and reader.pos < end:
            fine = reader.varint("codec header (fine step)") * detail.STEP_UNIT
        if (reader.pos != end or flags & ~(GEOMETRY_FLAG | FINE_FLAG) or (code == 0 and not flags)
                or (flags & FINE_FLAG and (not fine or step is None))):
            raise BitstreamError(f"{self.name}: codec header is corrupted")
        most = IMAGE_LAYERS + (fine is not None)
        if len(stream.declared_layers) > most:
            raise BitstreamError(f"{self.name}: this image stream has at most {most} layers, it declares "
                                 f"{len(stream.declared_layers)} (a stream of the layout before 2026-12-06 with a "
                                 f"fourth `detail` layer?)")
        return ImageHeader(quality, step, bool(flags & GEOMETRY_FLAG), fine)

    # ------------------------------------------------------------------ video (the codec's video module)
    @classmethod
    def video(cls):
        return importlib.import_module(cls.__module__.rsplit(".", 1)[0] + ".video")

    def decode_video(self, stream: Bitstream | bytes, layers: int | None = None,
                     decoder: str | None = None) -> list[np.ndarray]:
        if isinstance(stream, (bytes, bytearray)):
            stream = Bitstream.parse(bytes(stream))
        with chosen_decoder(self, decoder):
            return self.video().decode_video(self, stream, layers)
