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


def given(args, *names: str, **renamed: str) -> dict:
    """The command-line values the user gave, as keyword arguments: `names` keep their name, `renamed` maps a
    keyword to the option's dest. Options left out (None) are not passed, so the callee's own default applies:
    every default lives once, in the function or config that uses it (the CLI's training options default to None)."""
    pairs = [(n, n) for n in names] + list(renamed.items())
    return {key: getattr(args, dest) for key, dest in pairs if getattr(args, dest, None) is not None}


def config_from(cls, args, **renamed: str):
    """A dataclass config from the command line: each field takes the option of the same dest (or `renamed`'s),
    when given; the dataclass holds the defaults."""
    from dataclasses import fields
    names = [f.name for f in fields(cls) if f.name not in renamed]
    return cls(**given(args, *names, **renamed))


def json_card(text: str | None) -> dict:
    """--card: extra model-card fields, a JSON object."""
    import json
    try:
        card = json.loads(text or "{}")
    except json.JSONDecodeError as exc:
        raise InputError(f"--card is a JSON object: {exc}") from None
    if not isinstance(card, dict):
        raise InputError("--card is a JSON object")
    return card


def loop_config(args, **overrides):
    """The shared loop's TrainConfig from the common `lamina train` options (its defaults: loop.TrainConfig)."""
    from .loop import TrainConfig
    if args.steps is None:
        raise InputError("give --steps")
    if args.out is None:
        raise InputError("give --out")
    values = given(args, "steps", "data", "batch_size", "patch", "resize", "lr", "betas", "seed", "val_every",
                   "device", "data_root", "max_train_images", "init_from", "resume", "max_minutes",
                   "checkpoint_minutes", "ema", checkpoint_every="val_every")
    values.update(out=Path(args.out), progress=not args.quiet)
    if "betas" in values:
        values["betas"] = tuple(values["betas"])
    values.update(overrides)
    return TrainConfig(**values)


def run_loop(task, args, **overrides) -> str:
    """Train `task` on the shared loop with the command line's options; a one-line summary."""
    from .loop import train
    result = train(task, loop_config(args, **overrides))
    if not result:
        return ""
    return f"trained {task.name} for {result['steps']} steps in {result['wall_time_s']} s -> {args.out}"
