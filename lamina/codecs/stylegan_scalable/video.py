"""stylegan-scalable's key-frame video mode: one container of kind 1 whose `basic` layer packs every frame's
basic payload and whose `middle` / `enhanced` layers pack the key frames'; a non-key frame decodes with its key
frame's middle and enhanced styles."""
from __future__ import annotations

import numpy as np
import torch

from ...bitstream import (KIND_VIDEO, Bitstream, Layer, Reader, check_video_size, encode_varint, pack_payloads,
                          unpack_payloads)
from ...errors import BitstreamError, InputError
from ...vision.face import require_framed_face
from .model import LAYER_NAMES


def encode_video(codec, frames: list[np.ndarray], fps: float, keyframe_interval: int) -> Bitstream:
    """Key frames (every `keyframe_interval`-th, from 0) with all three layers, other frames with the basic
    layer only. Layer payloads: basic = every frame's basic payload; middle / enhanced = the key frames'.
    Codec header: varint quality, frame count, key-frame interval, fps x 1000."""
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
    per_layer: list[list[bytes]] = [[], [], []]
    with torch.no_grad():
        for i, frame in enumerate(frames):
            key = i % keyframe_interval == 0
            payloads = codec.model.entropy.compress(codec.model.encode(codec.model_input(frame)), None if key else 1)
            for k, payload in enumerate(payloads):
                per_layer[k].append(payload)
    header = (encode_varint(codec.quality) + encode_varint(len(frames)) + encode_varint(keyframe_interval)
              + encode_varint(int(round(fps * 1000))))
    layers = tuple(Layer(name, pack_payloads(p)) for name, p in zip(LAYER_NAMES, per_layer))
    return Bitstream(codec.name, h, w, layers, model_id=codec.model_id, kind=KIND_VIDEO, codec_header=header)


def video_header(stream: Bitstream) -> tuple[int, int, float]:
    """(frames, keyframe interval, fps) of a video stream."""
    if stream.kind != KIND_VIDEO:
        raise BitstreamError("not a video stream")
    reader = Reader(stream.codec_header)
    reader.varint("quality")
    frames, interval, fps = reader.varint("frames"), reader.varint("keyframe interval"), reader.varint("fps")
    if reader.pos != len(stream.codec_header) or frames < 1 or interval < 1:
        raise BitstreamError("video codec header is corrupted")
    check_video_size(stream, frames)
    return frames, interval, fps / 1000


@torch.no_grad()
def decode_video(codec, stream: Bitstream, layers: int | None = None) -> list[np.ndarray]:
    """Frames decoded from the first `layers` layers: frame t uses its own basic styles and, from 2 layers on,
    the middle (and enhanced) styles of its key frame."""
    stream = codec.check_stream(stream)
    count, interval, _ = video_header(stream)
    k = stream.available_layers if layers is None else layers
    if not 1 <= k <= stream.available_layers:
        raise BitstreamError(f"cannot decode {k} layers: stream holds {stream.available_layers}")
    keys = (count + interval - 1) // interval
    basic = unpack_payloads(stream.layers[0].payload, count, "basic payload")
    upper = [unpack_payloads(stream.layers[j].payload, keys, f"{LAYER_NAMES[j]} payload") for j in range(1, k)]
    frames, key_styles = [], None
    for t in range(count):
        if t % interval == 0 and k > 1:  # a key frame: its own styles for every layer held
            styles = key_styles = codec.decode_styles([basic[t]] + [layer[t // interval] for layer in upper])
        else:
            styles = codec.decode_styles([basic[t]])
            if k > 1:
                styles = torch.cat([styles, key_styles[:, styles.shape[1]:]], dim=1)
        frames.append(codec.render(styles, k, stream.height, stream.width))
    return frames
