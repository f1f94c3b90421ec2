"""latent-flow's video mode (SGANC IC) against x265 and VVenC on the shared talking-face clips, with the
residual histogram against the Irwin-Hall assumption and the open- vs closed-loop drift over a GOP.

Each clip is cropped into the shared face framing at 256x256 with its first frame's alignment
(lamina.vision.align.align_clip), as `lamina bench --video` does; that aligned clip is the reference for
every codec. latent-flow codes it with `encode_video` (open loop with Irwin-Hall residuals every g frames, and
closed loop); x265 and VVenC code the same frames at a QP ladder. Rates: the whole lamina file (container
included) / the elementary stream, kbit/s at the clip's frame rate. Metrics on every `--every`-th frame (default 3, coprime with every GOP measured) against
the original frame: PSNR, LPIPS (AlexNet), dlib landmark NME and identity kept; latent-flow also against its
projection G(E(x)) (the paper's reference).

Usage: python benchmarks/latent_flow/video.py --out runs/latent-flow/video [--frames 50]
Writes results.json, summary.csv, residuals.json (histogram of the real open-loop residuals vs the
Irwin-Hall pmf, per g), drift.csv (mean squared proxy error by position in the GOP, open vs closed loop) and
frames.png (original / projection / latent-flow / x265 at the nearest rate).
The rate/quality comparison itself is `lamina bench --video` now (docs/results/video/); this script stays for what
the bench does not do: the Irwin-Hall residual histogram, the open/closed-loop drift and the projection reference.
"""
from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np
import torch

CLIPS = ("WDA_KatieHill_000.mp4", "RD_Radio34_000.mp4", "lp_d0.mp4")
QPS = {"x265": (51, 48, 45, 42), "vvenc": (63, 59, 55, 51)}


def score(evaluator, refs, decoded, every) -> dict:
    rows = [evaluator.score(refs[i], decoded[i]) for i in range(0, len(decoded), every)]
    return {k: float(np.nanmean([r[k] for r in rows])) for k in rows[0] if k != "nme_dlib_gt"}


