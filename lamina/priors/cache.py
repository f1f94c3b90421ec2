"""Cached training tensors of the face prior: every training face at the prior's size (uint8) and its TAEF2
latent (fp16), computed once (the TAEF2 encoder is frozen) instead of at every step.

    lamina train face-prior --stage cache [--cache runs/prior/cache] [--preset latent128]
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch


def build(out: Path, size: int = 128, data: str = "faces", batch: int = 32, root=None, limit: int | None = None) -> Path:
    """Write out/{train,validation}-{size}.pt: {'images': N x size x size x 3 uint8, 'latents': N x 32 x s x s fp16}
    (the first `limit` images of each split only, for smoke runs)."""
    from PIL import Image

    from ..data.training import split_items
    from ..imageio import to_tensor
    from ..nn.taef2 import load_encoder
    out.mkdir(parents=True, exist_ok=True)
    train, validation = split_items(data, root=root)
    train, validation = train[:limit], validation[:limit]
    encoder = load_encoder()
    for split, items in (("validation", validation), ("train", train)):
        path = out / f"{split}-{size}.pt"
        if path.exists():
            continue
        images = np.stack([np.asarray(Image.fromarray(item.image()).resize((size, size), Image.BICUBIC))
                           for item in items])
        latents = []
        with torch.no_grad():
            for i in range(0, len(images), batch):
                latents.append(encoder(to_tensor(images[i:i + batch])).half())
                if i % (batch * 50) == 0:
                    print(f"{split}: {i}/{len(images)}", flush=True)
        torch.save({"images": torch.from_numpy(images), "latents": torch.cat(latents),
                    "names": [str(item.path) for item in items]}, path)
    return out
