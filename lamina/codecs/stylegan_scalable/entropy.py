"""Layer-wise scalable entropy transformer for W+ style vectors (seed 000, Section III-B, Eqs. 7-13).

Entropy model of the stylegan-scalable codec. Tokens are the n_latent residual style vectors (Eq. 3), grouped
into layers (basic / middle / enhanced, e.g. 6/4/4 at 256x256).

  Eq. 7   p(ŵ_i | ĥ_i) = N(μ_i, σ_i²)                 GaussianConditional (CompressAI), rANS bytes
  Eq. 8   R = Σ_i -log2 p(ŵ_i) - log2 p(ĥ_i)           `forward` returns per-layer bits
  Eqs. 9-11  style transformer blocks: multi-head self-attention (H = 4 heads, d = dim / H), residual, LN, FFN
          hyper-encoder: 3 blocks over all tokens, then FFN dim -> 16 (hyper-latent per style vector, factorized
          EntropyBottleneck); hyper-decoder: 3 blocks with the *layered sequence mask* (a token attends only to
          tokens of its own and earlier layers), then μ, σ per token
  Eq. 12  layers 2 and 3 are coded given the decoded earlier layers:
  Eq. 13  cross-layer entropy transformer: the decoded earlier layers pass a style transformer block; the
          hyper-decoder's means of the current layer query them by multi-head cross-attention (+ LN, FFN), and a
          fuse block (three 1-D conv blocks over [μ_hyper, μ_cross, σ_hyper]) gives the final μ, σ.

Bitstream per layer k: varint len(h bytes) + h bytes (the layer's hyper-latents) + ŵ bytes, so the first k
payloads decode the first k layers. `cross_layer=False` gives the ablation without Eq. 13 (hyper-transformer
only); `hyper="linear"` replaces the transformers by per-token linear layers (the ablation's method A).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ...entropy import float64_twin
from ...priors.face import group_slices

HYPER_DIM = 16


def layer_of_tokens(groups: tuple[int, ...]) -> torch.Tensor:
    """Layer index of every token, e.g. (6, 4, 4) -> [0]*6 + [1]*4 + [2]*4."""
    return torch.cat([torch.full((n,), k) for k, n in enumerate(groups)])


def layered_mask(groups: tuple[int, ...]) -> torch.Tensor:
    """Boolean attention mask (True = blocked): token i may attend to token j iff layer(j) <= layer(i)."""
    layer = layer_of_tokens(groups)
    return layer[None, :] > layer[:, None]


def quantize_styles(w: torch.Tensor, training: bool) -> torch.Tensor:
    """Uniform noise in training (Eq. 7's relaxation), rounding to the integer grid otherwise."""
    if training:
        return w + torch.empty_like(w).uniform_(-0.5, 0.5)
    return torch.round(w)


def swap_layers(model: LayerwiseEntropyModel, payloads_a: list[bytes], payloads_b: list[bytes],
                take_from_b: tuple[int, ...] = (1,)) -> list[bytes]:
    """Payloads of a stream whose layers `take_from_b` come from B and the rest from A (as many layers as A
    gives; layers a stream lacks count as 0, i.e. w̄), without any pixels: entropy-decode both, assemble the
    styles, re-code. Exact: decoded styles sit on the integer grid."""
    parts = model.layer_slices()
    full = parts[-1].stop

    def styles(payloads):  # the decoded layers, later ones at 0 (w̄)
        decoded = model.decompress(payloads)
        return F.pad(decoded, (0, 0, 0, full - decoded.shape[1]))

    styles_a, styles_b = styles(payloads_a), styles(payloads_b)
    mixed = styles_a.clone()
    for k in take_from_b:
        mixed[:, parts[k]] = styles_b[:, parts[k]]
    return model.compress(mixed, layers=len(payloads_a))


class StyleTransformerBlock(nn.Module):
    """Multi-head attention (self or cross) + residual + LayerNorm + FFN + residual + LayerNorm (post-norm)."""

    def __init__(self, dim: int, heads: int = 4, ffn: int = 2):
        super().__init__()
        self.attention = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.ffn = nn.Sequential(nn.Linear(dim, ffn * dim), nn.GELU(), nn.Linear(ffn * dim, dim))

    def forward(self, x, context=None, mask=None):
        context = x if context is None else context
        attended, _ = self.attention(x, context, context, attn_mask=mask, need_weights=False)
        x = self.norm1(x + attended)
        return self.norm2(x + self.ffn(x))


class LayerwiseEntropyModel(nn.Module):
    """Hyper-transformer (+ cross-layer entropy transformer) entropy model over grouped style vectors."""

    def __init__(self, dim: int = 512, groups: tuple[int, ...] = (6, 4, 4), heads: int = 4, blocks: int = 3,
                 cross_layer: bool = True, hyper: str = "transformer"):
        super().__init__()
        from ...compat import import_compressai
        import_compressai()
        from compressai.entropy_models import EntropyBottleneck, GaussianConditional
        self.dim, self.groups, self.cross_layer, self.hyper = dim, tuple(groups), cross_layer, hyper
        self.register_buffer("mask", layered_mask(self.groups), persistent=False)
        if hyper == "transformer":
            self.hyper_encoder = nn.ModuleList(StyleTransformerBlock(dim, heads) for _ in range(blocks))
            self.hyper_decoder = nn.ModuleList(StyleTransformerBlock(dim, heads) for _ in range(blocks))
        elif hyper == "linear":
            self.hyper_encoder = nn.ModuleList([nn.Sequential(nn.Linear(dim, dim), nn.GELU())])
            self.hyper_decoder = nn.ModuleList([nn.Sequential(nn.Linear(dim, dim), nn.GELU())])
        else:
            raise ValueError(f"unknown hyper model {hyper!r}")
        self.to_hyper = nn.Linear(dim, HYPER_DIM)
        self.from_hyper = nn.Linear(HYPER_DIM, dim)
        self.to_params = nn.Linear(dim, 2 * dim)
        if cross_layer:
            self.context_block = StyleTransformerBlock(dim, heads)
            self.cross_block = StyleTransformerBlock(dim, heads)
            self.fuse = nn.Sequential(nn.Conv1d(3 * dim, dim, 1), nn.GELU(), nn.Conv1d(dim, dim, 1), nn.GELU(),
                                      nn.Conv1d(dim, 2 * dim, 1))
        self.hyper_entropy = EntropyBottleneck(HYPER_DIM)
        self.gaussian = GaussianConditional(None)

    # ------------------------------------------------------------------ pieces
    def layer_slices(self) -> list[slice]:
        return group_slices(self.groups)

    def encode_hyper(self, w: torch.Tensor) -> torch.Tensor:
        """N x T x dim styles -> N x T x 16 hyper-latents (unmasked: the encoder sees every layer)."""
        h = w
        for block in self.hyper_encoder:
            h = block(h)
        return self.to_hyper(h)

    def decode_hyper(self, h_hat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """N x t x 16 (the first t tokens) -> (μ, σ) of those tokens, with the layered mask."""
        t = h_hat.shape[1]
        x = self.from_hyper(h_hat)
        for block in self.hyper_decoder:
            x = block(x, mask=self.mask[:t, :t]) if self.hyper == "transformer" else block(x)
        mean, scale = self.to_params(x).chunk(2, dim=-1)
        return mean, F.softplus(scale) + 0.11

    def refine(self, k: int, mean: torch.Tensor, scale: torch.Tensor, decoded: torch.Tensor):
        """Eq. 13 for layer k >= 1: (μ, σ) of layer k's tokens given the decoded earlier layers' styles."""
        if not self.cross_layer or k == 0:
            return mean, scale
        context = self.context_block(decoded)
        crossed = self.cross_block(mean, context=context)
        fused = self.fuse(torch.cat([mean, crossed, scale], dim=-1).transpose(1, 2)).transpose(1, 2)
        d_mean, d_scale = fused.chunk(2, dim=-1)
        return mean + d_mean, F.softplus(d_scale + scale) + 0.11

    def _hyper_likelihood(self, h: torch.Tensor):
        """h: N x t x 16 -> (ĥ, likelihoods) through the factorized model (tokens as the spatial axis)."""
        h_hat, likelihood = self.hyper_entropy(h.transpose(1, 2)[..., None])
        return h_hat[..., 0].transpose(1, 2), likelihood[..., 0].transpose(1, 2)

    # ------------------------------------------------------------------ training / estimation
    def forward(self, w: torch.Tensor) -> dict:
        """Noisy (training) or rounded (eval) styles and per-layer bits (Eq. 12), all differentiable."""
        h_hat, h_likelihood = self._hyper_likelihood(self.encode_hyper(w))
        mean, scale = self.decode_hyper(h_hat)
        bits, decoded_parts = [], []
        for k, part in enumerate(self.layer_slices()):
            decoded = torch.cat(decoded_parts, dim=1) if decoded_parts else None
            m, s = self.refine(k, mean[:, part], scale[:, part], decoded)
            w_hat = quantize_styles(w[:, part], self.training)
            likelihood = self.gaussian._likelihood(w_hat, s, m)
            if self.gaussian.use_likelihood_bound:
                likelihood = self.gaussian.likelihood_lower_bound(likelihood)
            bits.append(-torch.log2(likelihood).sum(dim=(1, 2)) - torch.log2(h_likelihood[:, part]).sum(dim=(1, 2)))
            decoded_parts.append(w_hat)
        return {"w_hat": torch.cat(decoded_parts, dim=1), "bits": torch.stack(bits, dim=1)}  # bits: N x layers

    # ------------------------------------------------------------------ real bytes
    def update(self) -> None:
        """Build the CDF tables of both entropy models (call before compress / decompress)."""
        self.hyper_entropy.update(force=True)
        scale_table = torch.exp(torch.linspace(torch.log(torch.tensor(0.11)), torch.log(torch.tensor(256.0)), 64))
        self.gaussian.update_scale_table(scale_table, force=True)

    @torch.no_grad()
    def compress(self, w: torch.Tensor, layers: int | None = None) -> list[bytes]:
        """One payload per layer for a single image's styles (1 x T x dim); the first `layers` only if given
        (a layer's payload never depends on later layers, so these are the full stream's first payloads)."""
        from ...bitstream import encode_varint
        h = self.encode_hyper(w)
        exact = float64_twin(self)  # means and scales in float64 on both sides (lamina.entropy.float64_twin)
        h_hat, payloads, decoded_parts = [], [], []
        for k, part in enumerate(self.layer_slices()[:layers]):
            h_k = h[:, part].transpose(1, 2)[..., None]  # 1 x 16 x n x 1
            h_bytes = self.hyper_entropy.compress(h_k)[0]
            h_hat.append(self.hyper_entropy.decompress([h_bytes], h_k.shape[-2:])[..., 0].transpose(1, 2).double())
            mean, scale = exact.decode_hyper(torch.cat(h_hat, dim=1))
            decoded = torch.cat(decoded_parts, dim=1) if decoded_parts else None
            m, s = exact.refine(k, mean[:, part], scale[:, part], decoded)
            indexes = self.gaussian.build_indexes(s)
            # Symbols on the integer grid: round(w) - round(μ); decoding adds round(μ) back, so decoded styles
            # are exactly round(w) whatever the context, and re-coding them (swap) is lossless.
            y_bytes = self.gaussian.compress(torch.round(w[:, part]), indexes, means=torch.round(m))[0]
            decoded_parts.append(self.gaussian.decompress([y_bytes], indexes, means=torch.round(m)))
            payloads.append(encode_varint(len(h_bytes)) + h_bytes + y_bytes)
        return payloads

    @torch.no_grad()
    def decompress(self, payloads: list[bytes]) -> torch.Tensor:
        """Styles of the first len(payloads) layers (1 x t x dim), the rest not needed."""
        from ...bitstream import Reader
        exact = float64_twin(self)
        h_hat, decoded_parts = [], []
        for k, (part, payload) in enumerate(zip(self.layer_slices(), payloads)):
            reader = Reader(payload)
            h_bytes = reader.take(reader.varint("hyper-latent length"), "hyper-latent bytes")
            y_bytes = payload[reader.pos:]
            n = part.stop - part.start
            h_hat.append(self.hyper_entropy.decompress([h_bytes], (n, 1))[..., 0].transpose(1, 2).double())
            mean, scale = exact.decode_hyper(torch.cat(h_hat, dim=1))
            decoded = torch.cat(decoded_parts, dim=1) if decoded_parts else None
            m, s = exact.refine(k, mean[:, part], scale[:, part], decoded)
            decoded_parts.append(self.gaussian.decompress([y_bytes], self.gaussian.build_indexes(s), means=torch.round(m)))
        return torch.cat(decoded_parts, dim=1).float()
