"""latent-flow's video mode (SGANC "IC", seed 002 Algorithm 1), in the flow's proxy space y = T(s):

- frame 0: intra (the image model's payloads);
- frame t > 0: v_t = round(y_t - y_{t-1}) (open loop, the paper's: differences of the encoder's latents) or
  v_t = round(y_t - ŷ_{t-1}) (closed loop: against the decoded latent), coded with the learned difference
  model; the decoder accumulates ŷ_t = ŷ_{t-1} + v_t;
- open loop, every g-th frame (t ≡ 0 mod g): the residual r_t = round(y_t - ŷ_t), coded with the residual
  model (lamina.codecs.latent_flow.residual: `adaptive`, the default, or the paper's fixed Irwin-Hall(n = g + 2)
  pmf), ŷ_t += r_t. Closed loop has no drift and sends no residual.

- detail (with --detail-step given; video: off by default): every g-th frame from 0 (a key frame) codes the coarse
  TAEF2-latent residual against the latent its decoded styles generate (lamina.priors.detail); every frame of its
  group adds that offset to the latent its own styles generate, so the identity-bearing texture costs one detail
  payload per g frames (the clip's framing is fixed by the first frame's alignment, or, reframed, by each frame's).
- reframe (`--reframe`, lamina.codecs.reframe): every frame is coded warped into the shared framing by its own
  similarity transform, sent at the head of the basic layer; the decoder warps each rendered frame back.

Container: kind 1 (video); layer k (basic / middle / enhanced) packs every frame's payload of style group k
(groups are coded independently, so the first k layers decode frames from the first k groups); layer 4, detail,
packs the key frames' detail payloads. A frame's payload: varint length of the intra / difference bytes, those
bytes, then (anchor frames) the residual bytes. Codec header: varint quality, frames, g, mode (0 open loop with
Irwin-Hall residuals, 1 closed loop, 2 open loop with adaptive residuals), fps x 1000[, detail step /
detail.STEP_UNIT when the detail layer is present]; a reframed clip: the detail step (0 without the detail layer),
then flags 1, and its basic layer starts with the transforms (varint length + reframe.pack).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ...bitstream import (KIND_VIDEO, Bitstream, Layer, Reader, check_video_size, encode_varint, pack_payloads,
                          unpack_payloads)
from ...errors import BitstreamError, InputError
from ...vision.face import require_framed_face
from ...priors import detail
from .. import geometry, reframe
from . import residual as residual_model
from .model import LAYER_NAMES

LOOPS = ("open", "closed")
# The header's mode field: (loop, residual model); streams written before issue 26 carry 0 or 1.
MODES = (("open", "irwin-hall"), ("closed", None), ("open", "adaptive"))


@dataclass(frozen=True)
class VideoHeader:
    quality: int
    frames: int
    gop: int
    loop: str
    fps: float
    detail_step: float | None = None
    residual: str | None = "irwin-hall"   # None: closed loop (no residuals)
    reframe: bool = False                 # every frame coded in the framing (lamina.codecs.reframe)
    geometry: bool = False                # every frame's basic payload starts with a geometry increment


def video_header(stream: Bitstream) -> VideoHeader:
    if stream.kind != KIND_VIDEO:
        raise BitstreamError("not a video stream")
    reader = Reader(stream.codec_header)
    quality, frames, gop = reader.varint("quality"), reader.varint("frames"), reader.varint("gop")
    mode, fps = reader.varint("mode"), reader.varint("fps")
    code, reframed, has_geometry = reframe.read_header_tail(reader, len(stream.codec_header))
    step = None if code is None else code * detail.STEP_UNIT
    if reader.pos != len(stream.codec_header) or frames < 1 or gop < 1 or mode >= len(MODES):
        raise BitstreamError("latent-flow video codec header is corrupted")
    if (step is None) != (len(stream.declared_layers) <= len(LAYER_NAMES)):
        raise BitstreamError("latent-flow video codec header and layer count disagree about the detail layer")
    check_video_size(stream, frames)
    loop, residual = MODES[mode]
    return VideoHeader(quality, frames, gop, loop, fps / 1000, step, residual, reframed, has_geometry)


def mode_code(loop: str, residual: str) -> int:
    return MODES.index(("closed", None) if loop == "closed" else (loop, residual_model.check(residual)))


def is_anchor(t: int, gop: int, loop: str) -> bool:
    """Whether frame t carries a residual."""
    return loop == "open" and t > 0 and t % gop == 0


def _delta_medians(eb, like: torch.Tensor) -> torch.Tensor:
    return eb.quantiles[:, 0, 1].detach().reshape(1, -1, 1).to(like)


@torch.no_grad()
def code_proxies(model, proxies: list[list[torch.Tensor]], gop: int, loop: str,
                 residual: str = residual_model.DEFAULT):
    """Code a clip's proxies (per frame, per group 1 x C x 1). Returns (per group the frames' payloads,
    per frame the decoded proxies, per anchor frame the residual integers (all groups) for analysis)."""
    if gop < 1:
        raise InputError(f"GOP must be >= 1, got {gop}")
    if loop not in LOOPS:
        raise InputError(f"loop must be one of {LOOPS}, got {loop!r}")
    groups = len(proxies[0])
    payloads: list[list[bytes]] = [[] for _ in range(groups)]
    decoded, residuals, previous = [], [], None
    for t, ys in enumerate(proxies):
        current, anchor_values = [], []
        for k, y in enumerate(ys):
            if t == 0:
                body = model.entropy[k].compress(y)[0]
                y_hat = model.entropy[k].decompress([body], (1,))
            else:
                reference = proxies[t - 1][k] if loop == "open" else previous[k]
                v = torch.round(y - reference)
                eb = model.delta[k]
                body = eb.compress(v + _delta_medians(eb, v))[0]
                y_hat = previous[k] + v
            tail = b""
            if is_anchor(t, gop, loop):
                r = residual_model.representable(torch.round(y - y_hat).reshape(-1).long().numpy(), gop, residual)
                tail = residual_model.encode(r, gop, residual)
                r = torch.from_numpy(r).to(y_hat).reshape(y_hat.shape)
                y_hat = y_hat + r
                anchor_values.append(r.reshape(-1))
            payloads[k].append(encode_varint(len(body)) + body + tail)
            current.append(y_hat)
        if anchor_values:
            residuals.append(torch.cat(anchor_values).long().numpy())
        decoded.append(current)
        previous = current
    return payloads, decoded, residuals


@torch.no_grad()
def decode_proxies(model, per_group: list[list[bytes]], count: int, gop: int, loop: str,
                   residual: str | None = residual_model.DEFAULT) -> list[list[torch.Tensor]]:
    """Per frame the decoded proxies of the groups in `per_group` (the inverse of code_proxies)."""
    decoded, previous = [], None
    for t in range(count):
        current = []
        for k, frames in enumerate(per_group):
            reader = Reader(frames[t])
            body = reader.take(reader.varint("payload length"), "intra / difference bytes")
            tail = frames[t][reader.pos:]
            try:
                if t == 0:
                    y_hat = model.entropy[k].decompress([body], (1,))
                else:
                    eb = model.delta[k]
                    v = torch.round(eb.decompress([body], (1,)) - _delta_medians(eb, previous[k]))
                    y_hat = previous[k] + v
            except Exception as exc:
                raise BitstreamError(f"latent-flow frame {t} cannot be decoded: {exc}") from exc
            if is_anchor(t, gop, loop):
                r = residual_model.decode(tail, y_hat.numel(), gop, residual)
                y_hat = y_hat + torch.from_numpy(r).to(y_hat).reshape(y_hat.shape)
            elif tail:
                raise BitstreamError(f"latent-flow frame {t} has trailing bytes: stream is corrupted")
            if not torch.isfinite(y_hat).all():
                raise BitstreamError(f"latent-flow frame {t} decodes to non-finite values: stream is corrupted")
            current.append(y_hat)
        decoded.append(current)
        previous = current
    return decoded


def clip_proxies(codec, frames: list[np.ndarray]) -> list[list[torch.Tensor]]:
    """The flow's proxies of every frame (per group 1 x C x 1); with codec.temporal_smooth, of the frames'
    styles smoothed in time (face_codec.smooth_in_time)."""
    from ..face_codec import smooth_in_time
    with torch.no_grad():
        styles = smooth_in_time([codec.styles_of(frame) for frame in frames], codec.temporal_smooth)
        return [codec.model.to_proxy(s) for s in styles]


def encode_video(codec, frames: list[np.ndarray], fps: float, gop: int, loop: str,
                 residual: str = residual_model.DEFAULT, reframed: bool = False) -> Bitstream:
    if gop < 1:
        raise InputError(f"GOP must be >= 1, got {gop}")
    if loop not in LOOPS:
        raise InputError(f"loop must be one of {LOOPS}, got {loop!r}")
    from ...video import check_frames
    h, w = check_frames(frames)
    if codec.check_face:  # one framing for the clip: the first frame must hold a framed face
        require_framed_face(frames[0])
    transforms = None
    if reframed:  # code every frame in the framing; the decoder warps it back
        transforms, frames = reframe.chips(frames)
    mode = mode_code(loop, residual)
    payloads, decoded, _ = code_proxies(codec.model, clip_proxies(codec, frames), gop, loop, residual)
    header = (encode_varint(codec.quality) + encode_varint(len(frames)) + encode_varint(gop)
              + encode_varint(mode) + encode_varint(int(round(fps * 1000))))
    names, detail_code, details = LAYER_NAMES, None, None
    if codec.video_detail_step:
        details = []
        with torch.no_grad():
            for t in range(0, len(frames), gop):
                details.append(codec.detail_payload(codec.model_input(frames[t]), codec.model.from_proxy(decoded[t]),
                                                    codec.video_detail_step))
        payloads = payloads + [details]
        names = LAYER_NAMES + ("detail",)
        detail_code = detail.step_code(codec.video_detail_step)
    if codec.video_geometry:  # fitted on what the whole stream decodes to, sent in the basic layer
        pixels = _frame_pixels(codec, decoded, details, gop, codec.video_detail_step, exact=True)
        payloads[0] = [geometry.pack(increment) + payload
                       for increment, payload in zip(geometry.fit_frames(pixels, frames), payloads[0])]
    header += reframe.header_tail(detail_code, reframed, codec.video_geometry)
    packed = [pack_payloads(p) for p in payloads]
    if reframed:
        packed[0] = reframe.with_transforms(transforms, packed[0])
    layers = tuple(Layer(name, p) for name, p in zip(names, packed))
    return Bitstream(codec.name, h, w, layers, model_id=codec.model_id, kind=KIND_VIDEO, codec_header=header)


@torch.no_grad()
def _frame_pixels(codec, decoded: list[list[torch.Tensor]], details: list[bytes] | None, gop: int,
                  step: float | None, exact: bool = False) -> list[torch.Tensor]:
    """Per frame the render at the model's size (1 x 3 x S x S in about [-1, 1]) of its decoded proxies (the groups
    held) and, with `details`, its group's key-frame detail offset; exact: in float64 (the flow's float64 twin,
    codec.exact_render: the geometry fit's pictures)."""
    frames, offset = [], None
    for t, ys in enumerate(decoded):
        styles = codec.exact_from_proxy(ys) if exact else codec.model.from_proxy(ys)
        if details is None:
            frames.append(codec.exact_render(styles, len(ys)) if exact else codec.model.synthesize(styles, len(ys)))
            continue
        generated = codec.generated_latent(styles.float())   # exact: for the offset's shape only
        if t % gop == 0:
            offset = detail.decode(details[t // gop], tuple(generated.shape[1:]), step)
        frames.append(codec.exact_render(styles, len(LAYER_NAMES), offset) if exact
                      else codec.detail_pixels(generated, offset))
    return frames


@torch.no_grad()
def decode_video(codec, stream: Bitstream, layers: int | None = None) -> list[np.ndarray]:
    stream = codec.check_stream(stream)
    header = video_header(stream)
    k = stream.available_layers if layers is None else layers
    if not 1 <= k <= stream.available_layers:
        raise BitstreamError(f"cannot decode {k} layers: stream holds {stream.available_layers}")
    styled = min(k, len(LAYER_NAMES))
    payloads = [stream.layers[j].payload for j in range(styled)]
    transforms = None
    if header.reframe:
        transforms, payloads[0] = reframe.split_transforms(payloads[0], header.frames)
    per_group = [unpack_payloads(payloads[j], header.frames, f"{LAYER_NAMES[j]} payload") for j in range(styled)]
    increments = None
    if header.geometry:
        increments, basic = zip(*(geometry.unpack(payload) for payload in per_group[0]))
        per_group[0] = list(basic)
    decoded = decode_proxies(codec.model, per_group, header.frames, header.gop, header.loop, header.residual)
    details = None
    if k > styled:
        keys = (header.frames + header.gop - 1) // header.gop
        details = unpack_payloads(stream.layers[styled].payload, keys, "detail payload")
    pixels = _frame_pixels(codec, decoded, details, header.gop, header.detail_step)
    return reframe.unchip(geometry.frames_to_images(pixels, increments, stream.height, stream.width), transforms)
