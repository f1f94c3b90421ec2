"""Issue 23: the detail layer fitted by analysis-by-synthesis at the encoder (decoder unchanged).

The shipped encoder quantises the pooled latent residual pool(latent(x) - G(styles)) (x detail.SHRINK since the prior
v3), against the latent of the basic and middle styles (the image layout since 2026-12-06). On the prior v2 (trained with
pixel and identity terms, its generated latents sit further from the TAEF2 encoder's) that residual makes landmarks
worse (NME up ~10% on validation faces) and adds haze. Here the pooled offset o starts at that residual and takes a
few Adam steps on the decoded 128 px face (10 MSE + LPIPS-alex through the frozen TAEF2 decoder, + a rate proxy
mu * mean|o| / step), then is quantised exactly as before: same payload format, same decoder.

    .venv/bin/python benchmarks/face_prior/detail_fit_probe.py --limit 24 --steps 0 20 --mu 0 0.02

`--kernels N` instead asks whether the fitted symbols are the same under other float kernels: per training face
(every 997th of the `faces` training split), each optimiser's hash of the fitted symbols and the smallest distance
of a fitted value to a rounding boundary; run it twice and compare
(docs/results/face-prior/probe-v2/detail-fit-cross-kernel.txt):

    .venv/bin/python benchmarks/face_prior/detail_fit_probe.py --kernels 8
    ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 .venv/bin/python benchmarks/face_prior/detail_fit_probe.py --kernels 8
"""
from __future__ import annotations

import argparse
import hashlib
import json

import numpy as np
import torch
import torch.nn.functional as F


def fit_offset(decoder, lpips, generated, target01, start, steps, step, mu, lr=0.05, optimizer="adam"):
    """Adam (the codec's own fit, lamina.priors.detail.fit), or 'ngd': gradient steps scaled by one number (the
    gradient's RMS), so that float differences between CPUs stay relative instead of being amplified per element as
    Adam's normalisation does near zero gradients."""
    from lamina.priors import detail
    if optimizer == "adam":
        return detail.fit(generated, target01, start, step, steps, mu, lr)
    o = start.clone().requires_grad_(True)
    for _ in range(steps):
        pixels = decoder(generated + F.interpolate(o, scale_factor=detail.POOL, mode="nearest"))
        loss = 10 * (pixels - target01).pow(2).mean() + lpips(target01, pixels).mean() + mu * o.abs().mean() / step
        grad, = torch.autograd.grad(loss, o)
        with torch.no_grad():
            o -= lr * grad / grad.pow(2).mean().sqrt().clamp_min(1e-12)
    return o.detach()


def kernels(count: int) -> None:
    import lamina
    from lamina.codecs.face_codec import DETAIL_OVER
    from lamina.data.training import split_items
    from lamina.nn.perceptual import LPIPS
    from lamina.nn.taef2 import load_decoder
    from lamina.priors import detail
    torch.set_num_threads(1)
    codec = lamina.load("stylegan-scalable", quality=1, detail_fit=0)
    decoder = load_decoder().requires_grad_(False)
    lpips = LPIPS("alex").eval().requires_grad_(False)
    for item in split_items("faces")[0][::997][:count]:
        image = item.image()
        with torch.no_grad():
            x = codec.model_input(image)
            payloads = codec.code_styles(x, DETAIL_OVER)  # the style layers under the residual
            generated = codec.generated_latent(codec.prior_styles(payloads))
            residual = F.avg_pool2d(detail.target_latent(codec.model.prior, x) - generated, detail.POOL)
        out = []
        for optimizer in ("adam", "ngd"):
            o = fit_offset(decoder, lpips, generated, x / 2 + 0.5, residual, 20, 1.0, 0.5, 0.05, optimizer)
            symbols = torch.round(o).clamp(-detail.CLIP, detail.CLIP).to(torch.int64)
            margin = float((0.5 - (o - o.round()).abs()).min())
            out.append(f"{optimizer}:{hashlib.sha256(symbols.numpy().tobytes()).hexdigest()[:8]}:{margin:.2e}")
        print(" ".join(out), flush=True)


