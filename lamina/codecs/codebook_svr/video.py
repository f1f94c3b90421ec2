"""codebook-svr's video mode (SVR §3.4): no motion; per frame only the codebook indices that changed since the
previous frame, and the low-quality frames as one x265 (or VVenC) video.

- indices (index coding 1, written since issue 26): one rANS stream for the clip (lamina.codecs.codebook_svr.
  temporal): frame 0's every index as for images, then per frame the change mask with neighbourhood contexts and
  each changed index given the previous index and its neighbours' indices; the decoder copies the rest from frame
  t-1 (indices are lossless, so nothing drifts). Index coding 0 (older streams, still decoded): one payload per
  frame, frame t > 0 = order-0 adaptive change mask + order-0 adaptive changed indices (34-48% more index bytes
  at q3, 24% at q6 on the training clips);
- fidelity layer: the padded frames downsampled `factor` x, coded by x265 (or VVenC, `--lq-video vvenc`: better
  above q3's rate, worse below it on the training clips) at constant QP (the paper's VVC at QP 42), decoded and
  used as x^LQ of each frame.

- decoder side: the quality's E^LQ + CFT per frame; with `--latent-smooth B` (written in the header) the latent of
  every block whose index did not change is blended with the previous frame's decoded latent (render_frames);
  then the decoded frames through lamina.deflicker's motion-compensated temporal filter (`--deflicker S`, a
  decode option, default DEFLICKER = 0: off; strength 0 leaves the frames as rendered).

Container: kind 1 (video); layer `indices` is the temporal stream (index coding 0: every frame's payload packed,
frame t > 0 = varint length of the mask bytes, mask bytes, index bytes); layer `fidelity` is the x265 elementary
stream (VVenC's with `--lq-video vvenc`). Codec header: varint quality, frames, fps x 1000, LQ QP, index coding
(absent = 0)[, LQ encoder (1 = VVenC; 0 or absent = x265)[, latent smoothing in 1/16 (absent = 0)]].
"""
from __future__ import annotations

import numpy as np
import torch

from ...bitstream import KIND_VIDEO, Bitstream, Layer, Reader, check_video_size, encode_varint, unpack_payloads
from ...errors import BitstreamError, InputError
from ...imageio import downsample, pad_to
from .indexcoding import decode_adaptive, encode_adaptive
from .model import nearest
from .temporal import TemporalIndexCoder

LQ_ENCODERS = ("x265", "vvenc")  # --lq-video; the header's LQ encoder field is its index (absent = x265)
MASK_PRIOR = np.array([0.5, 0.5])
# The low-quality frames' x265 QP per committed quality (--lq-qp overrides): the image ladder's VVC QP carried
# over, so the quality knob changes a video's rate (it did not before: every quality used QP 40).
VIDEO_LQ_QP = {1: 47, 2: 42, 3: 37, 6: 42, 7: 42}
# Encoder-side index stability (--stable): a block keeps the previous frame's index when that codeword is within
# this relative squared distance of the nearest; the decoder is unchanged. 0 = the nearest codeword always.
# Chosen on latent-flow's training clips (lp_d3, lp_d6; 50 aligned frames; docs/results/video/probe-codebook-svr-stable/):
# 0.3 cut q3's rate 36.4 -> 21.3 kbit/s (lp_d3) at LPIPS 0.140 -> 0.144, and lowered the flicker.
STABLE = 0.3
# --stable-neighbours (stable_index_maps): a changed block takes its cheapest-to-code neighbour's index within this
# relative distance. Chosen on the same training clips (docs/results/video/probe-codebook-svr-neighbours/): 0.3 cut
# q1-q3's rate 3-4% for +0.002-0.004 LPIPS (LPIPS BD-rate -3.1% against 0); 1.0 raised both (+10.6%): a block moved
# to a neighbour's codeword that is not its own nearest changes again in the next frame.
NEIGHBOURS = 0.3
# Decoder-side temporal smoothing (--latent-smooth, written in the stream): a block whose index did not change
# takes (1 - B) Y_mod,t + B Y'_t-1 (Y' the smoothed latent the previous frame was decoded from). Off by default:
# on the training clips 0.5 lowered flicker (lp_d3, a moving head: 4.23 -> 3.86 at q1, 3.63 -> 3.50 at q3) but
# raised LPIPS there too (+0.002 / +0.004), and on the evaluation clips it raised flicker from q3 up and cost the
# ladder 3 points of LPIPS BD-rate (docs/results/video/probe-codebook-svr-video-decoder/): an option for the lowest
# rates, where it lowers flicker 2-3%.
LATENT_SMOOTH = 0.0
SMOOTH_UNIT = 16  # the header's smoothing field counts 1/16
# Decoder-side motion-compensated temporal filter (--deflicker, lamina.deflicker; not in the stream): strength.
# Off by default. On the training clips (lp_d3, lp_d6; q1 and q3; docs/results/video/probe-deflicker/) 0.9 at
# tolerance 4 levels was chosen (the strongest flicker cut that raised no clip's LPIPS by more than 0.005: flicker
# -6.7%, LPIPS -0.004 on average); on the evaluation clips (talking-faces-deflicker/) it cut flicker only 2-4% and
# raised LPIPS on every ladder point (+0.001 to +0.008; the ladder's LPIPS BD-rate vs x265 -21.3% -> -18.9%, DISTS
# -21.7% -> -25.8%), so the shipped default stays the measured configuration without it: an option.
DEFLICKER = 0.0
INDEX_CODING = 1  # what encode_video writes: 1 = temporal.TemporalIndexCoder, 0 = per-frame payloads (older)


