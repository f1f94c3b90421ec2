"""`lamina bench --video`: clip x codec x setting -> results.jsonl, summary.csv, plots, BD-rates, report.md, frames.

Clip sets: `talking-faces` (../shared/data/video/*.mp4 less the clips latent-flow trains on,
lamina.data.datasets.VIDEO_TRAIN_CLIPS; `talking-faces-all` keeps them; each cropped into the shared face framing
at 256x256 with its first frame's alignment, the clip every codec codes and is scored against), `video-natural`
(../shared/data/video-natural/*.mp4, as they are, cropped to even sides), or a folder of video files
(`--dataset DIR`, as natural clips; `--align` treats them as one-face clips). Codecs: every lamina codec that
declares the VIDEO capability (its `encode_video` / `decode_video`, quality = the codec's quality) and the classic
video encoders of `lamina.video.VIDEO_BASELINES` (`x265`, `vvenc`; quality = constant QP).

Per clip row: whole-stream bytes (a lamina file, or the baseline's elementary stream), kbit/s at the clip's frame
rate, bits per pixel per frame, the per-frame metrics on every `--frame-every`-th frame (lists under `per_frame`,
means as columns) and `flicker`: the temporal-consistency error, the mean absolute difference between the decoded
and the original frame-to-frame changes, |(d_t - d_{t-1}) - (x_t - x_{t-1})| in 8-bit levels over all frames
(0 = the decoded clip changes exactly as the original does; flicker and frozen motion both raise it).
Resumable: a (clip, codec, quality) already in results.jsonl is skipped.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError, LaminaError
from .report import number_or_none
from .specs import RunConfig

CLIP_SETS = {"talking-faces": ("video", True), "talking-faces-all": ("video", True),
             "video-natural": ("video-natural", False)}
VIDEO_EXTENSIONS = (".mp4", ".mkv", ".mov", ".avi", ".webm", ".y4m")
BASELINE_GRID = {"x265": (51, 48, 45, 42, 38), "vvenc": (63, 59, 55, 51, 47)}
FACE_METRICS = ("psnr", "lpips_alex", "dists", "landmarks_dlib", "identity_dlib")
NATURAL_METRICS = ("psnr", "lpips_alex", "dists")
CLIP_COLUMNS = {"kbps", "frames", "fps", "width", "height"}  # numeric columns of a clip row that are not metrics


@dataclass
class VideoBenchConfig(RunConfig):
    frames: int = 30              # first N frames of each clip
    frame_every: int = 3          # score every N-th frame (3: coprime with the usual GOPs, so every GOP position)
    align: bool | None = None     # crop into the face framing (default: talking-faces yes, others no)


def clips(config: VideoBenchConfig) -> tuple[list[Path], bool]:
    """(clip files, whether they are one-face clips to align)."""
    from ..paths import data_root
    if config.dataset in CLIP_SETS:
        folder, faces = CLIP_SETS[config.dataset]
        folder = data_root(config.data_root) / folder
    else:
        folder, faces = Path(config.dataset), False
    if not folder.is_dir():
        raise InputError(f"video bench: {folder} is not a folder of clips (known sets: {', '.join(CLIP_SETS)}, "
                         "or a folder of video files)")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in VIDEO_EXTENSIONS)
    if config.dataset == "talking-faces":
        from ..data.datasets import VIDEO_TRAIN_CLIPS
        files = [p for p in files if p.name not in VIDEO_TRAIN_CLIPS]
    files = files[:config.limit]
    if not files:
        raise InputError(f"video bench: no video files in {folder}")
    return files, faces if config.align is None else config.align


def settings(config: VideoBenchConfig) -> list:
    """The Settings (lamina.bench.specs) of every codec spec `name[:q1,q2][@key=value,...]`: the settings given,
    else --qualities, else the codec's default grid (x265 / vvenc: a QP ladder); options are the codec's own
    (latent-flow@gop=5, codebook-svr:3@lq_qp=45) and make their own curve."""
    from ..registry import codec_class, names
    from ..codecs.base import VIDEO
    from .specs import codec_name, parse
    video_codecs = [n for n in names() if VIDEO in codec_class(n).capabilities]
    grid = []
    for spec in config.codecs:
        name = codec_name(spec)
        if name in BASELINE_GRID:
            grid += parse(spec, config.qualities, BASELINE_GRID.get)
            continue
        if name not in video_codecs:
            raise InputError(f"video bench: {name!r} is not a video codec; video codecs: "
                             f"{', '.join(video_codecs + list(BASELINE_GRID))}")
        grid += parse(spec, config.qualities, lambda n: codec_class(n).bench_grid(), codec_class)
    return grid


def load_clip(path: Path, frames: int, align: bool) -> tuple[list[np.ndarray], float]:
    from ..video import read_video
    raw, fps = read_video(path, max_frames=frames)
    if align:
        from ..vision.align import align_clip
        return align_clip(raw, 256), fps
    h, w = (s // 2 * 2 for s in raw[0].shape[:2])
    return [np.ascontiguousarray(f[:h, :w]) for f in raw], fps


def flicker(original: list[np.ndarray], decoded: list[np.ndarray]) -> float:
    """Mean |(d_t - d_{t-1}) - (x_t - x_{t-1})| over all pixels and consecutive pairs, 8-bit levels."""
    if len(original) < 2:
        return float("nan")
    total = 0.0
    for t in range(1, len(original)):
        dx = original[t].astype(np.int16) - original[t - 1].astype(np.int16)
        dd = decoded[t].astype(np.int16) - decoded[t - 1].astype(np.int16)
        total += float(np.abs(dd - dx).mean())
    return total / (len(original) - 1)


def code(setting, frames: list[np.ndarray], fps: float, cache: dict,
         device: str = "cpu") -> tuple[int, list[np.ndarray], float, float]:
    """(bytes, decoded frames, encode s, decode s) of one codec setting on one clip (learned codecs on device)."""
    name, quality = setting.codec, setting.quality
    if name in BASELINE_GRID:
        from ..video import baseline_video_decode, baseline_video_encode
        start = time.perf_counter()
        stream = baseline_video_encode(frames, fps, name, int(quality))
        middle = time.perf_counter()
        h, w = frames[0].shape[:2]
        decoded = baseline_video_decode(stream, name, h, w, len(frames))
        return len(stream), decoded, middle - start, time.perf_counter() - middle
    from ..registry import load
    key = (name, quality, tuple(sorted(setting.encode.items())))
    if key not in cache:
        cache[key] = load(name, quality=quality, device=device, **setting.encode)
    codec = cache[key]
    start = time.perf_counter()
    data = codec.encode_video(frames, fps).to_bytes()
    middle = time.perf_counter()
    decoded = codec.decode_video(data, **setting.decode)
    return len(data), decoded, middle - start, time.perf_counter() - middle


def run_clip(config: VideoBenchConfig, path: Path, faces: bool, todo: list, metrics: list[str],
             sink=None) -> tuple[list, dict]:
    """Rows of one clip (every setting in todo) and its middle frames for the picture; sink(rows), when given,
    receives each setting's row as soon as it is scored (a stopped run keeps them)."""
    from ..vision.evaluators import Evaluator
    evaluator = Evaluator(metrics)
    frames, fps = load_clip(path, config.frames, faces)
    scored = list(range(0, len(frames), max(1, config.frame_every)))
    refs = {i: evaluator.reference(frames[i]) for i in scored}
    h, w = frames[0].shape[:2]
    seconds = len(frames) / fps
    middle = len(frames) // 2
    rows, shown, cache = [], {"original": frames[middle]}, {}
    for setting in todo:
        row = {"dataset": config.dataset, "image": path.name, "clip": path.name, "codec": setting.label,
               "options": setting.options, "quality": int(setting.quality), "layer": 1, "layers_total": 1,
               "frames": len(frames), "fps": round(fps, 3), "width": w, "height": h}
        try:
            nbytes, decoded, encode_s, decode_s = code(setting, frames, fps, cache, config.device)
        except LaminaError as exc:  # e.g. a face codec on a clip without a framed face: recorded, not scored
            rows.append({**row, "refused": str(exc)})
            if sink:
                sink(rows[-1:])
            continue
        per_frame = [evaluator.score(refs[i], decoded[i]) for i in scored]
        keys = [k for k in per_frame[0] if k != "nme_dlib_gt"]
        row.update({"bytes": nbytes, "kbps": nbytes * 8 / seconds / 1000, "bpp": nbytes * 8 / (len(frames) * h * w),
                    "encode_s": round(encode_s, 3), "decode_s": round(decode_s, 3)})
        series = {k: [number_or_none(f[k]) for f in per_frame] for k in keys}
        for k, values in series.items():
            present = [v for v in values if v is not None]
            row[k] = float(np.mean(present)) if present else None
        row["flicker"] = flicker(frames, decoded)
        row["per_frame"] = {"frame": scored, **series}
        rows.append(row)
        if sink:
            sink(rows[-1:])
        shown[f"{setting.label} {setting.quality}"] = decoded[middle]
    return rows, shown


