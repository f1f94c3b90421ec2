"""The identity condition of an identity-conditioned face prior (issue 23, probe (c)): the MobileFaceNet feature of
the face as feature-texture's feature layer codes it (its default feature quality, ~90 B), decoded and unit-norm.
The same values the decoder of a stream with that layer would see (the feature codec rounds its latent)."""
from __future__ import annotations

import torch
import torch.nn.functional as F


@torch.no_grad()
def identity_condition(images: torch.Tensor, batch: int = 64) -> torch.Tensor:
    """N x 3 x H x W faces in [0, 1] (shared framing) -> N x 128 decoded unit-norm identity features."""
    from ..codecs.feature_texture.codec import DEFAULT_FEATURE_QUALITY, _model, weights_file
    model = _model(str(weights_file()), "cpu")
    codec = model.codecs[DEFAULT_FEATURE_QUALITY]
    out = []
    for i in range(0, len(images), batch):
        f_rec, _ = codec(model.extractor(images[i:i + batch].float()))
        out.append(F.normalize(f_rec, dim=1))
    return torch.cat(out) if out else torch.zeros(0, 128)
