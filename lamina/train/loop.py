"""The training loop every lamina codec plugs into.

A codec supplies a `TrainTask`: its model, its loss (with an optional CompressAI auxiliary loss), its
parameter groups, validation and export. The loop gives every task: seeded runs, checkpoints that resume
exactly (model, optimisers, step; batches and torch's RNG are functions of (seed, rank, step)), periodic
validation on a held-out split logged to log.jsonl, an optional moving average of the weights (config.ema) that
validation and the export use, a progress bar, bf16 autocast on CUDA, and
multi-process data parallelism through torch DistributedDataParallel when launched by torchrun.
"""
from __future__ import annotations

import json
import os
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn


class TrainTask:
    """A model's training on this loop. Subclasses implement build_model, losses, parameter_groups, validate,
    warm_start and export; the rest has defaults:
    - `make_data(config)` -> (batches, validation batch) for tasks with their own (e.g. cached) data, where
      batches has `batch(size, seed, rank, step)` and `len()`; None (the default) = face crops of config.data;
    - `set_step(step)`, called before every step, for loss weights that follow a schedule;
    - `fingerprint()`, what a checkpoint must match to be resumed (None: not checked);
    - for adversarial training, a "disc" parameter group and `discriminator_losses(model, batch, step)`, which
      the loop minimises with its own Adam step after every main step."""

    name: str

    def build_model(self) -> nn.Module:
        raise NotImplementedError

    def losses(self, model: nn.Module, batch) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def parameter_groups(self, model: nn.Module) -> dict[str, list[nn.Parameter]]:
        raise NotImplementedError

    def validate(self, model: nn.Module, images) -> dict[str, float]:
        raise NotImplementedError

    def warm_start(self, model: nn.Module, weights: Path) -> None:
        raise NotImplementedError

    def export(self, model: nn.Module, out: Path, card: dict) -> Path:
        raise NotImplementedError

    def make_data(self, config: "TrainConfig"):
        return None

    def set_step(self, step: int) -> None:
        return None

    def fingerprint(self) -> dict | None:
        return None

    def discriminator_losses(self, model: nn.Module, batch, step: int) -> dict[str, torch.Tensor]:
        raise NotImplementedError


@dataclass
class TrainConfig:
    out: Path
    steps: int
    data: str = "utk"                 # training source (lamina.data.training.TRAIN_SETS)
    batch_size: int = 8
    patch: int = 128                  # random crop side
    resize: int | None = None         # resize source images first (e.g. 128 to train on whole faces)
    lr: float = 1e-4
    betas: tuple[float, float] = (0.9, 0.999)  # Adam's, for the main (and discriminator) parameters
    aux_lr: float = 1e-3
    clip_norm: float = 1.0
    seed: int = 0
    val_every: int = 500
    checkpoint_every: int = 500
    checkpoint_minutes: float | None = None  # also checkpoint when this much wall time passed since the last
    max_minutes: float | None = None  # stop (checkpoint, validate, export) after this much training time
    resume: bool = True  # continue from out/checkpoint.pt when it exists (the CLI asks for --resume)
    device: str = "cpu"
    data_root: str | None = None
    max_train_images: int | None = None  # smoke runs and tests: the first N training images only
    init_from: str | None = None  # warm start from a task export (e.g. the neighbouring quality's weights)
    ema: float | None = None  # decay of an exponential moving average of the weights, updated after every step;
    #                           validation and the export use the average (log.jsonl also gives the live weights')
    progress: bool = True
    extra: dict = field(default_factory=dict)


MAX_SKIPPED_STEPS = 20


class _LossModule(nn.Module):
    """Wraps a task's model so DDP sees one forward that returns every loss term (aux included)."""

    def __init__(self, task: TrainTask, model: nn.Module):
        super().__init__()
        self.task = task
        self.model = model

    def forward(self, batch, discriminator_step: int | None = None):
        if discriminator_step is not None:
            return self.task.discriminator_losses(self.model, batch, discriminator_step)
        return self.task.losses(self.model, batch)