def video_header(stream: Bitstream) -> dict:
    if stream.kind != KIND_VIDEO:
        raise BitstreamError("not a video stream")
    reader = Reader(stream.codec_header)
    quality, frames, fps, qp = (reader.varint(what) for what in ("quality", "frames", "fps", "LQ QP"))
    coding = reader.varint("index coding") if reader.pos < len(stream.codec_header) else 0
    encoder = reader.varint("LQ encoder") if reader.pos < len(stream.codec_header) else 0
    smooth = reader.varint("latent smoothing") if reader.pos < len(stream.codec_header) else 0
    if (reader.pos != len(stream.codec_header) or frames < 1 or fps < 1 or coding > INDEX_CODING
            or encoder >= len(LQ_ENCODERS) or smooth >= SMOOTH_UNIT):
        raise BitstreamError("codebook-svr video codec header is corrupted")
    check_video_size(stream, frames)
    return {"quality": quality, "frames": frames, "fps": fps / 1000, "lq_qp": qp, "index_coding": coding,
            "lq_video": LQ_ENCODERS[encoder], "latent_smooth": smooth / SMOOTH_UNIT}


def temporal_coder(codec) -> TemporalIndexCoder:
    """The codec's TemporalIndexCoder (its codeword ordering computed once per loaded model)."""
    if getattr(codec, "_temporal", None) is None:
        codec._temporal = TemporalIndexCoder(codec.model.codebook.float().numpy(), codec.model.index_probabilities())
    return codec._temporal


def stable_index_maps(codec, padded: list[np.ndarray], tolerance: float,
                      neighbours: float = 0.0) -> list[np.ndarray]:
    """Each frame's index map: the nearest codewords (as for images); with tolerance > 0, a block keeps the previous
    frame's index when |v - c_prev|² <= (1 + tolerance) |v - c_nearest|², so small motion and noise do not flip
    near-equal indices (fewer changed indices to code); with neighbours > 0, a block that still changes takes the
    nearest of the index coder's candidates (temporal._candidates: its causal neighbours' indices in this frame,
    then the previous frame's 3 x 3) when that codeword is within (1 + neighbours) of the nearest's distance: a
    candidate costs a few bits where any other codeword costs ~8."""
    book = codec.model.codebook.float()
    maps = []
    for frame in padded:
        blocks = codec.model.blocks(codec.latent_of(frame))[0]  # h/g x w/g x 32g², as model.quantize sees them
        vectors = blocks.reshape(-1, blocks.shape[-1]).float()
        indices, _ = nearest(vectors, book)  # exactly model.quantize's choice
        if maps and tolerance > 0:
            previous = torch.from_numpy(maps[-1].ravel())
            d_previous = ((vectors - book[previous]) ** 2).sum(1)
            d_nearest = ((vectors - book[indices]) ** 2).sum(1)
            indices = torch.where(d_previous <= (1 + tolerance) * d_nearest, previous, indices)
        current = indices.reshape(blocks.shape[:2]).numpy()
        if maps and neighbours > 0:
            current = prefer_candidates(vectors, book, current, maps[-1], neighbours)
        maps.append(current)
    return maps


