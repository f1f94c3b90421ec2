"""The bijective map T of SGANC (seed 002): a RealNVP flow (Dinh et al. 2017) of masked affine couplings acting
on one style vector, without batch-norm and without a log-det term (only bijectivity is used).

Each coupling k has a mask b_k (even / odd coordinates, alternating) and two 3-layer fully connected nets,
scale s_k (LeakyReLU hidden, Tanh output) and translation t_k (LeakyReLU hidden), both reading b_k ⊙ x:

    forward:  y = b ⊙ x + (1 - b) ⊙ (x ⊙ exp(s(b ⊙ x)) + t(b ⊙ x))
    inverse:  x = b ⊙ y + (1 - b) ⊙ (y - t(b ⊙ y)) ⊙ exp(-s(b ⊙ y))

The paper's T has 13 couplings with hidden width = style width (512), 20.5 M parameters; lamina's styles are
128-d, so the same design has 1.29 M. The nets' last layers start at zero: T starts as the identity, i.e. at
the face prior's own operating point (styles rounded at step 1)."""
from __future__ import annotations

import torch
from torch import nn


def _mlp(dim: int, hidden: int, tanh: bool) -> nn.Sequential:
    layers = [nn.Linear(dim, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, hidden), nn.LeakyReLU(0.2),
              nn.Linear(hidden, dim)]
    if tanh:
        layers.append(nn.Tanh())
    nn.init.zeros_(layers[4].weight)
    nn.init.zeros_(layers[4].bias)
    return nn.Sequential(*layers)


class RealNVP(nn.Module):
    """T: R^dim -> R^dim, applied to the last axis (any leading shape)."""

    def __init__(self, dim: int, couplings: int = 13, hidden: int | None = None):
        super().__init__()
        hidden = hidden or dim
        self.scale = nn.ModuleList([_mlp(dim, hidden, tanh=True) for _ in range(couplings)])
        self.shift = nn.ModuleList([_mlp(dim, hidden, tanh=False) for _ in range(couplings)])
        even = (torch.arange(dim) % 2 == 0).float()
        masks = [even if k % 2 == 0 else 1 - even for k in range(couplings)]
        self.register_buffer("masks", torch.stack(masks) if masks else torch.zeros(0, dim))  # 0: the identity

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for b, s_net, t_net in zip(self.masks, self.scale, self.shift):
            xb = x * b
            s, t = s_net(xb) * (1 - b), t_net(xb) * (1 - b)
            x = xb + (1 - b) * (x * torch.exp(s) + t)
        return x

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        for b, s_net, t_net in zip(reversed(self.masks), reversed(self.scale), reversed(self.shift)):
            yb = y * b
            s, t = s_net(yb) * (1 - b), t_net(yb) * (1 - b)
            y = yb + (1 - b) * ((y - t) * torch.exp(-s))
        return y
