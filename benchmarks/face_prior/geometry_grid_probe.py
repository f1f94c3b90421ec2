"""Issue 23, coded geometry (lamina.codecs.geometry): the probe that chose the grid. A face codec's basic-layer
render (geometry off) of the last N utk-train faces; a K x K displacement grid (outer ring fixed at zero, bicubic,
smoothness weight lam, ridge 1e-2) fitted to the original's dlib landmarks in 2 refinements, node values rounded to
`step` pixels; the render warped (uint8, bilinear) by it. Prints the basic and middle layers' NME with the field and
the bytes per face as the empirical entropy of all faces' node values (a static model; the shipped code writes
Exp-Golomb, a little more). As it ran (2026-12-07, in a scratch folder, sg q1, 24 faces, K 6/8/10):

    .venv/bin/python benchmarks/face_prior/geometry_grid_probe.py 1 24 6,8,10 \
        > docs/results/face-prior/geometry/probe/grid-sg-q1.txt
"""
import sys, time, pickle, os
import numpy as np, torch, torch.nn.functional as F, cv2
import lamina
from lamina.data.datasets import load_dataset
from lamina.vision.landmarks import dlib68, nme
from lamina.vision.face import face_box, shape68, shape_to_array
torch.set_num_threads(1)

def field(d, K, H, W):  # d: K x K x 2 node displacements
    g = torch.tensor(np.ascontiguousarray(d.transpose(2, 0, 1))[None], dtype=torch.float32)
    return F.interpolate(g, size=(H, W), mode="bicubic", align_corners=True)[0].numpy()

def basis(K, H, W):
    eye = np.eye(K * K).reshape(K * K, K, K, 1).repeat(2, 3)
    return np.stack([field(e, K, H, W)[0].ravel() for e in eye])  # KK x HW

def warp(img, d, K):
    H, W = img.shape[:2]; D = field(d, K, H, W)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    return cv2.remap(img, xx + D[0], yy + D[1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)

q = int(sys.argv[1]); n = int(sys.argv[2])
cache = f"runs/geometry-probe/cache-q{q}-{n}.pkl"
os.makedirs(os.path.dirname(cache), exist_ok=True)
if os.path.exists(cache):
    data = pickle.load(open(cache, "rb"))
else:
    codec = lamina.load("stylegan-scalable", quality=q, geometry="off")
    data = []
    for item in load_dataset("utk-train")[-n:]:
        img = item.image(); box = face_box(img)
        boxa = (box.left(), box.top(), box.right(), box.bottom())
        t = shape_to_array(shape68(img, box)); s = codec.encode(img)
        data.append(dict(img=img, boxa=boxa, t=t, gens=[codec.decode(s, layers=k) for k in (1, 2, 3)],
                         bytes=[len(l.payload) for l in s.layers]))
    pickle.dump(data, open(cache, "wb"))
H, W = data[0]["img"].shape[:2]
allt = np.concatenate([d["t"] for d in data]); print("landmark extent", allt.min(0), allt.max(0))
for d in data: d["g"] = dlib68(d["gens"][0], d["boxa"])
print("basic NME", np.mean([nme(d["g"], d["t"]) for d in data]),
      "middle", np.mean([nme(dlib68(d["gens"][1], d["boxa"]), d["t"]) for d in data]),
      "3", np.mean([nme(dlib68(d["gens"][2], d["boxa"]), d["t"]) for d in data]))
def ent(sym):
    v, c = np.unique(sym, return_counts=True); p = c / c.sum(); return -np.sum(c * np.log2(p))
for K in [int(a) for a in sys.argv[3].split(",")]:
    B = basis(K, H, W)
    inner = np.zeros((K, K), bool); inner[1:-1, 1:-1] = True; idx = np.flatnonzero(inner.ravel())
    Lr = []
    for i in range(K):
        for j in range(K):
            for di, dj in ((0, 1), (1, 0)):
                if i + di < K and j + dj < K:
                    r = np.zeros(K * K); r[i * K + j] = 1; r[(i + di) * K + j + dj] = -1; Lr.append(r[idx])
    Lr = np.array(Lr)
    for lam in (0.1, 0.3, 1.0):
        for step in (1.0, 1.5, 2.0):
            nm, nm2, syms = [], [], []
            for d in data:
                t, g, gen = d["t"], d["g"], d["gens"][0]
                xi = np.clip(np.round(t[:, 0]).astype(int), 0, W - 1); yi = np.clip(np.round(t[:, 1]).astype(int), 0, H - 1)
                A = B[:, yi * W + xi].T[:, idx]
                M = A.T @ A + lam * Lr.T @ Lr + 1e-2 * np.eye(len(idx))
                target = g - t
                for it in range(2):
                    x = np.linalg.solve(M, A.T @ target); xq = np.round(x / step)
                    full = np.zeros((K * K, 2)); full[idx] = xq * step
                    out = warp(gen, full.reshape(K, K, 2), K); o = dlib68(out, d["boxa"])
                    target = A @ (xq * step) + (o - t)
                nm.append(nme(o, t)); syms.append(xq.ravel())
                nm2.append(nme(dlib68(warp(d["gens"][1], full.reshape(K, K, 2), K), d["boxa"]), t))
            sy = np.concatenate(syms)
            print(f"K{K} lam{lam} step{step}: basic NME {np.mean(nm):.4f} middle {np.mean(nm2):.4f} "
                  f"bytes/face {ent(sy)/8/len(data):.1f} range {sy.min():.0f}..{sy.max():.0f}", flush=True)
