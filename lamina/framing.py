"""The shared crop framing of lamina's face codecs (dlib get_face_chip, padding 0.2): where the face and its five
points sit, and how far a face may be from it. A neutral home: the face front end (vision.face), MobileFaceNet's
crop (nn.mobilefacenet) and the evaluators read it."""
from __future__ import annotations

import numpy as np

# Where dlib's frontal detector puts the face in the shared crop framing (get_face_chip, padding 0.2),
# as fractions of the side: the median box over 200 utk-train crops, 194 detected (measured by
# benchmarks/vision/measure_framing_box.py). Used when detection fails on a crop in that framing.
FRAMING_BOX = (0.06, 0.06, 0.835, 0.835)  # left, top, right, bottom

# Eye centres, nose tip and mouth corners in the shared crop framing, as fractions of (width, height): medians
# over 288 dlib detections on celeba-train and utk-train crops (benchmarks/vision/measure_framing_points.py).
FRAMING_POINTS5 = np.array([[0.2953, 0.2983], [0.6868, 0.2975], [0.4891, 0.5117], [0.3137, 0.69],
                            [0.6709, 0.69]])
# The same five points as the MediaPipe face mesh marks them (MESH_* below; its nose tip sits lower than
# dlib's): medians over 298 celeba-train and utk-train crops.
FRAMING_POINTS5_MESH = np.array([[0.2932, 0.2965], [0.6923, 0.2963], [0.4882, 0.5505], [0.3224, 0.6873],
                                 [0.669, 0.6884]])
FRAMING_EYES = FRAMING_POINTS5[:2]
FRAMING_EYE_DISTANCE = float(np.linalg.norm(FRAMING_EYES[1] - FRAMING_EYES[0]))  # fraction of the width

# How far a face may sit from the framing and still be coded (the face codecs refuse the rest): size 0.85-1.2x
# the framing's, centre within 0.2 framing eye distances (about 8% of the side), roll within 12 degrees.
# Measured by benchmarks/vision/measure_face_check.py (docs/results/face-check/): aligned crops lie inside (utk-test,
# celeba-test, Helen, AFW: 98.8-100% accepted, 99.5th percentiles of roll 4-7 degrees); misaligned crops past
# the limits decode far worse (stylegan-scalable LPIPS-alex 0.28 aligned, 0.42 at 0.8x zoom, 0.40 shifted by
# 10% of the side, 0.37 rotated 15 degrees) and are refused; raw talking-head frames measure 0.54-0.70x.
FRAMING_LIMITS = {"scale": (0.85, 1.2), "offset": 0.2, "roll": 12.0}
