"""Issue 23 probe: the fine layer (lamina.priors.detail.encode_fine) under coded geometry. The decoder resamples the
render of all four layers by the summed geometry field, so a residual coded against the plain face paints the
face's features where the face has them and the field then moves them again (a doubled mouth on some faces).
`FINE_IN_FIELD` codes it against the face resampled by the inverse of the first three layers' field instead
(lamina.codecs.face_codec). Both ways on the prior's validation faces (the last 64 utk-train faces, held out of its
training): the four-layer stream's bytes, identity kept / distance, LPIPS-alex, NME, PSNR, and the fourth layer's
bytes.

    .venv/bin/python benchmarks/face_prior/fine_field_probe.py --limit 24 --out docs/results/face-prior/fine/probe/field-sg-q1.json
"""
from __future__ import annotations

import argparse
import json

import numpy as np

KEYS = ("bytes", "detail_bytes", "id_dlib_kept", "id_dlib_distance", "lpips_alex", "nme_dlib", "psnr")


def main() -> None:
    import lamina
    from lamina.codecs import face_codec
    from lamina.data.training import split_items
    from lamina.vision.evaluators import Evaluator
    parser = argparse.ArgumentParser()
    parser.add_argument("--codec", default="stylegan-scalable")
    parser.add_argument("--quality", type=int, default=1)
    parser.add_argument("--limit", type=int, default=24)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    evaluator = Evaluator(("psnr", "lpips_alex", "identity_dlib", "landmarks_dlib"))
    codec = lamina.load(args.codec, quality=args.quality)
    rows: dict[str, list[dict]] = {}
    for item in split_items("faces")[1][:args.limit]:
        image = item.image()
        ref = evaluator.reference(image, item)
        for label, in_field in (("plain face", False), ("face in the field", True)):
            face_codec.FINE_IN_FIELD = in_field
            stream = codec.encode(image)
            score = evaluator.score(ref, codec.decode(stream.to_bytes()))
            rows.setdefault(label, []).append({**score, "bytes": len(stream.to_bytes()),
                                               "detail_bytes": len(stream.layers[3].payload)})
    result = {"codec": args.codec, "quality": args.quality, "faces": args.limit,
              "rows": {k: {key: float(np.nanmean([r[key] for r in v])) for key in KEYS} for k, v in rows.items()}}
    with open(args.out, "w") as handle:
        json.dump(result, handle, indent=1)
    for label, row in result["rows"].items():
        print(f"{label:18s}", " ".join(f"{k} {v:.4f}" for k, v in row.items()))


if __name__ == "__main__":
    main()