def main() -> None:
    from lamina import load
    from lamina.codecs.latent_flow.codec import LatentFlow
    from lamina.codecs.latent_flow.irwin_hall import residual_pmf
    from lamina.codecs.latent_flow.video import code_proxies
    from lamina.data.datasets import data_root
    from lamina.video import baseline_video_round_trip, read_video
    from lamina.vision.align import align_clip
    from lamina.vision.evaluators import Evaluator

    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--frames", type=int, default=50)
    parser.add_argument("--every", type=int, default=3,
                        help="score every N-th frame (3: coprime with the GOPs 5, 10 and 25, so the scored frames "
                             "fall at every position in a GOP, not only on anchors)")
    parser.add_argument("--clips", nargs="*", default=list(CLIPS))
    parser.add_argument("--qualities", nargs="*", type=int, default=None, help="default: every committed quality")
    parser.add_argument("--gops", nargs="*", type=int, default=[10], help="open-loop g for every quality")
    parser.add_argument("--extra-gops", nargs="*", type=int, default=[5, 25], help="open-loop g, quality 3 only")
    parser.add_argument("--no-baselines", action="store_true")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    evaluator = Evaluator(("psnr", "lpips_alex", "landmarks_dlib", "identity_dlib"))
    lpips_only = Evaluator(("psnr", "lpips_alex"))
    qualities = args.qualities or list(LatentFlow.bench_grid())
    results, pictures, histograms, drift = [], {}, {}, {}
    for c, clip in enumerate(args.clips):
        raw, fps = read_video(data_root() / "video" / clip, max_frames=args.frames)
        frames = align_clip(raw, 256)
        refs = [evaluator.reference(frames[i]) if i % args.every == 0 else None for i in range(len(frames))]
        seconds = len(frames) / fps
        shown = {"original": frames[len(frames) // 2]}

        def record(codec, setting, nbytes, decoded, projected=None):
            entry = {"clip": clip, "codec": codec, "setting": setting, "frames": len(frames), "fps": fps,
                     "bytes": nbytes, "kbps": nbytes * 8 / seconds / 1000,
                     **score(evaluator, refs, decoded, args.every)}
            if projected is not None:
                prefs = [lpips_only.reference(projected[i]) if i % args.every == 0 else None
                         for i in range(len(frames))]
                versus = score(lpips_only, prefs, decoded, args.every)
                entry.update({f"{k}_vs_projection": v for k, v in versus.items()})
            results.append(entry)
            print(json.dumps(entry), flush=True)
            shown[f"{codec} {setting} {entry['kbps']:.1f}kbps"] = decoded[len(frames) // 2]

        for quality in qualities:
            codec = load("latent-flow", quality=quality)
            with torch.no_grad():
                styles = [codec.styles_of(f) for f in frames]
                projected = [codec.render(s, 3, 256, 256) for s in styles]
                proxies = [codec.model.to_proxy(s) for s in styles]
            if quality == qualities[0]:
                record("projection", "G(E(x))", 0, projected)
                shown["projection"] = projected[len(frames) // 2]
            settings = [(g, "open") for g in args.gops] + [(1, "closed")]
            if quality == 3:
                settings += [(g, "open") for g in args.extra_gops]
            for gop, loop in settings:
                stream = codec.encode_video(frames, fps, gop=gop, loop=loop)
                data = stream.to_bytes()
                label = f"q{quality} g{gop} open" if loop == "open" else f"q{quality} closed"
                record("latent-flow", label, len(data), codec.decode_video(data), projected)
                _, decoded, residuals = code_proxies(codec.model, proxies, gop, loop)
                errors = [float(sum(((y - y_hat) ** 2).sum() for y, y_hat in zip(ys, ys_hat))
                                / sum(y.numel() for y in ys)) for ys, ys_hat in zip(proxies, decoded)]
                key = f"q{quality} g{gop} {loop}"
                drift.setdefault(key, []).append(errors)
                if residuals:
                    values = np.concatenate(residuals)
                    hist = histograms.setdefault(key, {"gop": gop, "n": gop + 2, "counts": {}, "values": 0})
                    for v, count in zip(*np.unique(values, return_counts=True)):
                        hist["counts"][int(v)] = hist["counts"].get(int(v), 0) + int(count)
                    hist["values"] += int(values.size)
        if not args.no_baselines:
            for encoder, qps in QPS.items():
                for qp in qps:
                    payload, decoded = baseline_video_round_trip(frames, fps, encoder, qp)
                    record(encoder, f"qp{qp}", len(payload), decoded)
        if c == 0:
            pictures = shown
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    keys = sorted({(r["codec"], r["setting"]) for r in results})
    metrics = ["kbps", "psnr", "lpips_alex", "nme_dlib", "id_dlib_kept", "psnr_vs_projection",
               "lpips_alex_vs_projection"]
    with open(out / "summary.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["codec", "setting", "clips"] + metrics)
        for key in keys:
            rows = [r for r in results if (r["codec"], r["setting"]) == key]
            writer.writerow(list(key) + [len(rows)] + [
                f"{np.mean([r[m] for r in rows]):.4g}" if m in rows[0] else "" for m in metrics])
    # residual histograms vs the Irwin-Hall pmf, and the cost of coding them with it
    report = {}
    for key, hist in histograms.items():
        low, pmf = residual_pmf(hist["n"])
        total = hist["values"]
        empirical = {v: c / total for v, c in sorted(hist["counts"].items())}
        ih = {v: float(pmf[v - low]) if 0 <= v - low < len(pmf) else 0.0 for v in range(low, -low + 1)}
        bits_ih = -sum(p * np.log2(max(ih.get(v, 0.0), 2.0 ** -12)) for v, p in empirical.items())
        bits_empirical = -sum(p * np.log2(p) for p in empirical.values())
        report[key] = {"g": hist["gop"], "n": hist["n"], "residual_values": total, "empirical": empirical,
                       "irwin_hall": ih, "bits_per_value_with_irwin_hall": bits_ih,
                       "bits_per_value_empirical_entropy": bits_empirical,
                       "share_zero": empirical.get(0, 0.0), "irwin_hall_zero": ih[0]}
    (out / "residuals.json").write_text(json.dumps(report, indent=2) + "\n")
    with open(out / "drift.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["setting", "frame", "mean_squared_proxy_error"])
        for key, runs in sorted(drift.items()):
            length = min(len(r) for r in runs)
            mean = np.mean([r[:length] for r in runs], axis=0)
            for t, value in enumerate(mean):
                writer.writerow([key, t, f"{value:.5g}"])
    from lamina.imageio import labelled_grid
    items = list(pictures.items())
    labelled_grid([[(label[:26], image) for label, image in items[i:i + 6]] for i in range(0, len(items), 6)],
         out / "frames.png")


if __name__ == "__main__":
    main()
