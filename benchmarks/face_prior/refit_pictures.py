"""Pictures of the face codecs layer by layer (docs/results/face-prior/refit-v3/layers.jpg): per face (utk-test,
every 5th, the first four), original | stylegan-scalable q1 basic | + middle | + enhanced (the detail residual) |
+ enhanced fitted (--detail-fit 20) | latent-flow q4 basic + middle | + enhanced | + enhanced fitted | VVC QP 63.
(refit-v2/layers.jpg, of the prior v2 and the four-layer layout, was made by this script's previous version.)

    .venv/bin/python benchmarks/face_prior/refit_pictures.py docs/results/face-prior/refit-v3/layers.jpg
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
        cells = [face, sg.decode(a, layers=1), sg.decode(a, layers=2), sg.decode(a), sg.decode(b),
                 lf.decode(c, layers=2), lf.decode(c), lf.decode(d), vvc.decode(vvc.encode(face).to_bytes())]
        rows.append(np.concatenate([np.asarray(Image.fromarray(x).resize((192, 192))) for x in cells], 1))
    Image.fromarray(np.concatenate(rows, 0)).save(sys.argv[1], quality=85)


if __name__ == "__main__":
    main()