def main() -> None:
    import lamina
    from lamina.codecs.face_codec import DETAIL_OVER
    from lamina.data.training import split_items
    from lamina.entropy import adaptive
    from lamina.nn.perceptual import LPIPS
    from lamina.nn.taef2 import load_decoder
    from lamina.priors import detail
    from lamina.vision.evaluators import Evaluator
    parser = argparse.ArgumentParser()
    parser.add_argument("--codec", default="stylegan-scalable")
    parser.add_argument("--quality", type=int, default=1)
    parser.add_argument("--limit", type=int, default=24)
    parser.add_argument("--steps", type=int, nargs="+", default=[0, 20])
    parser.add_argument("--mu", type=float, nargs="+", default=[0.0])
    parser.add_argument("--step", type=float, default=1.0)
    parser.add_argument("--optimizer", default="adam", choices=("adam", "ngd"))
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--out")
    parser.add_argument("--kernels", type=int, help="the cross-kernel check on N training faces instead")
    args = parser.parse_args()
    if args.kernels:
        return kernels(args.kernels)
    torch.set_num_threads(1)
    codec = lamina.load(args.codec, quality=args.quality, detail_step=args.step)
    decoder = load_decoder().requires_grad_(False)
    lpips = LPIPS("alex").eval().requires_grad_(False)
    evaluator = Evaluator(("lpips_alex", "identity_dlib", "landmarks_dlib", "psnr"))
    items = split_items("faces")[1][:args.limit]
    variants = [(s, m) for s in args.steps for m in (args.mu if s else [0.0])]
    rows = {v: [] for v in variants}
    styles_only = []
    for item in items:
        image = item.image()
        ref = evaluator.reference(image, item)
        stream = codec.encode(image)
        styles_only.append(evaluator.score(ref, codec.decode(stream.to_bytes(), layers=DETAIL_OVER)))
        with torch.no_grad():
            x = codec.model_input(image)
            payloads = [layer.payload for layer in stream.layers[:DETAIL_OVER]]  # the style layers under the residual
            generated = codec.generated_latent(codec.prior_styles(payloads))
            target = detail.target_latent(codec.model.prior, x)
            residual = F.avg_pool2d(target - generated, detail.POOL)
        for steps, mu in variants:
            o = fit_offset(decoder, lpips, generated, x / 2 + 0.5, residual, steps, args.step, mu, args.lr,
                           args.optimizer) if steps else residual * detail.SHRINK  # what the encoder codes
            symbols = torch.round(o / args.step).clamp(-detail.CLIP, detail.CLIP).to(torch.int64)[0] + detail.CLIP
            payload = adaptive.encode([(symbols.flatten().numpy(), detail.ALPHABET, detail.INITIAL_COUNTS)])
            offset = detail.decode(payload, tuple(generated.shape[1:]), args.step)
            decoded = codec.render_with_detail(generated, offset, *image.shape[:2])
            score = evaluator.score(ref, decoded)
            score["detail_bytes"] = len(payload)
            rows[(steps, mu)].append(score)
    keys = ("detail_bytes", "lpips_alex", "id_dlib_kept", "id_dlib_distance", "nme_dlib", "psnr")
    table = [{"variant": "basic + middle style layers",
              **{k: float(np.nanmean([r[k] for r in styles_only])) for k in keys[1:]}}]
    for (steps, mu), scores in rows.items():
        table.append({"variant": f"fit steps {steps} mu {mu}" if steps else "residual (shipped)",
                      **{k: float(np.nanmean([r[k] for r in scores])) for k in keys}})
    for row in table:
        print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}), flush=True)
    if args.out:
        with open(args.out, "w") as handle:
            json.dump({"codec": args.codec, "quality": args.quality, "step": args.step, "faces": len(items),
                   "optimizer": args.optimizer, "lr": args.lr,
                       "faces_from": "validation (the last 64 utk-train)", "rows": table}, handle, indent=1)


if __name__ == "__main__":
    main()
