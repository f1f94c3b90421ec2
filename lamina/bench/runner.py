"""`lamina bench`: dataset x codec x quality (x layer) -> results.jsonl, summary.csv, plots, report.md.

Resumable: rows already in results.jsonl (same image, codec, quality, layer) are skipped. Work is split
by image across `workers` processes, or across the workers of a Dask distributed cluster (`scheduler`: its
address; every worker needs lamina's environment and the shared data at the same path); each worker encodes,
decodes every layer and scores one image at a time, and the rows come back to this process, which writes them.
"""
from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError, NoFaceError

FACE_DATASETS = {"utk-test", "utk-train", "celeba-test", "celeba-train", "landmarks-helen-test",
                 "landmarks-helen-train", "landmarks-afw"}

from .specs import RunConfig
from .report import number_or_none, read_rows  # noqa: F401  (read_rows: tests and callers read rows from here)


@dataclass
class BenchConfig(RunConfig):
    every: int = 1            # every N-th image of the set (a fixed subset), before limit
    scheduler: str | None = None  # a Dask distributed scheduler's address (tcp://host:8786): run the images there
    batch: int = 1            # images coded together in one process (lamina.batching: grouped network calls on a GPU)
    extra: dict = field(default_factory=dict)

    def metric_list(self) -> list[str]:
        from ..vision.evaluators import DEFAULT_FACE_METRICS
        if self.metrics:
            return list(self.metrics)
        metrics = list(DEFAULT_FACE_METRICS) if self.dataset in FACE_DATASETS else \
            ["psnr", "ms_ssim", "lpips_alex", "classification"]
        if self.dataset == "celeba-test":
            metrics += ["recognition", "attributes"]
        return metrics


def _key(row) -> tuple:
    return (row["image"], row["codec"], int(row["quality"]), int(row["layer"]))


def _grid(config: BenchConfig) -> list:
    """The Settings of every codec spec `name[:q1,q2][@key=value,...]` (lamina.bench.specs)."""
    from ..registry import codec_class
    from .specs import parse
    return [setting for spec in config.codecs
            for setting in parse(spec, config.qualities, lambda n: codec_class(n).bench_grid(), codec_class)]


_worker_state: dict = {}
_shared = threading.Lock()  # the evaluators and the codec cache, when --batch runs images in threads


def _init_worker(metrics, gallery_path, data_root, device="cpu"):
    import torch
    torch.set_num_threads(1)
    _worker_state["device"] = device
    from ..vision.evaluators import Evaluator, Gallery
    gallery = Gallery.build(root=data_root, cache_path=Path(gallery_path)) if gallery_path else None
    _worker_state["evaluator"] = Evaluator(metrics, gallery=gallery)
    _worker_state["codecs"] = {}


def _process_image(task) -> list[dict]:
    """All rows of one image: reference once, then every (codec, quality) and layer."""
    from ..batching import solo
    from ..registry import load
    dataset, item, todo = task
    if "evaluator" not in _worker_state:
        raise RuntimeError("bench worker not initialised")
    evaluator = _worker_state["evaluator"]
    image = item.image()
    with _shared, solo():
        ref = evaluator.reference(image, item)
    h, w = image.shape[:2]
    rows = []
    for setting in todo:
        name, quality = setting.label, setting.quality
        key = (setting.codec, quality, tuple(sorted(setting.encode.items())))
        with _shared, solo():
            if key not in _worker_state["codecs"]:
                _worker_state["codecs"][key] = load(setting.codec, quality=quality,
                                                    device=_worker_state.get("device", "cpu"), **setting.encode)
            codec = _worker_state["codecs"][key]
        start = time.perf_counter()
        try:
            stream = codec.encode(image)
        except NoFaceError as exc:  # face codecs refuse images without a framed face: recorded, not scored
            rows.append({"dataset": dataset, "image": item.name, "codec": name, "quality": quality,
                         "refused": str(exc)})
            continue
        encode_s = time.perf_counter() - start
        total_layers = stream.available_layers
        for k in range(1, total_layers + 1):
            data = stream.truncate(k).to_bytes()
            start = time.perf_counter()
            decoded = codec.decode(data, layers=k, **setting.decode)
            decode_s = time.perf_counter() - start
            row = {"dataset": dataset, "image": item.name, "codec": name, **({"options": setting.options}
                                                                             if setting.options else {}),
                   "quality": int(codec.quality),
                   "layer": k, "layer_name": stream.layers[k - 1].name, "layers_total": total_layers,
                   "bytes": len(data), "header_bytes": stream.header_size(k),
                   "payload_bytes": len(data) - stream.header_size(k), "bpp": 8 * len(data) / (h * w),
                   "width": w, "height": h,
                   "encode_s": round(encode_s, 5), "decode_s": round(decode_s, 5)}
            with _shared, solo():
                scores = evaluator.score(ref, decoded)
            row.update({m: number_or_none(v) for m, v in scores.items()})
            rows.append(row)
    return rows


