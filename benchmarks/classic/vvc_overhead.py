"""Bytes per NAL unit type in lamina's VVC streams (how much is parameter sets vs slice data).

Usage: python benchmarks/classic/vvc_overhead.py [QP] [IMAGES]   (utk-test faces)
"""
import re
import sys

import numpy as np

import lamina
from lamina.data.datasets import load_dataset

NAL_TYPES = {14: "VPS", 15: "SPS", 16: "PPS", 17: "prefix APS", 18: "suffix APS", 19: "PH", 20: "AUD",
             23: "prefix SEI", 24: "suffix SEI"}


def main(qp: int = 63, count: int = 20) -> None:
    totals, sizes = {}, []
    images = [item.image() for item in load_dataset("utk-test", limit=count)]
    for image in images:
        payload = lamina.load("vvc", quality=qp).encode(image).layers[0].payload
        sizes.append(len(payload))
        starts = [m.start() for m in re.finditer(b"\x00\x00\x01", payload)]
        for index, start in enumerate(starts):
            end = starts[index + 1] if index + 1 < len(starts) else len(payload)
            kind = (payload[start + 4] >> 3) & 0x1F  # nal_unit_type, second byte of the NAL header
            name = NAL_TYPES.get(kind, "slice data" if kind < 12 else f"type {kind}")
            totals[name] = totals.get(name, 0) + end - start
    print(f"VVC QP {qp}, {count} utk-test faces: mean payload {np.mean(sizes):.1f} bytes; per NAL type (with start codes):")
    for name, total in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"  {name:<12} {total / count:7.1f}")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
