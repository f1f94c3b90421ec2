"""Issue 23, coded geometry: the per-layer design, before lamina.codecs.geometry existed (uint8 warps at the face's
size, a grid of K nodes, smoothness lam, node step in pixels). Rows: b0/m0/d0 the codec's 1/2/3-layer pictures
without geometry; b the basic picture warped by its fitted field; m the middle picture by the basic field plus a
middle increment; dA the 3-layer picture by the middle field; d by the middle field plus its own increment; dC the
detail residual coded against the original brought into the middle field's geometry (inverse warp), then warped by
its own increment; dC0 the same without the increment. ITS refinements, keeping the best (ITS=3 is what shipped).
As it ran (scratch folder, the codec's geometry did not exist yet; the last 24 utk-train faces):

    ITS=3 .venv/bin/python benchmarks/face_prior/geometry_layer_variants_probe.py 1 24 6 0.3 1.5 [latent-flow]
"""
import sys, time, os
import numpy as np, torch, torch.nn.functional as F, cv2
import lamina
from lamina.data.datasets import load_dataset
from lamina.vision.evaluators import Evaluator
from lamina.vision.landmarks import dlib68, nme
from lamina.priors import detail
torch.set_num_threads(1)
ITS = int(os.environ.get('ITS', 2))
import os
INTERP = cv2.INTER_CUBIC if os.environ.get('CUBIC') else cv2.INTER_LINEAR

def field(d, K, H, W):
    g = torch.tensor(np.ascontiguousarray(d.transpose(2, 0, 1))[None], dtype=torch.float32)
    return F.interpolate(g, size=(H, W), mode="bicubic", align_corners=True)[0].numpy()
def warp(img, d, K, sign=1.0):
    H, W = img.shape[:2]; D = field(d, K, H, W) * sign
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    return cv2.remap(img, xx + D[0], yy + D[1], INTERP, borderMode=cv2.BORDER_REPLICATE)
def unwarp(img, d, K):  # P(q) = img(q - D(q - D(q)))
    H, W = img.shape[:2]; D = field(d, K, H, W)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    mx = xx - D[0]; my = yy - D[1]
    Dx = cv2.remap(D[0], mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    Dy = cv2.remap(D[1], mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return cv2.remap(img, xx - Dx, yy - Dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)

q = int(sys.argv[1]); n = int(sys.argv[2]); K = int(sys.argv[3]); lam = float(sys.argv[4]); step = float(sys.argv[5])
codec = lamina.load("stylegan-scalable" if len(sys.argv) < 7 else sys.argv[6], quality=q)
H = W = 200
eye = np.eye(K * K).reshape(K * K, K, K, 1).repeat(2, 3)
B = np.stack([field(e, K, H, W)[0].ravel() for e in eye])
inner = np.zeros((K, K), bool); inner[1:-1, 1:-1] = True; idx = np.flatnonzero(inner.ravel())
Lr = []
for i in range(K):
    for j in range(K):
        for di, dj in ((0, 1), (1, 0)):
            if i + di < K and j + dj < K:
                r = np.zeros(K * K); r[i * K + j] = 1; r[(i + di) * K + j + dj] = -1; Lr.append(r[idx])
Lr = np.array(Lr)
def fitfield(gen, t, boxa, base):
    xi = np.clip(np.round(t[:, 0]).astype(int), 0, W - 1); yi = np.clip(np.round(t[:, 1]).astype(int), 0, H - 1)
    A = B[:, yi * W + xi].T[:, idx]
    M = A.T @ A + lam * Lr.T @ Lr + 1e-2 * np.eye(len(idx))
    basev = base.reshape(-1, 2)[idx] if base is not None else np.zeros((len(idx), 2))
    full = np.zeros((K * K, 2)); full[idx] = basev
    o = dlib68(warp(gen, full.reshape(K, K, 2), K), boxa)
    best = (nme(o, t), full.copy(), np.zeros((len(idx), 2)))
    target = A @ basev + (o - t)
    for it in range(ITS):
        x = np.linalg.solve(M, A.T @ target)
        xq = np.round((x - basev) / step)
        full = np.zeros((K * K, 2)); full[idx] = basev + xq * step
        o = dlib68(warp(gen, full.reshape(K, K, 2), K), boxa)
        if nme(o, t) < best[0]: best = (nme(o, t), full.copy(), xq)
        target = A @ (basev + xq * step) + (o - t)
    return best[1].reshape(K, K, 2), best[2]
ev = Evaluator(("identity_dlib", "lpips_alex", "landmarks_dlib"))
rows = {k: [] for k in ("b0", "m0", "d0", "b", "m", "dA", "d", "dC", "dC0")}
nbytes = []
t0 = time.time()
for item in load_dataset("utk-train")[-n:]:
    img = item.image(); assert img.shape[:2] == (H, W); ref = ev.reference(img); t = ref["lm68"]; boxa = ref["box"]
    x = codec.model_input(img)
    pay = codec.code_styles(x, 2)
    gb = codec.render_layers(pay[:1], 1, H, W); gm = codec.render_layers(pay, 2, H, W)
    styles = codec.prior_styles(pay); gl = codec.generated_latent(styles)
    def det(xin):
        p = codec.detail_payload(xin, styles, 1.0)
        off = detail.decode(p, tuple(gl.shape[1:]), 1.0)
        return codec.render_with_detail(gl, off, H, W), len(p)
    d0, n0 = det(x)
    fb, sb = fitfield(gb, t, boxa, None)
    fm, sm = fitfield(gm, t, boxa, fb)
    fd, sd = fitfield(d0, t, boxa, fm); nC = np.abs(sd).sum()
    dC_raw, _ = det(codec.model_input(unwarp(img, fm, K)))
    fdc, _ = fitfield(dC_raw, t, boxa, fm)
    rows["dC"].append(ev.score(ref, warp(dC_raw, fdc, K))); rows["dC0"].append(ev.score(ref, warp(dC_raw, fm, K)))
    rows["b0"].append(ev.score(ref, gb)); rows["m0"].append(ev.score(ref, gm)); rows["d0"].append(ev.score(ref, d0))
    rows["b"].append(ev.score(ref, warp(gb, fb, K))); 
    rows["m"].append(ev.score(ref, warp(gm, fm, K))); rows["d"].append(ev.score(ref, warp(d0, fd, K)))
    rows["dA"].append(ev.score(ref, warp(d0, fm, K)))
    nbytes.append((len(pay[0]), len(pay[1]), n0, nC, np.abs(sb).sum(), np.abs(sm).sum()))
print(f"{sys.argv[1:]} {n} faces {time.time()-t0:.0f}s bytes(basic, middle, detail0, detailC, |sb|, |sm|)",
      np.mean(nbytes, 0).round(1))
for k, v in rows.items():
    print(k, {c: round(float(np.nanmean([r[c] for r in v])), 4) for c in ("id_dlib_kept", "id_dlib_distance", "lpips_alex", "nme_dlib") if c in v[0]})