def _job(args):
    import torch
    torch.set_num_threads(1)
    return run_clip(*args)


def run_video_bench(config: VideoBenchConfig) -> Path:
    """Run (or resume) a video benchmark and write its report; returns the output folder."""
    from .report import read_rows, summarise, write_summary_report
    from ..vision.evaluators import GROUPS
    from ..registry import check_device
    config.device = check_device(config.device)
    files, faces = clips(config)
    metrics = list(config.metrics or (FACE_METRICS if faces else NATURAL_METRICS))
    bad = [m for m in metrics if m not in GROUPS]
    if bad:
        raise InputError(f"unknown metrics {bad}; known: {', '.join(GROUPS)}")
    grid = settings(config)
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    results = out / "results.jsonl"
    done = {(r["clip"], r["codec"], int(r["quality"])) for r in read_rows(results)}
    done |= {(r["clip"], r["codec"], int(r["quality"])) for r in read_rows(out / "refused.jsonl")}
    jobs = []
    for path in files:
        todo = [s for s in grid if (path.name, s.label, s.quality) not in done]
        if todo:
            jobs.append((config, path, faces, todo, metrics))
    info = {"dataset": config.dataset, "video": True, "codecs": config.codecs, "qualities": config.qualities,
            "metrics": metrics + ["flicker"], "frames": config.frames, "frame_every": config.frame_every,
            "aligned": faces, "clips": [p.name for p in files], "anchors": config.anchors}
    if config.device != "cpu":
        info["device"] = config.device
    (out / "config.json").write_text(json.dumps(info, indent=2) + "\n")
    pictures = {}
    if jobs:
        from tqdm import tqdm
        bar = tqdm(total=len(jobs), desc=f"video bench {Path(config.dataset).name}", unit="clip",
                   disable=not config.progress)
        if config.workers > 1:
            import multiprocessing as mp
            with mp.get_context("spawn").Pool(config.workers) as pool:
                outputs = pool.imap_unordered(_job, jobs)
                for rows, shown in outputs:
                    _append(out, rows)
                    pictures[rows[0]["clip"] if rows else ""] = shown
                    bar.update()
        else:
            for job in jobs:
                _, shown = run_clip(*job, sink=lambda rows: _append(out, rows))
                pictures[job[1].name] = shown
                bar.update()
        bar.close()
    rows = read_rows(results)
    if not rows:
        refused = read_rows(out / "refused.jsonl")
        first = refused[0]["refused"].splitlines()[0] if refused else "no clips"
        raise InputError(f"video bench: nothing was scored ({len(refused)} settings refused; refused.jsonl); "
                         f"first: {first}")
    anchors = config.anchors or [a for a in ("x265", "vvenc") if any(r["codec"] == a for r in rows)]
    write_summary_report(out, summarise(rows), rows, info, anchors,
                         rate_label="bits per pixel per frame (whole stream, log scale)", not_metrics=CLIP_COLUMNS)
    if pictures:
        _frames_picture(out / "frames.png", pictures)
    return out


def _append(out: Path, rows: list[dict]) -> None:
    """Rows to results.jsonl, refusals to refused.jsonl beside it (the image bench's writer)."""
    from .runner import _append as append_rows
    with open(out / "results.jsonl", "a") as sink:
        append_rows(sink, rows)


def _frames_picture(path: Path, pictures: dict) -> None:
    """Each clip's middle frame: original, then every setting coded in this run, one labelled row per clip."""
    from ..imageio import labelled_grid
    labelled_grid([[(f"{clip}: {name}" if not j else name, image) for j, (name, image) in enumerate(shown.items())]
                   for clip, shown in sorted(pictures.items())], path, height=160)