def _distributed() -> tuple[int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not torch.distributed.is_initialized():
        backend = "nccl" if torch.cuda.is_available() and os.environ.get("LAMINA_DDP_BACKEND") != "gloo" else "gloo"
        torch.distributed.init_process_group(backend)
    rank = torch.distributed.get_rank() if world > 1 else 0
    return rank, world


def _save_atomic(obj, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def weights_digest(model: nn.Module) -> str:
    """SHA-256 over a model's state dict (names and raw bytes), to compare replicas."""
    import hashlib
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def _to(batch, device):
    """A batch (tensor, or dict of tensors) on device."""
    if isinstance(batch, dict):
        return {k: v.to(device) for k, v in batch.items()}
    return batch.to(device)


class _Ema:
    """An exponential moving average of a model's floating-point state (parameters and buffers)."""

    def __init__(self, model: nn.Module, decay: float):
        if not 0.0 < decay < 1.0:
            from ..errors import InputError
            raise InputError(f"the weight average's decay must lie in (0, 1), not {decay}")
        self.decay = decay
        self.live = {k: v for k, v in model.state_dict().items() if v.is_floating_point()}
        self.average = {k: v.detach().clone() for k, v in self.live.items()}

    @torch.no_grad()
    def update(self) -> None:
        for key, value in self.live.items():
            self.average[key].lerp_(value, 1.0 - self.decay)

    def load(self, saved: dict) -> None:
        for key, value in self.average.items():
            value.copy_(saved[key])

    @contextmanager
    def applied(self):
        """The model holds the average inside the block, its live weights again after it."""
        backup = {k: v.detach().clone() for k, v in self.live.items()}
        with torch.no_grad():
            for key, value in self.live.items():
                value.copy_(self.average[key])
        try:
            yield
        finally:
            with torch.no_grad():
                for key, value in self.live.items():
                    value.copy_(backup[key])


def _difference(saved, current) -> str:
    if saved is None:
        return "the checkpoint records no configuration"
    keys = sorted(k for k in set(saved) | set(current) if saved.get(k) != current.get(k))
    return "; ".join(f"{k}: checkpoint {saved.get(k)!r}, now {current.get(k)!r}" for k in keys[:3])


def train(task: TrainTask, config: TrainConfig) -> dict:
    """Train (or resume) task under config; returns the final validation numbers (rank 0)."""
    from ..data.training import FaceCrops, center_crops, split_items
    rank, world = _distributed()
    device = torch.device(config.device if config.device != "cuda" or torch.cuda.is_available() else "cpu")
    if device.type == "cuda" and world > 1:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        torch.cuda.set_device(device)
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(config.seed)  # identical initial weights on every rank
    model = task.build_model().to(device)
    groups = task.parameter_groups(model)
    optimisers = {"main": torch.optim.Adam(groups["main"], lr=config.lr, betas=tuple(config.betas))}
    if groups.get("aux"):
        optimisers["aux"] = torch.optim.Adam(groups["aux"], lr=config.aux_lr)
    if groups.get("disc"):
        optimisers["disc"] = torch.optim.Adam(groups["disc"], lr=config.lr, betas=tuple(config.betas))
    main_steps = [optimisers[key] for key in ("main", "aux") if key in optimisers]
    checkpoint_path = out / "checkpoint.pt"
    start = 0
    elapsed_before = 0.0
    if config.init_from and not checkpoint_path.exists():
        task.warm_start(model, Path(config.init_from))
    fingerprint = json.loads(json.dumps(task.fingerprint(), default=str))
    if checkpoint_path.exists() and not config.resume:
        from ..errors import InputError
        raise InputError(f"{checkpoint_path} exists: pass --resume to continue that run, or use another --out")
    if checkpoint_path.exists():
        state = torch.load(checkpoint_path, map_location=device, weights_only=True)
        saved = json.loads(state["fingerprint"]) if "fingerprint" in state else None
        if fingerprint is not None and saved != fingerprint:
            from ..errors import InputError
            raise InputError(f"{checkpoint_path} belongs to another training configuration "
                             f"({_difference(saved, fingerprint)}): use another --out or the same options")
        model.load_state_dict(state["model"])
        for key, optimiser in optimisers.items():
            optimiser.load_state_dict(state["optimisers"][key])
        start = int(state["step"])
        elapsed_before = float(state.get("elapsed_s", 0.0))
    # A run resumed with an average it did not have starts the average at its current weights.
    ema = _Ema(model, config.ema) if config.ema else None
    if ema is not None and checkpoint_path.exists() and "ema" in state:
        ema.load(state["ema"])
    wrapped: nn.Module = _LossModule(task, model)
    if world > 1:
        wrapped = nn.parallel.DistributedDataParallel(wrapped, device_ids=[device.index] if device.type == "cuda" else None,
                                                      find_unused_parameters="disc" in optimisers)
    own_data = task.make_data(config)  # tasks with their own (e.g. cached) data: (batches, validation batch)
    if own_data is not None:
        data, val_images = own_data
        val_images = _to(val_images, device)
        val_count = len(next(iter(val_images.values()))) if isinstance(val_images, dict) else len(val_images)
    else:
        train_items, val_items = split_items(config.data, root=config.data_root)
        data = FaceCrops(train_items[:config.max_train_images], config.patch, resize=config.resize)
        val_images = center_crops(val_items, config.patch, resize=config.resize).to(device)
        val_count = len(val_items)
    log_path = out / "log.jsonl"
    started = last_checkpoint = time.time()

    def elapsed() -> float:
        """Training seconds so far, over every resumed session of this run."""
        return elapsed_before + time.time() - started

    def log_validation(done: int) -> None:
        """Validate on the held-out batch and append the step's entry to log.jsonl."""
        model.eval()
        entry = {"step": done, "train": last}
        with torch.no_grad():
            if ema is not None:
                entry["val_live"] = task.validate(model, val_images)
                with ema.applied():
                    entry["val"] = task.validate(model, val_images)
            else:
                entry["val"] = task.validate(model, val_images)
        with open(log_path, "a") as handle:
            handle.write(json.dumps({**entry, "elapsed_s": round(elapsed(), 1)}) + "\n")

    from tqdm import tqdm
    bar = tqdm(range(start, config.steps), initial=start, total=config.steps, desc=f"train {task.name}",
               disable=not config.progress or rank != 0)
    last = {}
    done = start
    skipped = 0  # consecutive non-finite steps
    for step in bar:
        wrapped.train()
        # Quantisation noise (and any other torch randomness) is a function of (seed, rank, step) too,
        # so a resumed run repeats the uninterrupted one exactly.
        torch.manual_seed(int(np.random.SeedSequence([config.seed, rank, step]).generate_state(1)[0]))
        batch = _to(data.batch(config.batch_size, config.seed, rank, step), device)
        task.set_step(step)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda"):
            losses = wrapped(batch)
        total = losses["loss"] + losses.get("aux_loss", 0.0)
        for optimiser in optimisers.values():
            optimiser.zero_grad(set_to_none=True)
        finite = torch.isfinite(total.detach())
        if world > 1:  # every rank must take the same decision
            torch.distributed.all_reduce(finite := finite.float().to(device), op=torch.distributed.ReduceOp.MIN)
        if not bool(finite):
            # A non-finite loss would poison the weights (and the next checkpoint): skip the update.
            skipped += 1
            if skipped > MAX_SKIPPED_STEPS:
                raise FloatingPointError(f"{task.name}: {skipped} non-finite losses, last at step {step + 1}; "
                                         f"lower the learning rate or resume from an earlier checkpoint")
        else:
            skipped = 0
            total.backward()
            if config.clip_norm:
                torch.nn.utils.clip_grad_norm_(groups["main"], config.clip_norm)
            for optimiser in main_steps:
                optimiser.step()
            if ema is not None:
                ema.update()
            if "disc" in optimisers:
                with torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda"):
                    d_losses = wrapped(batch, discriminator_step=step)
                for optimiser in optimisers.values():
                    optimiser.zero_grad(set_to_none=True)
                if torch.isfinite(d_losses["d_loss"].detach()):
                    d_losses["d_loss"].backward()
                    optimisers["disc"].step()
                losses = {**losses, **d_losses}
        last = {k: float(v.detach()) for k, v in losses.items()}
        if rank == 0:
            bar.set_postfix({k: f"{v:.4g}" for k, v in last.items()})
        done = step + 1
        validated = rank == 0 and (done % config.val_every == 0 or done == config.steps)
        if validated:
            log_validation(done)
        out_of_time = bool(config.max_minutes) and elapsed() > 60 * config.max_minutes
        if world > 1 and config.max_minutes:  # every rank stops at the same step
            flag = torch.tensor(float(out_of_time), device=device)
            torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MAX)
            out_of_time = bool(flag)
        if rank == 0 and out_of_time and not validated:  # the last step's numbers, once
            log_validation(done)
        due = out_of_time or done % config.checkpoint_every == 0 or done == config.steps or (
            config.checkpoint_minutes and time.time() - last_checkpoint > 60 * config.checkpoint_minutes)
        if rank == 0 and due:
            _save_atomic({"model": model.state_dict(), "step": done,
                          "optimisers": {k: o.state_dict() for k, o in optimisers.items()},
                          "elapsed_s": elapsed(), "fingerprint": json.dumps(fingerprint),
                          **({"ema": ema.average} if ema is not None else {})}, checkpoint_path)
            last_checkpoint = time.time()
        if out_of_time:
            break
    bar.close()
    result = {}
    if world > 1:
        (out / f"rank{rank}.sha256").write_text(weights_digest(model))
        torch.distributed.barrier()
    if rank == 0:
        model.eval()
        card = {"config": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items()},
                "device": str(device) if device.type == "cpu" else torch.cuda.get_device_name(device),
                "world_size": world, "wall_time_s": round(elapsed(), 1), "steps": done,
                "train_images": len(data), "validation_images": val_count}
        if ema is not None:
            with ema.applied():
                task.export(model, out, card)
        else:
            task.export(model, out, card)
        result = card
    if world > 1:
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()
    return result
