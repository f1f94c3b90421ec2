"""Networks of the feature-texture codec (seed 003): base-layer feature extractor, feature-structure
transformation, FC+GDN feature codec, Laplacian-pyramid texture generator, and the SATD distortion.

Equations of the paper, where they live:
  Eq. 1  L_ext = CE(identity) + λs·SATD(x_s, x_trans)            -> task.py, stage_extractor
  Eq. 2  c = Enc_fea(f_raw), f_rec = Dec_fea(ĉ)                  -> FeatureCodec.latent / .decoder (compress, decompress)
  Eq. 3  L_com = ||f_raw - f_rec||² + λ1·R + λ2·SATD(x_s, x_trans) -> stage_codec (R: real information content
         under the factorized entropy model, which the paper approximates with ||c||_1)
  Eq. 4  L_rec = Σ_l SATD(x_base^l, x^l), l = 1..3               -> LaplacianGenerator + stage_texture
  Eq. 5  x_enh = (x_resi - min) / (max - min)                     -> codec.py
  Eq. 6  x_rec = x_base + x'_enh                                  -> codec.py
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ...nn.mobilefacenet import MobileFaceNet, crop_112x96

FEATURE_DIM = 128
LATENT_DIM = 64
R_CLIP = 20.0  # the paper's clipping threshold of the latent code
STRUCTURE_SIZE = 32  # x_trans / x_s side

# ---------------------------------------------------------------------------------------------- SATD
def _hadamard4() -> torch.Tensor:
    h2 = torch.tensor([[1.0, 1.0], [1.0, -1.0]])
    return torch.kron(h2, h2) / 2.0  # orthonormal 4x4


def satd(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Sum of absolute Hadamard-transformed differences, averaged per coefficient.

    The difference (N x C x H x W, H and W multiples of 4) is cut into 4x4 blocks, each transformed by the
    orthonormal 4x4 Hadamard matrix (H D Hᵀ); the mean absolute coefficient is returned (images in [0, 1]).
    """
    d = (a - b).float()
    n, c, h, w = d.shape
    blocks = d.reshape(n, c, h // 4, 4, w // 4, 4).permute(0, 1, 2, 4, 3, 5)
    hm = _hadamard4().to(d.device)
    return (hm @ blocks @ hm.T).abs().mean()


def downsample(x: torch.Tensor, size: int) -> torch.Tensor:
    return F.interpolate(x, size=(size, size), mode="area")


# ------------------------------------------------------------------------------------------ networks
class FeatureExtractor(nn.Module):
    """MobileFaceNet (standing in for FaceNet) on the fixed 112x96 crop; unit-norm 128-d features."""

    def __init__(self):
        super().__init__()
        self.net = MobileFaceNet(FEATURE_DIM)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        crop = crop_112x96(x) * 255.0
        return F.normalize(self.net((crop - 127.5) / 128.0), dim=1)


class StructureHead(nn.Module):
    """Feature-structure transformation: 128-d feature -> 32x32 texture (a stack of deconvolutions).

    `trunk` returns the 32x32 feature map that the Laplacian generator continues from.
    """

    def __init__(self, width: int = 64):
        super().__init__()
        self.width = width
        self.fc = nn.Linear(FEATURE_DIM, 4 * width * 4 * 4)
        self.up = nn.Sequential(
            nn.ConvTranspose2d(4 * width, 2 * width, 4, 2, 1), nn.LeakyReLU(0.2),   # 8
            nn.ConvTranspose2d(2 * width, width, 4, 2, 1), nn.LeakyReLU(0.2),       # 16
            nn.ConvTranspose2d(width, width, 4, 2, 1), nn.LeakyReLU(0.2))           # 32
        self.to_rgb = nn.Conv2d(width, 3, 3, 1, 1)

    def trunk(self, f: torch.Tensor) -> torch.Tensor:
        h = F.leaky_relu(self.fc(f), 0.2).view(-1, 4 * self.width, 4, 4)
        return self.up(h)

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        return self.to_rgb(self.trunk(f)) + 0.5


class LaplacianGenerator(nn.Module):
    """x_base from a decoded feature: the structure head's 32x32 image, then three pyramid levels.

    Level l (64, 128, 256): x^l = bilinear_up2(x^{l-1}) + conv3x3->3(h_l), h_l = deconv(h_{l-1}) (Fig. 5:
    green arrows = 3x3 convolutions with 3 filters, blue arrows = bilinear x2 upsampling).
    """

    def __init__(self, width: int = 64, level_widths=(32, 16, 8)):
        super().__init__()
        self.head = StructureHead(width)
        chans = (width,) + tuple(level_widths)
        ups = []
        for i in range(len(level_widths)):
            layers = [nn.ConvTranspose2d(chans[i], chans[i + 1], 4, 2, 1), nn.LeakyReLU(0.2)]
            if i < len(level_widths) - 1:  # a 3x3 refinement below full size (CPU cost: none at 256)
                layers += [nn.Conv2d(chans[i + 1], chans[i + 1], 3, 1, 1), nn.LeakyReLU(0.2)]
            ups.append(nn.Sequential(*layers))
        self.ups = nn.ModuleList(ups)
        self.to_rgb = nn.ModuleList(nn.Conv2d(c, 3, 3, 1, 1) for c in level_widths)
        for conv in self.to_rgb:  # start as pure upsampling of the structure image
            nn.init.zeros_(conv.weight)
            nn.init.zeros_(conv.bias)

    def forward(self, f: torch.Tensor) -> list[torch.Tensor]:
        """[x^0 (32), x^1 (64), x^2 (128), x^3 (256)]; x^3 is x_base."""
        h = self.head.trunk(f)
        image = self.head.to_rgb(h) + 0.5
        levels = [image]
        for up, to_rgb in zip(self.ups, self.to_rgb):
            h = up(h)
            image = F.interpolate(image, scale_factor=2, mode="bilinear", align_corners=False) + to_rgb(h)
            levels.append(image)
        return levels


class _FlatGDN(nn.Module):
    """CompressAI's GDN / IGDN applied to vectors (N x C viewed as N x C x 1 x 1)."""

    def __init__(self, channels: int, inverse: bool):
        super().__init__()
        from ...compat import import_compressai
        import_compressai()
        from compressai.layers import GDN
        self.gdn = GDN(channels, inverse=inverse)

    def forward(self, x):
        return self.gdn(x[:, :, None, None])[:, :, 0, 0]


class FeatureCodec(nn.Module):
    """Fig. 4: fully connected encoder with GDN, latent clipped to ±R_CLIP, factorized entropy model,
    fully connected decoder with inverse GDN."""

    def __init__(self, hidden: int = 256, latent: int = LATENT_DIM):
        super().__init__()
        from ...compat import import_compressai
        import_compressai()
        from compressai.entropy_models import EntropyBottleneck
        self.encoder = nn.Sequential(nn.Linear(FEATURE_DIM, hidden), _FlatGDN(hidden, False),
                                     nn.Linear(hidden, hidden), _FlatGDN(hidden, False), nn.Linear(hidden, latent))
        self.decoder = nn.Sequential(nn.Linear(latent, hidden), _FlatGDN(hidden, True),
                                     nn.Linear(hidden, hidden), _FlatGDN(hidden, True), nn.Linear(hidden, FEATURE_DIM))
        self.entropy = EntropyBottleneck(latent)

    def latent(self, f: torch.Tensor) -> torch.Tensor:
        return self.encoder(f).clamp(-R_CLIP, R_CLIP)

    def forward(self, f: torch.Tensor):
        """(f_rec, likelihoods) with uniform noise in training and rounding in eval."""
        c_hat, likelihoods = self.entropy(self.latent(f)[:, :, None, None])
        return self.decoder(c_hat[:, :, 0, 0]), likelihoods

    def compress(self, f: torch.Tensor) -> list[bytes]:
        return self.entropy.compress(self.latent(f)[:, :, None, None])

    def decompress(self, strings: list[bytes]) -> torch.Tensor:
        c_hat = self.entropy.decompress(strings, (1, 1))
        return self.decoder(c_hat[:, :, 0, 0])


def load_state(module: nn.Module, state: dict) -> None:
    """load_state_dict for these networks from fp16/fp32 files: floats to fp32; the feature codec's CDF table
    buffers are resized to the stored ones; the likelihood bound keeps its fp32 constructor value."""
    state = {k: (v.float() if torch.is_tensor(v) and v.is_floating_point() else v) for k, v in state.items()}
    if isinstance(module, FeatureCodec):
        state.update({k: v for k, v in module.state_dict().items() if k.endswith("likelihood_lower_bound.bound")})
        for name in ("_quantized_cdf", "_offset", "_cdf_length"):
            if f"entropy.{name}" in state:
                getattr(module.entropy, name).resize_(state[f"entropy.{name}"].shape)
    module.load_state_dict(state)