def prefer_candidates(vectors: torch.Tensor, book: torch.Tensor, current: np.ndarray, previous: np.ndarray,
                      neighbours: float) -> np.ndarray:
    """`current` with each changed block (raster order, as the coder sees them) moved to its nearest coding
    candidate when that codeword's squared distance is within (1 + neighbours) of the nearest codeword's."""
    from .temporal import _candidates
    v = vectors.double()
    b = book.double()
    distance = ((v * v).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * v @ b.T).numpy()  # n x K
    nearest_distance = distance.min(1)
    out = current.copy()
    h, w = out.shape
    for y in range(h):
        for x in range(w):
            if out[y, x] == previous[y, x]:
                continue
            options = _candidates(out, previous, y, x)
            if not options:
                continue
            row = distance[y * w + x]
            best = min(options, key=lambda c: (row[c], c))
            if row[best] <= (1 + neighbours) * nearest_distance[y * w + x]:
                out[y, x] = best
    return out


def code_index_maps(maps: list[np.ndarray], prior: np.ndarray) -> tuple[list[bytes], float]:
    """Index coding 0 (older streams; tests write them to check they still decode): per frame payloads of a
    sequence of index maps, and the fraction of indices unchanged from the previous frame (frames 1..T-1)."""
    payloads, unchanged, total = [encode_adaptive(maps[0].ravel(), prior)], 0, 0
    for previous, current in zip(maps, maps[1:]):
        changed = (current != previous).ravel()
        mask = encode_adaptive(changed.astype(np.int64), MASK_PRIOR)
        values = encode_adaptive(current.ravel()[changed], prior) if changed.any() else b""
        payloads.append(encode_varint(len(mask)) + mask + values)
        unchanged += int((~changed).sum())
        total += changed.size
    return payloads, (unchanged / total if total else 1.0)


def decode_index_maps(payloads: list[bytes], shape: tuple[int, int], prior: np.ndarray) -> list[np.ndarray]:
    count = shape[0] * shape[1]
    maps = [decode_adaptive(payloads[0], count, prior).reshape(shape)]
    for t, payload in enumerate(payloads[1:], start=1):
        reader = Reader(payload)
        mask_bytes = reader.take(reader.varint(f"frame {t} mask length"), f"frame {t} change mask")
        changed = decode_adaptive(mask_bytes, count, MASK_PRIOR).astype(bool)
        current = maps[-1].ravel().copy()
        if changed.any():
            current[changed] = decode_adaptive(payload[reader.pos:], int(changed.sum()), prior)
        elif reader.pos != len(payload):
            raise BitstreamError(f"codebook-svr frame {t} has trailing bytes: stream is corrupted")
        maps.append(current.reshape(shape))
    return maps


@torch.no_grad()
def encode_video(codec, frames: list[np.ndarray], fps: float, stats: dict | None = None) -> Bitstream:
    from ...video import baseline_video_encode, check_frames
    h, w = check_frames(frames)
    if min(h, w) < codec.multiple:
        raise InputError(f"codebook-svr needs frames of at least {codec.multiple}x{codec.multiple}, got {w}x{h}")
    padded = [pad_to(frame, codec.multiple) for frame in frames]
    maps = stable_index_maps(codec, padded, codec.stable, codec.neighbours)
    indices = temporal_coder(codec).encode(maps)
    lq = baseline_video_encode([downsample(frame, codec.factor) for frame in padded], fps, codec.lq_video, codec.lq_qp)
    if stats is not None:
        changed = sum(int((a != b).sum()) for a, b in zip(maps, maps[1:]))
        total = sum(m.size for m in maps[1:])
        stats.update(unchanged=1 - changed / total if total else 1.0, index_bytes=len(indices), lq_bytes=len(lq))
    fields = [codec.quality, len(frames), round(fps * 1000), codec.lq_qp, INDEX_CODING]
    smooth = round(codec.latent_smooth * SMOOTH_UNIT)
    optional = [LQ_ENCODERS.index(codec.lq_video), smooth]  # written up to the last one that is not 0
    while optional and not optional[-1]:
        optional.pop()
    fields += optional
    header = b"".join(encode_varint(v) for v in fields)
    return Bitstream(codec.name, h, w, (Layer("indices", indices), Layer("fidelity", lq)),
                     model_id=codec.model_id, kind=KIND_VIDEO, codec_header=header)


