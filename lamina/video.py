"""Video input/output for codecs that code video (stylegan-scalable's key-frame mode), through the ffmpeg that
imageio-ffmpeg bundles. ffmpeg delivers every frame at the first frame's size; frame lists given through the API
are checked for equal sizes by the codec."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .errors import InputError

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".avi", ".webm")


def is_video_path(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def read_video(path: str | os.PathLike, max_frames: int | None = None) -> tuple[list[np.ndarray], float]:
    """(RGB uint8 frames, fps) of a video file; InputError for missing or unreadable files."""
    import imageio_ffmpeg
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such video file")
    try:
        reader = imageio_ffmpeg.read_frames(str(path), pix_fmt="rgb24")
        meta = next(reader)
        w, h = meta["size"]
        frames = []
        for raw in reader:
            frames.append(np.frombuffer(raw, np.uint8).reshape(h, w, 3).copy())
            if max_frames and len(frames) >= max_frames:
                break
        reader.close()
    except (OSError, RuntimeError, StopIteration, KeyError) as exc:
        raise InputError(f"{path}: cannot be read as a video ({str(exc).splitlines()[0][:120]})") from exc
    if not frames:
        raise InputError(f"{path}: the video has no frames")
    return frames, float(meta.get("fps") or 25.0)


def write_video(path: str | os.PathLike, frames: list[np.ndarray], fps: float) -> None:
    """Write frames as an H.264 mp4 (CRF 12, yuv420p) atomically."""
    import imageio_ffmpeg
    path = Path(path)
    if path.suffix.lower() != ".mp4":
        raise InputError(f"decoded video is written as .mp4, not {path.name}")
    h, w = frames[0].shape[:2]
    tmp = path.with_name(path.name + ".tmp.mp4")
    writer = imageio_ffmpeg.write_frames(str(tmp), (w, h), fps=fps, codec="libx264", quality=None,
                                         output_params=["-crf", "12"], pix_fmt_out="yuv420p", macro_block_size=1)
    writer.send(None)
    for frame in frames:
        writer.send(np.ascontiguousarray(frame))
    writer.close()
    os.replace(tmp, path)


# Classic video baselines for the key-frame mode's evaluation (x265 and VVenC through the bundled ffmpeg, their
# default random-access GOPs, constant QP, 4:2:0): the elementary stream's bytes and the decoded frames.
VIDEO_BASELINES = {
    "x265": (["-c:v", "libx265", "-x265-params", "qp={qp}:info=0:log-level=error"], "hevc", "hevc", (0, 51)),
    "vvenc": (["-c:v", "libvvenc", "-qp", "{qp}", "-preset", "medium"], "vvc", "vvc", (0, 63)),
}


def check_frames(frames: list[np.ndarray]) -> tuple[int, int]:
    """(height, width) of a clip whose frames all have one size; InputError for no frames or variable sizes."""
    if not frames:
        raise InputError("the video has no frames")
    h, w = frames[0].shape[:2]
    for i, frame in enumerate(frames):
        if frame.shape != frames[0].shape:
            raise InputError(f"frame {i} is {frame.shape[1]}x{frame.shape[0]}, frame 0 is {w}x{h}: "
                             f"variable frame sizes are not supported")
    return h, w


def baseline_video_round_trip(frames: list[np.ndarray], fps: float, encoder: str, qp: int) -> tuple[bytes, list[np.ndarray]]:
    """(elementary stream, decoded RGB frames) of frames coded by a classic video encoder at constant QP."""
    stream = baseline_video_encode(frames, fps, encoder, qp)
    h, w = frames[0].shape[:2]
    return stream, baseline_video_decode(stream, encoder, h, w, len(frames))


def baseline_video_encode(frames: list[np.ndarray], fps: float, encoder: str, qp: int) -> bytes:
    """The elementary stream of frames coded by a classic video encoder (VIDEO_BASELINES) at constant QP."""
    from .ffmpeg import run_ffmpeg
    if encoder not in VIDEO_BASELINES:
        raise InputError(f"unknown video baseline {encoder!r}; known: {', '.join(VIDEO_BASELINES)}")
    args, muxer, _, (low, high) = VIDEO_BASELINES[encoder]
    if not low <= qp <= high:
        raise InputError(f"{encoder}: QP must be {low}..{high}, got {qp}")
    h, w = frames[0].shape[:2]
    if h % 2 or w % 2 or any(f.shape != frames[0].shape for f in frames):
        raise InputError("video baselines need equal, even frame sizes")
    raw = b"".join(np.ascontiguousarray(f).tobytes() for f in frames)
    cmd = (["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", f"{fps:g}", "-i", "pipe:",
            "-pix_fmt", "yuv420p"] + [a.format(qp=qp) for a in args] + ["-f", muxer, "pipe:"])
    return run_ffmpeg(cmd, raw, f"{encoder} encoder")


def baseline_video_decode(stream: bytes, encoder: str, height: int, width: int, count: int) -> list[np.ndarray]:
    """Decoded RGB frames of an elementary stream from baseline_video_encode; InputError (a LaminaError) when it
    does not give exactly `count` frames of height x width."""
    from .ffmpeg import decode_in_process
    _, _, decoder, _ = VIDEO_BASELINES[encoder]
    frames = decode_in_process(stream, decoder, f"{encoder} decoder")
    if len(frames) != count or any(frame.shape != (height, width, 3) for frame in frames):
        raise InputError(f"{encoder} decoded {len(frames)} frames of {count} ({height}x{width} expected)")
    return frames


def baseline_video_decode_with_process(stream: bytes, encoder: str, height: int, width: int,
                                       count: int) -> list[np.ndarray]:
    """baseline_video_decode through the ffmpeg binary (the reference path; tests compare the two)."""
    from .ffmpeg import run_ffmpeg
    _, muxer, decoder, _ = VIDEO_BASELINES[encoder]
    decoded = run_ffmpeg(["-f", muxer, "-c:v", decoder, "-i", "pipe:", "-f", "rawvideo", "-pix_fmt", "rgb24",
                          "pipe:"], stream, f"{encoder} decoder")
    if len(decoded) != count * height * width * 3:
        raise InputError(f"{encoder} decoded {len(decoded) // (height * width * 3)} of {count} frames")
    out = np.frombuffer(decoded, np.uint8).reshape(count, height, width, 3)
    return [frame.copy() for frame in out]
