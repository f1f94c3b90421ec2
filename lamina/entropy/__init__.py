"""Symbols <-> bytes helpers shared by codecs (CompressAI bottlenecks and their payload framing)."""
from __future__ import annotations

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