@torch.no_grad()
def decode_video(codec, stream: Bitstream, layers: int | None = None, alpha: float | None = None,
                 lq_only: bool | None = None, deflicker: float | None = None) -> list[np.ndarray]:
    from ...deflicker import check_strength
    from ...deflicker import deflicker as temporal_filter
    strength = check_strength(DEFLICKER if deflicker is None else deflicker)  # before any decoding
    info = video_header(stream)
    k = stream.available_layers if layers is None else layers
    if not 1 <= k <= stream.available_layers:
        raise BitstreamError(f"cannot decode {k} layers: stream holds {stream.available_layers}")
    alpha = 1.0 if alpha is None else float(alpha)
    if not 0.0 <= alpha <= 1.0:
        raise InputError(f"codebook-svr: alpha must be in [0, 1], got {alpha:g}")
    if lq_only and k < 2:
        raise InputError("--lq-only needs the fidelity layer (layer 2)")
    lq_frames = None
    if k >= 2:
        lq_frames = decode_lq_frames(codec, stream, info)
        if lq_only:
            return [codec.upsample_lq(lq, stream.height, stream.width) for lq in lq_frames]
    frames = render_frames(codec, decode_maps(codec, stream, info), lq_frames, alpha, info["latent_smooth"],
                           stream.height, stream.width)
    return temporal_filter(frames, strength)


def decode_lq_frames(codec, stream: Bitstream, info: dict) -> list[np.ndarray]:
    """The fidelity layer's decoded low-quality frames (info: video_header's)."""
    from ...video import baseline_video_decode
    gh, gw = codec.grid_shape(stream.height, stream.width)
    m = codec.multiple // codec.factor
    try:
        return baseline_video_decode(stream.layers[1].payload, info["lq_video"], gh * m, gw * m, info["frames"])
    except InputError as exc:
        raise BitstreamError(f"codebook-svr fidelity video cannot be decoded: {exc}") from exc


def decode_maps(codec, stream: Bitstream, info: dict) -> list[np.ndarray]:
    """Every frame's index map from the indices layer (either index coding; info: video_header's)."""
    shape = codec.grid_shape(stream.height, stream.width)
    if info["index_coding"] == 1:
        return temporal_coder(codec).decode(stream.layers[0].payload, info["frames"], shape)
    payloads = unpack_payloads(stream.layers[0].payload, info["frames"], "codebook-svr frame")
    return decode_index_maps(payloads, shape, codec.model.index_probabilities())


def render_frames(codec, maps: list[np.ndarray], lq_frames: list[np.ndarray] | None, alpha: float, smooth: float,
                  height: int, width: int, model=None) -> list[np.ndarray]:
    """Every frame through the TAEF2 decoder (`model`'s E^LQ + CFT: the codec's own unless given); with
    smooth > 0, the latent of each block whose index is the previous frame's is blended with the previous frame's
    decoded latent (weight `smooth` on the previous)."""
    from ...imageio import to_uint8
    from ...nn.taef2 import decode
    out, previous = [], None
    for t, index_map in enumerate(maps):
        y = codec.code_latent(torch.from_numpy(index_map[None]), None if lq_frames is None else lq_frames[t], alpha,
                              model)
        if smooth > 0 and previous is not None:
            same = torch.from_numpy(index_map == maps[t - 1]).to(y.device)
            same = same.repeat_interleave(codec.grid, 0).repeat_interleave(codec.grid, 1)[None, None]
            y = torch.where(same, smooth * previous + (1 - smooth) * y, y)
        previous = y
        out.append(to_uint8(decode(y), height, width))
    return out
