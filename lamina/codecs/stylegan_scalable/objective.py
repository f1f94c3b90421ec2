"""The multi-task scalable rate-distortion objective of stylegan-scalable (seed 000, Section III-C, Eqs. 14-26).
Used by StyleganScalableTask (lamina.codecs.stylegan_scalable) on the shared training loop.

  J_L1 = λ R1 + λ_lm D_lm(x̂1) + λ_sg D_sg(x̂1)                                             (Eq. 23)
  J_L2 = λ (R1 + R2) + w1 (λ_lm D_lm(x̂2) + λ_sg D_sg(x̂2)) + λ_ID D_ID(x̂2)                   (Eq. 24)
  J_L3 = λ (R1 + R2 + R3) + w2 (λ_lm D_lm + λ_sg D_sg)(x̂3) + w3 λ_ID D_ID(x̂3)
         + λ_mse D_mse(x̂3) + λ_LPIPS D_LPIPS(x̂3) + λ_adv D_adv(x̂3)                          (Eq. 25)
  J = J_L1 + J_L2 + J_L3                                                                   (Eq. 26)

Stand-ins (docs/architecture.md): D_lm = ||H(x) - H(x̂)||² with lamina's heatmap network, the squared norm of
each landmark's 32x32 heatmap difference averaged over the 68 landmarks (Eq. 17; a mean over every heatmap pixel
made the term ~1000x smaller than the others, so λ_lm = 1 had no effect: measured in the first CPU run); D_sg =
Σ_i 1 - cos(P_i(x̂), P_i(x)) over the parsing network's five feature maps (Eq. 18); D_ID = Σ_i 1 - cos over
five MobileFaceNet feature maps on the fixed 112x96 crop (Eq. 19; ArcFace in the paper); D_LPIPS = LPIPS with
the real AlexNet weights (Eq. 21); D_adv = softplus(-D(x̂)) (Eq. 22). Rates are in bits per pixel.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class ObjectiveWeights:
    """The paper's weights; λ ∈ {5, 10, 15, 20} sets the rate point."""

    lmbda: float = 10.0
    lm: float = 1.0
    sg: float = 1.0
    identity: float = 0.5
    mse: float = 1.0
    lpips: float = 0.8
    adv: float = 0.01
    r1: float = 10.0
    w1: float = 1.5
    w2: float = 2.0
    w3: float = 1.5


def _cosine_distance_sum(features_a: list[torch.Tensor], features_b: list[torch.Tensor]) -> torch.Tensor:
    """Per-sample Σ_i 1 - cos(a_i, b_i) over flattened feature maps."""
    return sum(1 - F.cosine_similarity(a.flatten(1), b.flatten(1), dim=1) for a, b in zip(features_a, features_b))


