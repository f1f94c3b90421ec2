"""Reading weight files: always `weights_only=True`, always a clear InputError when a file is unusable."""
from __future__ import annotations

from pathlib import Path

import torch

from .errors import InputError


def read_checkpoint(path: Path, what: str):
    """torch.load(path, weights_only=True) on CPU; InputError for a missing, truncated or foreign file."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{what} weights not found: {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated zip, not a torch file, pickled code refused by weights_only, ...
        raise InputError(f"cannot read {what} weights {path}: {str(exc).splitlines()[0][:200]}") from exc
