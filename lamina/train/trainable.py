"""What `lamina train NAME [--stage STAGE] ...` runs: one Trainable per trainable thing (a codec, the face
prior, an evaluator network), registered with `lamina.registry.add_trainable` by a training module (a codec
names its module in `Codec.training_module`). The CLI builds one parser from its common options and every
trainable's own `options`, and never tests names."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..options import Option
from ..errors import InputError


@dataclass
class Trainable:
    """A named training entry point with stages; `run(stage, args)` returns a one-line summary."""

    name: str
    help: str
    stages: dict[str, Callable]          # stage name -> function(args) -> str
    options: tuple[Option, ...] = ()     # extra command-line options (default None)
    default_stage: str | None = None

    def run(self, stage: str | None, args) -> str:
        stage = stage or self.default_stage or next(iter(self.stages))
        if stage not in self.stages:
            raise InputError(f"{self.name} has no training stage {stage!r}; stages: {', '.join(self.stages)}")
        return self.stages[stage](args)


def loop_config(args, **overrides):
    """The shared loop's TrainConfig from the common `lamina train` options."""
    from .loop import TrainConfig
    if args.steps is None:
        raise InputError("give --steps")
    if args.out is None:
        raise InputError("give --out")
    values = dict(out=Path(args.out), steps=args.steps, data=args.data, batch_size=args.batch_size,
                  patch=args.patch, resize=args.resize, lr=args.lr, betas=tuple(args.betas), seed=args.seed,
                  val_every=args.val_every, checkpoint_every=args.val_every, device=args.device,
                  data_root=args.data_root, progress=not args.quiet, max_train_images=args.max_train_images,
                  init_from=args.init_from, resume=args.resume, max_minutes=args.max_minutes,
                  checkpoint_minutes=args.checkpoint_minutes)
    values.update(overrides)
    return TrainConfig(**values)


def run_loop(task, args, **overrides) -> str:
    """Train `task` on the shared loop with the command line's options; a one-line summary."""
    from .loop import train
    result = train(task, loop_config(args, **overrides))
    if not result:
        return ""
    return f"trained {task.name} for {result['steps']} steps in {result['wall_time_s']} s -> {args.out}"
