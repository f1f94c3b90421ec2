"""codebook-svr on an image set, in `lamina bench`'s results.jsonl schema so that the bench report (summary,
plots, BD-rates against VVC) covers it beside the baselines run into the same folder:

    python benchmarks/codebook_svr/eval.py --dataset kodak --out runs/codebook-svr/bench/kodak --alphas 0 0.5 1

Rows per image and committed quality q (real streams, whole-file bytes):
- `codebook-svr` L1 (indices alone; once per codebook, at the first quality that uses it) and L2 (indices +
  fidelity, α = 1): the bench's own rows;
- `codebook-svr x^LQ`: the fidelity layer's low-quality image alone, upsampled (bytes: the stream without
  the indices layer = container + fidelity payload), the paper's fidelity-codec baseline (once per LQ setting);
- `codebook-svr α=A` for each extra α, at --alpha-quality: the full stream decoded at fidelity strength A;
- `codebook-svr mean-scale LQ` (--mean-scale): the stream with the fidelity layer coded by lamina's mean-scale
  (q = the quality's mean-scale setting) instead of VVC.
Images: every `--stride`-th image of the set (a fixed subset, named in the report). The TAEF2 latent of an image
is computed once and shared by every quality (encode_s is that of the first quality).
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import time
from pathlib import Path


STATE: dict = {}
MEAN_SCALE_FOR = {1: 1, 2: 2, 3: 3, 4: 3, 5: 4}   # quality -> mean-scale quality of the same role


def _init(metrics):
    import torch
    torch.set_num_threads(1)
    from lamina.vision.evaluators import Evaluator
    STATE["evaluator"] = Evaluator(metrics)


def _row(dataset, item, codec_label, quality, layer, layer_name, total, nbytes, h, w, enc, dec, scores):
    return {"dataset": dataset, "image": item.name, "codec": codec_label, "quality": quality, "layer": layer,
            "layer_name": layer_name, "layers_total": total, "bytes": nbytes, "bpp": 8 * nbytes / (h * w),
            "width": w, "height": h, "encode_s": round(enc, 4), "decode_s": round(dec, 4), **scores}


def _process(task):
    import hashlib

    import lamina
    dataset, item, qualities, alphas, alpha_quality, mean_scale, extras = task
    if not extras:
        alphas, mean_scale = (), False
    evaluator = STATE["evaluator"]
    image = item.image()
    ref = evaluator.reference(image, item)
    h, w = image.shape[:2]
    rows, latents, scored_indices, scored_lq = [], {}, set(), set()
    for q in qualities:
        codec = lamina.load("codebook-svr", quality=q)
        encode_latent = codec.latent_of

        def latent_of(padded, encode_latent=encode_latent):
            # the frozen TAEF2 latent is the same for every quality: computed once per image (timed once)
            key = (padded.shape, hashlib.sha1(padded.tobytes()).hexdigest())
            if key not in latents:
                latents[key] = encode_latent(padded)
            return latents[key]

        codec.latent_of = latent_of
        t = time.perf_counter()
        stream = codec.encode(image)
        enc = time.perf_counter() - t
        book = (codec.grid, codec.model.config["codes"])
        # indices alone: one image per codebook (the same for every quality that shares it)
        for k in ((1, 2) if book not in scored_indices else (2,)):
            data = stream.truncate(k).to_bytes()
            t = time.perf_counter()
            out = codec.decode(data, layers=k)
            rows.append(_row(dataset, item, "codebook-svr", q, k, stream.layers[k - 1].name, 2, len(data), h, w,
                             enc, time.perf_counter() - t, evaluator.score(ref, out)))
        scored_indices.add(book)
        lq_key = (codec.factor, codec.lq_codec, codec.lq_quality)
        if lq_key not in scored_lq:
            scored_lq.add(lq_key)
            lq_bytes = len(stream.to_bytes()) - len(stream.layers[0].payload)
            t = time.perf_counter()
            out = codec.decode(stream, lq_only=True)
            rows.append(_row(dataset, item, "codebook-svr x^LQ", q, 1, "fidelity", 1, lq_bytes, h, w, enc,
                             time.perf_counter() - t, evaluator.score(ref, out)))
        for alpha in (alphas if q == alpha_quality else ()):
            if alpha == 1.0:
                continue
            t = time.perf_counter()
            out = codec.decode(stream, alpha=alpha)
            rows.append(_row(dataset, item, f"codebook-svr α={alpha:g}", q, 1, "fidelity", 1,
                             len(stream.to_bytes()), h, w, enc, time.perf_counter() - t, evaluator.score(ref, out)))
        if mean_scale and q in MEAN_SCALE_FOR:
            other = lamina.load("codebook-svr", quality=q, lq_codec="mean-scale", lq_quality=MEAN_SCALE_FOR[q])
            other.latent_of = latent_of
            t = time.perf_counter()
            s2 = other.encode(image)
            enc2 = time.perf_counter() - t
            t = time.perf_counter()
            out = other.decode(s2)
            rows.append(_row(dataset, item, "codebook-svr mean-scale LQ", q, 1, "fidelity", 1, len(s2.to_bytes()),
                             h, w, enc2, time.perf_counter() - t, evaluator.score(ref, out)))
    return rows


def main() -> None:
    from lamina import zoo
    from lamina.bench.report import write_report
    from lamina.bench.runner import read_rows
    from lamina.data.datasets import load_dataset
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--stride", type=int, default=1)
    parser.add_argument("--qualities", type=int, nargs="*", default=None)
    parser.add_argument("--alphas", type=float, nargs="*", default=[])
    parser.add_argument("--alpha-quality", type=int, default=2, help="the quality the α sweep runs at")
    parser.add_argument("--mean-scale", action="store_true")
    parser.add_argument("--extras-every", type=int, default=1,
                        help="the α sweep and the mean-scale variant on every N-th of the images only (CPU time)")
    parser.add_argument("--metrics", nargs="+", default=["psnr", "ms_ssim", "lpips_alex", "dists", "classification"])
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    qualities = args.qualities or zoo.qualities("codebook-svr")
    items = load_dataset(args.dataset)[::args.stride]
    done = {r["image"] for r in read_rows(out / "results.jsonl") if r["codec"] == "codebook-svr"}
    tasks = [(args.dataset, item, qualities, args.alphas, args.alpha_quality, args.mean_scale,
              i % args.extras_every == 0) for i, item in enumerate(items) if item.name not in done]
    with open(out / "results.jsonl", "a") as sink, mp.get_context("spawn").Pool(
            args.workers, _init, (args.metrics,)) as pool:
        for i, rows in enumerate(pool.imap_unordered(_process, tasks)):
            sink.writelines(json.dumps(r) + "\n" for r in rows)
            sink.flush()
            print(f"{i + 1}/{len(tasks)}", flush=True)
    write_report(out)


if __name__ == "__main__":
    main()
