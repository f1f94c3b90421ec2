"""Per-layer means of a face codec on a fixed subset of a face set (issue 23): whole-file bytes of the stream cut
after each layer, dlib identity kept (descriptor distance < 0.6), LPIPS-alex, dlib NME, PSNR; with the codec's
options (e.g. --detail-fit, --geometry), which `lamina bench` does not take.

    .venv/bin/python benchmarks/face_prior/layers_bench.py --dataset utk-test --every 5 --codec stylegan-scalable \
        --quality 1 [--detail-fit 20] [--geometry off] --out docs/results/face-prior/refit-v2/utk-test/sg-q1.json
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np

KEYS = ("bytes", "id_dlib_kept", "id_dlib_distance", "lpips_alex", "nme_dlib", "psnr")


def main() -> None:
    import lamina
    from lamina.bitstream import Bitstream
    from lamina.data.datasets import load_dataset
    from lamina.vision.evaluators import Evaluator
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", default="utk-test")
    parser.add_argument("--every", type=int, default=5)
    parser.add_argument("--codec", required=True)
    parser.add_argument("--quality", type=int, required=True)
    parser.add_argument("--detail-fit", type=int, default=0)
    parser.add_argument("--geometry", choices=("on", "off"), default="on")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    items = load_dataset(args.dataset)[::args.every]
    evaluator = Evaluator(("psnr", "lpips_alex", "identity_dlib", "landmarks_dlib"))
    codec = lamina.load(args.codec, quality=args.quality, detail_fit=args.detail_fit, geometry=args.geometry)
    rows: dict[int, list[dict]] = {}
    encode_s = []
    for item in items:
        image = item.image()
        ref = evaluator.reference(image, item)
        start = time.perf_counter()
        data = codec.encode(image).to_bytes()
        encode_s.append(time.perf_counter() - start)
        stream = Bitstream.parse(data)
        for k in range(1, stream.available_layers + 1):
            cut = stream.truncate(k).to_bytes()
            score = evaluator.score(ref, codec.decode(cut))
            rows.setdefault(k, []).append({**score, "bytes": len(cut)})
    layers = [{"layers": k, **{key: float(np.nanmean([r[key] for r in v])) for key in KEYS}} for k, v in rows.items()]
    result = {"dataset": args.dataset, "every": args.every, "faces": len(items), "codec": args.codec,
              "quality": args.quality, "detail_fit": args.detail_fit,
              "geometry": args.geometry,
              "median_encode_s": float(np.median(encode_s)), "layers": layers}
    with open(args.out, "w") as handle:
        json.dump(result, handle, indent=1)
    for row in layers:
        print(json.dumps({k: round(v, 4) for k, v in row.items()}))


if __name__ == "__main__":
    main()
