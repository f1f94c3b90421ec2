"""`lamina train` entries of the networks lamina trains for its losses and evaluators (weights in
lamina/zoo/evaluators/): the landmark heatmap network (stand-in for AdaptiveWing in stylegan-scalable's D_lm),
the parsing network (stand-in for BiSeNet in D_sg) and the CelebA-40 attribute probe."""
from __future__ import annotations

import json
from pathlib import Path

from ..registry import add_trainable
from .trainable import Trainable


def _heatmap_train(args) -> str:
    from ..vision import heatmap
    return str(heatmap.train(Path(args.out or "runs/landmark-heatmap"), args.steps or 1200))


def _heatmap_eval(args) -> str:
    from ..vision import heatmap
    return json.dumps(heatmap.evaluate(Path(args.weights) if args.weights else None, limit=args.limit), indent=1)


def _parsing_train(args) -> str:
    from ..vision import parsenet
    return str(parsenet.train(Path(args.out or "runs/parsing-net"), args.steps or 1000))


def _parsing_eval(args) -> str:
    from ..vision import parsenet
    return json.dumps(parsenet.evaluate(Path(args.weights) if args.weights else None, args.limit or 200), indent=1)


def _attributes_train(args) -> str:
    from ..vision import attributes
    result = attributes.train(args.steps or 2000)
    return f"test accuracy {result['test_accuracy_mean']} (majority {result['test_majority_baseline_mean']})"


add_trainable(Trainable("landmark-heatmap", "68-point heatmap network (D_lm's stand-in); stages: train, eval",
                        {"train": _heatmap_train, "eval": _heatmap_eval}))
add_trainable(Trainable("parsing-net", "face-parsing network on MediaPipe-mesh maps (D_sg's stand-in); stages: "
                                       "train, eval", {"train": _parsing_train, "eval": _parsing_eval}))
add_trainable(Trainable("celeba-attributes-probe", "linear CelebA-40 probe on MobileFaceNet embeddings",
                        {"train": _attributes_train}))
