"""Where the shared data folder is (../shared/data beside the repository, or $LAMINA_DATA): a neutral home read
by the dataset readers (lamina.data) and by the zoo for the pretrained weights that ship with the data."""
from __future__ import annotations

import os
from pathlib import Path

from .errors import InputError

DEFAULT_ROOT = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The shared data folder: argument, $LAMINA_DATA, or ../shared/data beside the repo."""
    path = Path(root or os.environ.get("LAMINA_DATA") or DEFAULT_ROOT)
    if not path.is_dir():
        raise InputError(f"shared data folder not found: {path} (set LAMINA_DATA or pass --data-root)")
    return path
