"""stylegan-scalable's key-frame video mode: one container of kind 1 whose `basic` layer packs every frame's
basic payload and whose `middle` / `enhanced` layers pack the key frames'; a non-key frame decodes with its key
frame's middle and enhanced styles. With --detail-step given (video: off by default), a fourth layer `detail` packs
each key frame's detail payload (lamina.priors.detail: the coarse TAEF2-latent residual against the latent the
key frame's three style layers generate), and every frame of the key frame's group adds that offset to the latent
its own styles generate: the identity-bearing texture is sent once per key frame (the clip's framing is fixed by
the first frame's alignment, so the offset stays in place while pose and expression change). With --reframe
(lamina.codecs.reframe) every frame is coded warped into the framing by its own similarity transform, sent at the
head of the basic layer, and the decoder warps each rendered frame back."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from ...bitstream import (KIND_VIDEO, Bitstream, Layer, Reader, check_video_size, encode_varint, pack_payloads,
                          unpack_payloads)
from ...errors import BitstreamError, InputError
from ...vision.face import require_framed_face
from ...priors import detail
from .. import geometry, reframe
from .model import LAYER_NAMES


def encode_video(codec, frames: list[np.ndarray], fps: float, keyframe_interval: int) -> Bitstream:
    """Key frames (every `keyframe_interval`-th, from 0) with all three layers, other frames with the basic
    layer only. Layer payloads: basic = every frame's basic payload; middle / enhanced = the key frames'.
    Codec header: varint quality, frame count, key-frame interval, fps x 1000[, detail step code][, for a
    reframed clip: the detail step code (0: none) and flags 1]."""
    if keyframe_interval < 1:
        raise InputError(f"keyframe interval must be >= 1, got {keyframe_interval}")
    if not frames:
        raise InputError("the video has no frames")
    h, w = frames[0].shape[:2]
    if codec.check_face:  # one framing for the clip: the first frame must hold a framed face
        require_framed_face(frames[0])
    for i, frame in enumerate(frames):
        if frame.shape != frames[0].shape:
            raise InputError(f"frame {i} is {frame.shape[1]}x{frame.shape[0]}, frame 0 is {w}x{h}: "
                             f"variable frame sizes are not supported")
    transforms = None
    if codec.reframe:  # code every frame in the framing; the decoder warps it back
        transforms, frames = reframe.chips(frames)
    per_layer: list[list[bytes]] = [[], [], []] + ([[]] if codec.video_detail_step else [])
    from ..face_codec import smooth_in_time
    with torch.no_grad():
        inputs = [codec.model_input(frame) for frame in frames]
        styles = smooth_in_time([codec.model.encode(x) for x in inputs], codec.temporal_smooth)
        for i, x in enumerate(inputs):
            key = i % keyframe_interval == 0
            payloads = codec.model.entropy.compress(styles[i], None if key else 1)
            for k, payload in enumerate(payloads):
                per_layer[k].append(payload)
            if key and codec.video_detail_step:
                per_layer[3].append(codec.detail_payload(x, codec.prior_styles(payloads), codec.video_detail_step))
        if codec.video_geometry:  # fitted on what the whole stream decodes to, sent in the basic layer
            pixels = _frame_pixels(codec, per_layer[0], per_layer[1:3], per_layer[3] if codec.video_detail_step
                                   else None, keyframe_interval, codec.video_detail_step, exact=True)
            per_layer[0] = [geometry.pack(increment) + payload for increment, payload
                            in zip(geometry.fit_frames(pixels, frames), per_layer[0])]
    header = (encode_varint(codec.quality) + encode_varint(len(frames)) + encode_varint(keyframe_interval)
              + encode_varint(int(round(fps * 1000))))
    header += reframe.header_tail(detail.step_code(codec.video_detail_step) if codec.video_detail_step else None,
                                  codec.reframe, codec.video_geometry)
    packed = [pack_payloads(p) for p in per_layer]
    if codec.reframe:
        packed[0] = reframe.with_transforms(transforms, packed[0])
    layers = tuple(Layer(name, p) for name, p in zip(LAYER_NAMES + ("detail",), packed))
    return Bitstream(codec.name, h, w, layers, model_id=codec.model_id, kind=KIND_VIDEO, codec_header=header)


class VideoHeader(NamedTuple):
    frames: int
    keyframe_interval: int
    fps: float
    detail_step: float | None
    reframe: bool = False      # every frame coded in the framing (lamina.codecs.reframe)
    geometry: bool = False     # every frame's basic payload starts with a geometry increment (lamina.codecs.geometry)


def video_header(stream: Bitstream) -> VideoHeader:
    """The codec header of a video stream; BitstreamError when it is not one or is corrupted."""
    if stream.kind != KIND_VIDEO:
        raise BitstreamError("not a video stream")
    reader = Reader(stream.codec_header)
    reader.varint("quality")
    frames, interval, fps = reader.varint("frames"), reader.varint("keyframe interval"), reader.varint("fps")
    code, reframed, has_geometry = reframe.read_header_tail(reader, len(stream.codec_header))
    step = None if code is None else code * detail.STEP_UNIT
    if reader.pos != len(stream.codec_header) or frames < 1 or interval < 1:
        raise BitstreamError("video codec header is corrupted")
    if (step is None) != (len(stream.declared_layers) <= len(LAYER_NAMES)):
        raise BitstreamError("video codec header and layer count disagree about the detail layer")
    check_video_size(stream, frames)
    return VideoHeader(frames, interval, fps / 1000, step, reframed, has_geometry)


def _frame_pixels(codec, basic: list[bytes], upper: list[list[bytes]], details: list[bytes] | None, interval: int,
                  step: float | None, exact: bool = False) -> list[torch.Tensor]:
    """Per frame the render at the model's size (1 x 3 x S x S in about [-1, 1]) of its basic payload (without a
    geometry block), its key frame's `upper` style payloads (middle [, enhanced]) and, with `details`, the key
    frame's detail offset; exact: in float64 (codec.exact_render: the geometry fit's pictures)."""
    frames, key_styles, offset = [], None, None
    styled = 1 + len(upper)
    for t, payload in enumerate(basic):
        if t % interval == 0 and upper:  # a key frame: its own styles for every layer held
            styles = key_styles = codec.decode_styles([payload] + [layer[t // interval] for layer in upper])
        else:
            styles = codec.decode_styles([payload])
            if upper:
                styles = torch.cat([styles, key_styles[:, styles.shape[1]:]], dim=1)
        if details is None:
            frames.append(codec.exact_render(styles.double() * codec.model.coding_step, styled) if exact
                          else codec.model.synthesize(styles, styled))
            continue
        generated = codec.generated_latent(styles * codec.model.coding_step)
        if t % interval == 0:
            offset = detail.decode(details[t // interval], tuple(generated.shape[1:]), step)
        frames.append(codec.exact_render(styles.double() * codec.model.coding_step, len(LAYER_NAMES), offset)
                      if exact else codec.detail_pixels(generated, offset))
    return frames


@torch.no_grad()
def decode_video(codec, stream: Bitstream, layers: int | None = None) -> list[np.ndarray]:
    """Frames decoded from the first `layers` layers: frame t uses its own basic styles and, from 2 layers on,
    the middle (and enhanced) styles of its key frame."""
    stream = codec.check_stream(stream)
    header = video_header(stream)
    count, interval = header.frames, header.keyframe_interval
    k = stream.available_layers if layers is None else layers
    if not 1 <= k <= stream.available_layers:
        raise BitstreamError(f"cannot decode {k} layers: stream holds {stream.available_layers}")
    keys = (count + interval - 1) // interval
    styled = min(k, len(LAYER_NAMES))
    basic, transforms = stream.layers[0].payload, None
    if header.reframe:
        transforms, basic = reframe.split_transforms(basic, count)
    basic = unpack_payloads(basic, count, "basic payload")
    increments = None
    if header.geometry:
        increments, basic = zip(*(geometry.unpack(payload) for payload in basic))
    upper = [unpack_payloads(stream.layers[j].payload, keys, f"{LAYER_NAMES[j]} payload") for j in range(1, styled)]
    details = unpack_payloads(stream.layers[3].payload, keys, "detail payload") if k > styled else None
    pixels = _frame_pixels(codec, list(basic), upper, details, interval, header.detail_step)
    return reframe.unchip(geometry.frames_to_images(pixels, increments, stream.height, stream.width), transforms)
