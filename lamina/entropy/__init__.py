"""Symbols <-> bytes helpers shared by codecs (CompressAI bottlenecks and their payload framing)."""
from __future__ import annotations

import copy

import torch


def split_aux_parameters(model: torch.nn.Module, frozen_prefixes: tuple[str, ...] = ()) -> dict[str, list]:
    """{'main': every parameter but the entropy bottlenecks' quantiles (and names under frozen_prefixes),
    'aux': the quantiles, which CompressAI's auxiliary loss trains with their own optimiser}."""
    main, aux = [], []
    for name, parameter in model.named_parameters():
        if name.endswith(".quantiles"):
            aux.append(parameter)
        elif not name.startswith(frozen_prefixes):
            main.append(parameter)
    return {"main": main, "aux": aux}


_TWINS: dict[int, tuple[torch.nn.Module, torch.nn.Module]] = {}


def float64_twin(module: torch.nn.Module) -> torch.nn.Module:
    """A float64 copy of `module` (made once per module object and cached; not for a module still being
    trained). Codecs compute every value that decides a coded symbol's distribution with it on both sides of a
    stream: float32 results differ between CPUs by ~1e-6 relative, enough to move a value across a rounding or
    scale-table boundary now and then; float64 differences (~1e-15) practically never do."""
    entry = _TWINS.get(id(module))
    if entry is None or entry[0] is not module:
        entry = (module, copy.deepcopy(module).double().eval().requires_grad_(False))
        _TWINS[id(module)] = entry
    return entry[1]