def identity_features(net: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """Five MobileFaceNet feature maps (56x48 .. embedding) of faces in the shared framing, x in [0, 1]."""
    from ...nn.mobilefacenet import crop_112x96
    h = (crop_112x96(x) * 255 - 127.5) / 128
    h = net.dw_conv1(net.conv1(h))
    out = [h]
    for i, block in enumerate(net.blocks):
        h = block(h)
        if i in (4, 11, 14):
            out.append(h)
    out.append(net.linear1(net.linear7(net.conv2(h))).flatten(1))
    return out


class ScalableObjective(nn.Module):
    """Eqs. 14-26 over the three decoded layers; every task network is frozen."""

    def __init__(self, weights: ObjectiveWeights = ObjectiveWeights(), heatmap_net=None, parsing_net=None,
                 identity_net=None, lpips_net=None):
        super().__init__()
        from ...metrics.perceptual import LPIPS
        from ...vision.heatmap import load_heatmap_net
        from ...nn.mobilefacenet import load_mobilefacenet
        from ...vision.parsenet import load_parsing_net
        self.weights = weights
        self.heatmap = heatmap_net or load_heatmap_net()
        self.parsing = parsing_net or load_parsing_net()
        self.identity = identity_net or load_mobilefacenet()
        self.lpips = lpips_net or LPIPS("alex")
        for net in (self.heatmap, self.parsing, self.identity, self.lpips):
            net.eval().requires_grad_(False)

    def distortions(self, x: torch.Tensor, x_hat: torch.Tensor, reference: dict) -> dict[str, torch.Tensor]:
        """Per-sample D_lm, D_sg, D_ID, D_mse, D_LPIPS of x_hat against the original's cached features."""
        return {
            # ||H(x) - H(x̂)||² per landmark heatmap (summed over its 32x32 pixels), averaged over the 68 maps.
            "lm": (self.heatmap(x_hat) - reference["heatmap"]).pow(2).flatten(2).sum(2).mean(1),
            "sg": _cosine_distance_sum(self.parsing.feature_maps(x_hat), reference["parsing"]),
            "identity": _cosine_distance_sum(identity_features(self.identity, x_hat), reference["identity"]),
            "mse": (x - x_hat).pow(2).flatten(1).mean(1),
            "lpips": self.lpips(x, x_hat),
        }

    def reconstruction(self, x: torch.Tensor, x_hats: list[torch.Tensor]) -> dict[str, torch.Tensor]:
        """Σ_k D_mse(x̂_k) + λ_LPIPS D_LPIPS(x̂_k): the pixel-only objective of the from-scratch prior phase
        (lamina has no pretrained StyleGAN2 / pSp to start from; no rate and no task networks)."""
        w = self.weights
        mse = [(x - x_hat).pow(2).flatten(1).mean(1) for x_hat in x_hats]
        lpips = [self.lpips(x, x_hat) for x_hat in x_hats]
        out = {"J": sum(m + w.lpips * p for m, p in zip(mse, lpips)).mean()}
        out.update({f"mse_{k}": m.mean() for k, m in enumerate(mse, start=1)})
        out.update({f"lpips_{k}": p.mean() for k, p in enumerate(lpips, start=1)})
        return out

    def forward(self, x: torch.Tensor, x_hats: list[torch.Tensor], bits: torch.Tensor,
                fake_scores: torch.Tensor | None = None, rate_scale: float = 1.0) -> dict[str, torch.Tensor]:
        """x, x̂_k: N x 3 x H x W in [0, 1]; bits: N x 3 (per layer); fake_scores: D(x̂3) or None (no GAN yet);
        rate_scale multiplies λ (a warm-up from scratch; 1 is the paper's objective)."""
        w = self.weights
        with torch.no_grad():
            reference = {"heatmap": self.heatmap(x), "parsing": self.parsing.feature_maps(x),
                         "identity": identity_features(self.identity, x)}
        rate = rate_scale * bits / (x.shape[2] * x.shape[3])  # bpp per layer (x the warm-up factor)
        d = [self.distortions(x, x_hat, reference) for x_hat in x_hats]
        machine = [w.lm * dk["lm"] + w.sg * dk["sg"] for dk in d]
        j1 = w.lmbda * rate[:, 0] + machine[0]
        j2 = w.lmbda * rate[:, :2].sum(1) + w.w1 * machine[1] + w.identity * d[1]["identity"]
        j3 = (w.lmbda * rate.sum(1) + w.w2 * machine[2] + w.w3 * w.identity * d[2]["identity"]
              + w.mse * d[2]["mse"] + w.lpips * d[2]["lpips"])
        if fake_scores is not None:
            j3 = j3 + w.adv * F.softplus(-fake_scores).view(-1)
        out = {"J": (j1 + j2 + j3).mean(), "J1": j1.mean(), "J2": j2.mean(), "J3": j3.mean(), "bpp": bits.sum(1).mean() / (x.shape[2] * x.shape[3])}
        for k, dk in enumerate(d, start=1):
            out.update({f"{name}_{k}": value.mean() for name, value in dk.items()})
        return out
