"""The ffmpeg binary bundled with imageio-ffmpeg (it has libvvenc, libx265, libaom and a VVC decoder)."""
from __future__ import annotations

import subprocess
from functools import lru_cache

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
