"""Pictures of the face codecs on the prior v2 (docs/results/face-prior/refit-v2/layers.jpg): per face (utk-test,
every 5th, the first four), original | stylegan-scalable q1 three style layers | + detail (residual) | + detail
(--detail-fit 20) | latent-flow q4 + detail (residual) | + detail (--detail-fit 20) | VVC QP 63.

    .venv/bin/python benchmarks/face_prior/refit_pictures.py docs/results/face-prior/refit-v2/layers.jpg
"""
import sys

import numpy as np
from PIL import Image


def main() -> None:
    import lamina
    from lamina.data.datasets import load_dataset
    faces = [item.image() for item in load_dataset("utk-test")[::5][:4]]
    sg = lamina.load("stylegan-scalable", quality=1)
    sg_fit = lamina.load("stylegan-scalable", quality=1, detail_fit=20)
    lf = lamina.load("latent-flow", quality=4)
    lf_fit = lamina.load("latent-flow", quality=4, detail_fit=20)
    vvc = lamina.load("vvc", quality=63)
    rows = []
    for face in faces:
        a, b = sg.encode(face).to_bytes(), sg_fit.encode(face).to_bytes()
        c, d = lf.encode(face).to_bytes(), lf_fit.encode(face).to_bytes()
        cells = [face, sg.decode(a, layers=3), sg.decode(a), sg.decode(b), lf.decode(c), lf.decode(d),
                 vvc.decode(vvc.encode(face).to_bytes())]
        rows.append(np.concatenate([np.asarray(Image.fromarray(x).resize((192, 192))) for x in cells], 1))
    Image.fromarray(np.concatenate(rows, 0)).save(sys.argv[1], quality=85)


if __name__ == "__main__":
    main()
