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


def fp16_parameters(module: torch.nn.Module) -> dict:
    """state_dict with parameters in fp16 and buffers as they are (CDF tables, likelihood bounds and other
    constants that fp16 would break), the form lamina's learned codecs commit their weights in."""
    parameters = {name for name, _ in module.named_parameters()}
    return {k: (v.half() if k in parameters else v) for k, v in module.state_dict().items()}
