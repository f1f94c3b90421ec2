"""The ffmpeg binary bundled with imageio-ffmpeg (it has libvvenc, libx265, libaom and a VVC decoder)."""
from __future__ import annotations

import subprocess
from functools import lru_cache

from .errors import BitstreamError


@lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    """Path of the bundled ffmpeg binary."""
    import imageio_ffmpeg
    return imageio_ffmpeg.get_ffmpeg_exe()


def run_ffmpeg(args: list[str], data: bytes, what: str) -> bytes:
    """Run ffmpeg (one thread, quiet) on stdin bytes; stdout bytes, or BitstreamError naming `what`."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-threads", "1"] + args
    result = subprocess.run(cmd, input=data, capture_output=True, timeout=300)
    if result.returncode != 0:
        raise BitstreamError(f"{what} failed: {result.stderr.decode(errors='replace').strip()[-200:]}")
    return result.stdout
