"""Codec name -> training task."""
from __future__ import annotations

from ..errors import InputError


def make_task(codec: str, lmbda: float | None = None, quality: int | None = None, n: int = 64, m: int = 96,
              preset: str = "paper", adversarial: bool = False, rate_warmup: int = 0):
    """The TrainTask for a codec name; lambda comes from the quality ladder when not given.
    stylegan-scalable: `preset` names the architecture (PRESETS), lambda is the paper's (256x256 bpp) value,
    rescaled to the preset's size; `adversarial` adds the second phase's GAN term."""
    from ..codecs.hyperprior import ARCHS, LAMBDAS, HyperpriorTask
    if codec in ARCHS:
        if lmbda is None:
            if quality not in LAMBDAS:
                raise InputError(f"give --lambda or a --quality in {sorted(LAMBDAS)}")
            lmbda = LAMBDAS[quality]
        return HyperpriorTask(codec, lmbda, n=n, m=m, quality=quality)
    if codec == "stylegan-scalable":
        from ..codecs.stylegan_scalable import LAMBDAS as PAPER_LAMBDAS
        from ..codecs.stylegan_scalable import (
            PRESETS,
            StyleganScalableTask,
            paper_lambda,
        )
        if preset not in PRESETS:
            raise InputError(f"unknown stylegan-scalable preset {preset!r}; known: {', '.join(PRESETS)}")
        if lmbda is None:
            if quality not in PAPER_LAMBDAS:
                raise InputError(f"give --lambda or a --quality in {sorted(PAPER_LAMBDAS)}")
            lmbda = PAPER_LAMBDAS[quality]
        return StyleganScalableTask(lmbda=paper_lambda(lmbda, PRESETS[preset]["size"]), paper_lmbda=lmbda,
                                    quality=quality, adversarial=adversarial, rate_warmup=rate_warmup,
                                    **PRESETS[preset])
    raise InputError(f"no training task for codec {codec!r}; trainable: {', '.join(ARCHS)}, stylegan-scalable")