def run_bench(config: BenchConfig) -> Path:
    """Run (or resume) a benchmark and write its report; returns the output folder."""
    from ..data.datasets import load_dataset
    from ..vision.evaluators import GROUPS
    from .report import write_report
    config.out.mkdir(parents=True, exist_ok=True)
    metrics = config.metric_list()
    bad = [m for m in metrics if m not in GROUPS]  # checked here too, for one clear error before any work
    if bad:
        raise InputError(f"unknown metrics {bad}; known: {', '.join(GROUPS)}")
    from ..registry import check_device
    config.device = check_device(config.device)
    if not isinstance(config.batch, int) or config.batch < 1:
        raise InputError(f"--batch must be a whole number >= 1, got {config.batch!r}")
    if config.batch > 1 and (config.workers > 1 or config.scheduler):
        raise InputError("--batch codes images together in one process: use it without --workers / --scheduler")
    items = load_dataset(config.dataset, root=config.data_root)[::max(1, config.every)][:config.limit]
    for item in items:
        if item.user:  # a user's files: every one must be readable under lamina's input policy before any work
            try:
                item.image()
            except InputError as exc:
                raise InputError(f"{config.dataset}: {exc}") from exc
    grid = _grid(config)
    results = config.out / "results.jsonl"
    done = {_key(r) for r in read_rows(results)}
    # A (codec, quality) is done for an image once its layer-1 row exists (layers are written together).
    tasks = []
    for item in items:
        todo = [g for g in grid if g.quality is None or (item.name, g.label, g.quality, 1) not in done]
        if todo:
            tasks.append((config.dataset, item, todo))
    gallery_path = None
    if "recognition" in metrics:
        gallery_path = str(config.out / "celeba-train-gallery.npz")
        from ..vision.evaluators import Gallery
        Gallery.build(root=config.data_root, cache_path=Path(gallery_path))  # once, before the workers
    _write_config(config, metrics)
    if tasks:
        from tqdm import tqdm
        bar = tqdm(total=len(tasks), desc=f"bench {config.dataset}", unit="img", disable=not config.progress)
        init_args = (metrics, gallery_path, config.data_root, config.device)  # every worker's _init_worker
        with open(results, "a") as sink:
            if config.scheduler:
                for rows in _on_cluster(config.scheduler, tasks, init_args):
                    _append(sink, rows)
                    bar.update()
            elif config.batch > 1:  # one process, `batch` images at a time in threads (lamina.batching)
                from ..batching import run_batched
                _init_worker(*init_args)
                for start in range(0, len(tasks), config.batch):
                    for rows in run_batched(_process_image, tasks[start:start + config.batch], config.batch):
                        _append(sink, rows)
                        bar.update()
            elif config.workers > 1:
                import multiprocessing as mp
                ctx = mp.get_context("spawn")
                with ctx.Pool(config.workers, _init_worker, init_args) as pool:
                    for rows in pool.imap_unordered(_process_image, tasks):
                        _append(sink, rows)
                        bar.update()
            else:
                _init_worker(*init_args)
                for task in tasks:
                    _append(sink, _process_image(task))
                    bar.update()
        bar.close()
    write_report(config.out, anchors=config.anchors)
    return config.out


def _dask_task(task, init_args) -> list[dict]:
    """One image on a Dask worker: its worker process is initialised once (evaluators, gallery), like a pool's."""
    if _worker_state.get("init") != init_args:
        _init_worker(*init_args)
        _worker_state["init"] = init_args
    return _process_image(task)


def _on_cluster(address: str, tasks: list, init_args: tuple):
    """Rows of every task, computed on the Dask distributed cluster at address, as they finish."""
    try:
        from distributed import Client, as_completed
    except ImportError as exc:  # pragma: no cover - a dependency of lamina
        raise InputError("--scheduler needs the `distributed` package") from exc
    if address.startswith("tcp://"):  # nothing listening: say so at once, not after the client's timeout
        import socket
        host, _, port = address[len("tcp://"):].rpartition(":")
        try:
            socket.create_connection((host.strip("[]"), int(port)), timeout=5).close()
        except (OSError, ValueError) as exc:
            raise InputError(f"no Dask scheduler answers at {address}: {exc}") from None
    try:
        client = Client(address, timeout="20s")
    except (OSError, TimeoutError) as exc:
        raise InputError(f"no Dask scheduler answers at {address}: {exc}") from None
    with client:
        futures = client.map(_dask_task, tasks, init_args=init_args, pure=False)
        for future in as_completed(futures):
            yield future.result()


def _append(sink, rows) -> None:
    """Scored rows to results.jsonl; images a codec refused (no framed face) to refused.jsonl beside it."""
    refused = [row for row in rows if "refused" in row]
    for row in rows:
        if "refused" not in row:
            sink.write(json.dumps(row) + "\n")
    sink.flush()
    os.fsync(sink.fileno())
    if refused:
        with open(Path(sink.name).with_name("refused.jsonl"), "a") as handle:
            handle.writelines(json.dumps(row) + "\n" for row in refused)


def learned_weights(name: str) -> str:
    """The committed weights files a learned codec reads, with their model ids."""
    from .. import zoo
    files = sorted(zoo.ROOT.glob(f"{name}*.pt"))
    return ", ".join(f"{f.name} (id {zoo.model_id_of(f).hex()})" for f in files) or "lamina (built in)"


def _write_config(config: BenchConfig, metrics) -> None:
    from ..codecs.classic import encoder_versions
    from ..registry import codec_class
    from .specs import codec_name
    names = list(dict.fromkeys(codec_name(spec) for spec in config.codecs))
    encoders = {k: v for k, v in encoder_versions().items() if k in names}
    encoders.update({name: learned_weights(name) for name in names if name not in encoders})
    status = {name: codec_class(name).status for name in names if codec_class(name).status}
    info = {"dataset": config.dataset, "codecs": config.codecs, "qualities": config.qualities,
            "metrics": metrics, "limit": config.limit, "every": config.every, "anchors": config.anchors,
            "encoders": encoders, "status": status}
    if config.device != "cpu":  # cpu runs keep the config they always wrote
        info["device"] = config.device
    (config.out / "config.json").write_text(json.dumps(info, indent=2) + "\n")
