"""Codec name -> training task."""
from __future__ import annotations

from ..errors import InputError


def make_task(codec: str, lmbda: float | None = None, quality: int | None = None, n: int = 64, m: int = 96):
    """The TrainTask for a codec name; lambda comes from the quality ladder when not given."""
    from ..codecs.hyperprior import ARCHS, LAMBDAS, HyperpriorTask
    if codec in ARCHS:
        if lmbda is None:
            if quality not in LAMBDAS:
                raise InputError(f"give --lambda or a --quality in {sorted(LAMBDAS)}")
            lmbda = LAMBDAS[quality]
        return HyperpriorTask(codec, lmbda, n=n, m=m, quality=quality)
    if codec == "stylegan-scalable":
        from ..codecs.stylegan_scalable import StyleganScalableTask
        return StyleganScalableTask(lmbda=10.0 if lmbda is None else lmbda, quality=quality)
    raise InputError(f"no training task for codec {codec!r}; trainable: {', '.join(ARCHS)}, stylegan-scalable")
