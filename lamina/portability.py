"""Portability across CPUs (issue 22): run lamina's learned codecs with other float kernels in a child process and
compare with this process (tests/test_cross_cpu.py, benchmarks/portability/cross_cpu_margin.py).

The child (run_child) encodes every job's input and decodes its stream with the other kernels.

Kernel settings: a CPU with AVX-512 is compared against its AVX2 kernels (what another x86-64 machine runs); an
AVX2-only CPU against the baseline kernels without AVX (ATen's `default`, oneDNN SSE4.1), so the two sides always
run different float code."""
from __future__ import annotations

import hashlib
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np

# One model per learned codec (its default quality) and the video codecs' clip options.
IMAGE_CODECS = ("hyperprior", "mean-scale", "feature-texture", "stylegan-scalable", "latent-flow", "codebook-svr",
                "progressive-mask")
VIDEO_CODECS = {"stylegan-scalable": {"keyframe_interval": 2}, "latent-flow": {"gop": 2}, "codebook-svr": {}}
SIDE_BY_SIDE = 2  # jobs run two at a time in threads (lamina.batching; the same results as one at a time)


def other_kernels() -> dict[str, str]:
    """Environment that makes a child process run float kernels other than this CPU's default."""
    import torch
    capability = str(torch.backends.cpu.get_cpu_capability()).upper()
    if "AVX512" in capability:
        return {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"}
    return {"ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "SSE41"}


def table_digest(codec) -> str:
    """SHA-256 over every integer entropy table (CompressAI CDFs, offsets, lengths) and scale table the codec's
    networks hold: what both sides of a stream must agree on exactly."""
    import torch
    digest = hashlib.sha256()
    seen: set[int] = set()

    def visit(obj, depth):
        if depth > 3 or id(obj) in seen:
            return
        seen.add(id(obj))
        if isinstance(obj, torch.nn.Module):
            for name, buffer in sorted(obj.named_buffers()):
                if any(t in name for t in ("_quantized_cdf", "_offset", "_cdf_length", "scale_table")):
                    digest.update(name.encode() + buffer.cpu().contiguous().numpy().tobytes())
            return
        values = obj.values() if isinstance(obj, dict) else vars(obj).values() if hasattr(obj, "__dict__") else ()
        for value in list(values):
            if isinstance(value, (torch.nn.Module, dict)) or type(value).__module__.startswith("lamina"):
                visit(value, depth + 1)
    visit(codec, 0)
    return digest.hexdigest()


def encode_job(codec, job: dict) -> bytes:
    if job["kind"] == "video":
        return codec.encode_video(job["input"], 25.0, **VIDEO_CODECS[job["codec"]]).to_bytes()
    return codec.encode(job["input"]).to_bytes()


def decode_job(codec, job: dict, data: bytes) -> list[np.ndarray]:
    """Decodes of every layer prefix (video: the frames stacked)."""
    from .bitstream import Bitstream
    layers = Bitstream.parse(data).available_layers
    if job["kind"] == "video":
        return [np.stack(codec.decode_video(data, layers=k)) for k in range(1, layers + 1)]
    return [codec.decode(data, layers=k) for k in range(1, layers + 1)]


def run_jobs(jobs: list[dict]) -> list[dict]:
    """Per job: the stream this process codes from the job's input, its decodes of the job's stream, and the
    codec's entropy-table digest."""
    import lamina
    from .batching import run_batched

    def run(job: dict) -> dict:
        codec = lamina.load(job["codec"])
        return {"stream": encode_job(codec, job), "decoded": decode_job(codec, job, job["stream"]),
                "tables": table_digest(codec)}
    return run_batched(run, jobs, batch=SIDE_BY_SIDE)


def scale_records(codec, stream: bytes) -> list[tuple[np.ndarray, np.ndarray]]:
    """(scale table, scales) of every CompressAI GaussianConditional lookup while decoding `stream`: the float
    values the decoder turns into CDF-table indexes (hyper-synthesis outputs), where a kernel difference could
    flip a symbol's distribution between encoder and decoder."""
    from .compat import import_compressai
    GaussianConditional = import_compressai().entropy_models.GaussianConditional
    records = []
    original = GaussianConditional.build_indexes

    def recording(self, scales):
        records.append((self.scale_table.detach().cpu().numpy().copy(),
                        scales.detach().cpu().double().numpy().ravel().copy()))
        return original(self, scales)
    GaussianConditional.build_indexes = recording
    try:
        codec.decode(stream)
    finally:
        GaussianConditional.build_indexes = original
    return records


def run_margin_jobs(jobs: list[dict]) -> list[list]:
    """Per job ({'codec', 'kwargs', 'stream'}): scale_records of decoding its stream."""
    import lamina
    return [scale_records(lamina.load(job["codec"], **job.get("kwargs", {})), job["stream"]) for job in jobs]


def make_jobs(faces: list[np.ndarray]) -> list[dict]:
    """Every learned codec on the first face, every video codec on a 3-frame clip of the faces: coded and decoded
    here (job['stream'], job['decoded'], job['tables'])."""
    jobs = [{"codec": name, "kind": "image", "input": faces[0]} for name in IMAGE_CODECS]
    clip = [faces[0], faces[1], faces[0]]
    jobs += [{"codec": name, "kind": "video", "input": clip} for name in VIDEO_CODECS]
    import lamina
    from .batching import run_batched

    def run(job: dict) -> None:
        codec = lamina.load(job["codec"])
        job["stream"] = encode_job(codec, job)
        job["decoded"] = decode_job(codec, job, job["stream"])
        job["tables"] = table_digest(codec)
    run_batched(run, jobs, batch=SIDE_BY_SIDE)
    return jobs


def run_child(jobs: list[dict], workdir: Path, env: dict[str, str]) -> list:
    """child_main in a child process with `env` added to this one's environment."""
    jobs_path, result_path = Path(workdir) / "jobs.pkl", Path(workdir) / "result.pkl"
    jobs_path.write_bytes(pickle.dumps(jobs))
    child = subprocess.run([sys.executable, "-c", "import sys; from lamina.portability import child_main; "
                            "child_main(*sys.argv[1:])", str(jobs_path), str(result_path)],
                           env={**os.environ, **env}, capture_output=True, text=True, timeout=900)
    if child.returncode != 0:
        raise RuntimeError(f"cross-CPU child failed ({child.returncode}): {child.stderr[-2000:]}")
    return pickle.loads(result_path.read_bytes())


def child_main(jobs_path: str, result_path: str) -> None:
    """The child process: run the jobs (run_margin_jobs for margin jobs, else run_jobs) and write the results."""
    jobs = pickle.loads(Path(jobs_path).read_bytes())
    runner = run_margin_jobs if jobs and jobs[0].get("mode") == "margin" else run_jobs
    Path(result_path).write_bytes(pickle.dumps(runner(jobs)))
