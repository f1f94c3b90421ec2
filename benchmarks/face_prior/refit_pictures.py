"""Pictures of the face codecs layer by layer (docs/results/face-prior/fine/layers.jpg): per face (utk-test, every
5th, the first four), original | stylegan-scalable q1 basic | + middle | + enhanced (the detail residual) | + detail
(the fine layer) | latent-flow q4 basic + middle | + enhanced | + detail | VVC QP 63. (The pictures of refit-v2 to
refit-v5 and geometry/ were made by this script's earlier versions: three layers, with --detail-fit 20 columns.)

    .venv/bin/python benchmarks/face_prior/refit_pictures.py docs/results/face-prior/fine/layers.jpg
"""
import sys

import numpy as np
from PIL import Image


def main() -> None:
    import lamina
    from lamina.data.datasets import load_dataset
    faces = [item.image() for item in load_dataset("utk-test")[::5][:4]]
    sg = lamina.load("stylegan-scalable", quality=1)
    lf = lamina.load("latent-flow", quality=4)
    vvc = lamina.load("vvc", quality=63)
    rows = []
    for face in faces:
        a, c = sg.encode(face).to_bytes(), lf.encode(face).to_bytes()
        cells = [face] + [sg.decode(a, layers=k) for k in (1, 2, 3, 4)] + [lf.decode(c, layers=k) for k in (2, 3, 4)]
        cells.append(vvc.decode(vvc.encode(face).to_bytes()))
        rows.append(np.concatenate([np.asarray(Image.fromarray(x).resize((192, 192))) for x in cells], 1))
    Image.fromarray(np.concatenate(rows, 0)).save(sys.argv[1], quality=85)


if __name__ == "__main__":
    main()
