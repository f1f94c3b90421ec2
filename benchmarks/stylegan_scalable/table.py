"""The paper's Table I for stylegan-scalable: per quality and layer, rate and every task metric, next to VVC
at its lowest settings, from the merged bench summaries (utk-test, landmarks-helen-test, celeba-test).

Usage: python benchmarks/stylegan_scalable/table.py UTK_RUN HELEN_RUN CELEBA_RUN OUT.md
"""
from __future__ import annotations

import csv
import sys
from pathlib import Path

COLUMNS = [  # (source, column, header)
    ("utk", "bytes", "bytes (utk)"), ("utk", "bpp", "bpp (utk)"),
    ("utk", "nme_dlib", "NME vs original (utk)"), ("helen", "nme_dlib_gt", "NME vs Helen GT"),
    ("utk", "parsing_fwiou", "parsing FwIoU"), ("utk", "id_dlib_kept", "dlib identity kept"),
    ("celeba", "recog_dlib_correct", "CelebA recognition"), ("celeba", "attr_match", "attribute match"),
    ("utk", "lpips_alex", "LPIPS (alex)"), ("utk", "dists", "DISTS"), ("utk", "psnr", "PSNR (dB)"),
]


def read(run: str) -> list[dict]:
    with open(Path(run) / "summary.csv") as handle:
        return list(csv.DictReader(handle))


def cell(rows, codec, quality, layer, column) -> str:
    for r in rows:
        if r["codec"] == codec and r["quality"] == str(quality) and r["layer"] == str(layer):
            value = r.get(column)
            if value in (None, ""):
                return "–"
            v = float(value)
            return f"{v:.0f}" if column == "bytes" else f"{v:.2f}" if column == "psnr" else f"{v:.3f}" \
                if abs(v) >= 0.01 or v == 0 else f"{v:.4f}"
    return "–"


def main(utk: str, helen: str, celeba: str, out: str) -> None:
    sources = {"utk": read(utk), "helen": read(helen), "celeba": read(celeba)}
    qualities = sorted({int(r["quality"]) for r in sources["utk"] if r["codec"] == "stylegan-scalable"})
    lines = ["| codec | layer | " + " | ".join(h for _, _, h in COLUMNS) + " |",
             "|---|---|" + "---|" * len(COLUMNS)]
    for q in qualities:
        for layer, name in enumerate(("basic", "+ middle", "+ enhanced"), start=1):
            lines.append(f"| stylegan-scalable q{q} | {name} | "
                         + " | ".join(cell(sources[s], "stylegan-scalable", q, layer, c) for s, c, _ in COLUMNS) + " |")
    vvc = sorted({int(r["quality"]) for r in sources["utk"] if r["codec"] == "vvc"}, reverse=True)[:3]
    for qp in vvc:  # VVC's three lowest-rate settings (highest QPs)
        lines.append(f"| vvc QP {qp} | image | "
                     + " | ".join(cell(sources[s], "vvc", qp, 1, c) for s, c, _ in COLUMNS) + " |")
    Path(out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main(*sys.argv[1:])
