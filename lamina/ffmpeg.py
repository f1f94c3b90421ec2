"""ffmpeg for the classic codecs: the binary bundled with imageio-ffmpeg encodes (it has libvvenc, libx265, libaom);
decoding runs in-process through PyAV's bundled libavcodec (`decode_in_process`: ffmpeg's native VVC and HEVC
decoders, libdav1d), which gives the binary's pixels without starting a process per image (~15-35 ms each here).
`run_ffmpeg` stays the reference decoder path; tests check the two agree."""
from __future__ import annotations

import subprocess
from functools import lru_cache

import numpy as np

from .errors import BitstreamError, LaminaError

TIMEOUT_S = 300


@lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    """Path of the bundled ffmpeg binary."""
    import imageio_ffmpeg
    return imageio_ffmpeg.get_ffmpeg_exe()


def run_ffmpeg(args: list[str], data: bytes, what: str) -> bytes:
    """Run ffmpeg (one thread, quiet) on stdin bytes; stdout bytes, or BitstreamError naming `what` (a run
    longer than TIMEOUT_S: LaminaError, one clear line instead of a traceback)."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-threads", "1"] + args
    try:
        result = subprocess.run(cmd, input=data, capture_output=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        raise LaminaError(f"{what} did not finish within {TIMEOUT_S} s") from exc
    if result.returncode != 0:
        raise BitstreamError(f"{what} failed: {result.stderr.decode(errors='replace').strip()[-200:]}")
    return result.stdout


def decode_in_process(payload: bytes, decoder: str, what: str) -> list[np.ndarray]:
    """RGB frames (uint8, HxWx3) of an elementary stream (VVC / HEVC Annex-B, AV1 OBUs) decoded in this process by
    PyAV's libavcodec `decoder` on one thread; BitstreamError naming `what` when it does not decode.

    Colour conversion: libswscale to rgb24 with bicubic chroma interpolation, as the ffmpeg binary converts by
    default (the same pixels on 8- and 10-bit streams; tests/codecs/test_classic.py compares the two paths)."""
    import av
    try:
        context = av.CodecContext.create(decoder, "r")
        context.thread_count = 1
        context.thread_type = "NONE"
        frames = []
        for packet in context.parse(payload) + context.parse(None):
            frames += context.decode(packet)
        frames += context.decode(None)
        return [frame.to_ndarray(format="rgb24", interpolation="BICUBIC") for frame in frames]
    except av.error.FFmpegError as exc:
        raise BitstreamError(f"{what} failed: {exc}") from None
