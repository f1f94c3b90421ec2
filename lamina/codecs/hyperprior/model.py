"""The CompressAI networks behind the learned baselines: Ballé 2018 scale hyperprior (`hyperprior`) and
Minnen 2018 mean-scale hyperprior without the autoregressive context (`mean-scale`); reading and writing
their weights through lamina.zoo."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import torch

from ... import zoo
from ...errors import InputError

ARCHS = {"hyperprior": "ScaleHyperprior", "mean-scale": "MeanScaleHyperprior"}


def build_network(arch: str, n: int, m: int) -> torch.nn.Module:
    """A CompressAI network of this lamina arch name with N and M channels."""
    from ...compat import import_compressai
    import_compressai()
    from compressai.models import MeanScaleHyperprior, ScaleHyperprior
    if arch not in ARCHS:
        raise InputError(f"unknown learned architecture {arch!r}")
    return {"hyperprior": ScaleHyperprior, "mean-scale": MeanScaleHyperprior}[arch](N=n, M=m)


def save_weights(network: torch.nn.Module, arch: str, n: int, m: int, path: Path, card: dict | None = None) -> bytes:
    """Write the weights file (lamina.zoo format, fp16 parameters) and its card; returns the 8-byte model id."""
    network.update(force=True)
    # Parameters in fp16; buffers (CDF tables, scale table, LowerBound constants such as the 1e-9
    # likelihood bound, which fp16 would flush to zero) stay as they are.
    return zoo.save(path, arch, {"N": n, "M": m}, zoo.fp16_parameters(network), card)


def load_network(path: Path, arch: str) -> torch.nn.Module:
    """Network from a weights file; clear InputError for missing, corrupted or foreign files."""
    weights = zoo.load(path, arch)
    network = build_network(arch, int(weights.config["N"]), int(weights.config["M"]))
    # The 1e-9 likelihood bounds belong to the architecture: keep the constructor's values. Files written
    # before parameters-only fp16 hold them flushed to zero, which only breaks likelihood *estimates*;
    # the scale bound is part of how those files code, so it is kept as stored.
    constants = {k: v for k, v in network.state_dict().items() if k.endswith("likelihood_lower_bound.bound")}
    state = {k: (v.float() if v.is_floating_point() else v) for k, v in weights.state_dict.items()}
    state.update(constants)
    try:
        network.load_state_dict(state)
    except (RuntimeError, KeyError) as exc:
        raise InputError(f"{path} does not fit the {arch} architecture: {str(exc).splitlines()[0][:200]}") from exc
    return network.eval().requires_grad_(False)


@lru_cache(maxsize=16)
def cached_network(path_str: str, arch: str, device: str):
    """load_network, once per (file, arch, device) in a process."""
    return load_network(Path(path_str), arch).to(device)
