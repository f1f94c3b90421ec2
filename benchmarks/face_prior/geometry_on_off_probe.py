"""Issue 23, coded geometry: a face codec with --geometry on and off on the last N utk-train faces (never the test
split): payload bytes per layer, median encode / decode seconds, and per layer identity kept (dlib), LPIPS-alex and
dlib NME. The variants in docs/results/face-prior/geometry/probe/ ran this script against earlier versions of
lamina.codecs.geometry (README there):

    .venv/bin/python benchmarks/face_prior/geometry_on_off_probe.py stylegan-scalable 1 24

FIT_ITERATIONS=N sets lamina.codecs.geometry.FIT_ITERATIONS for the run; VARIANTS="on" skips the run without.
"""
import os, time, numpy as np, torch, lamina, sys
from lamina.codecs import geometry
geometry.FIT_ITERATIONS = int(os.environ.get("FIT_ITERATIONS", geometry.FIT_ITERATIONS))
from lamina.data.datasets import load_dataset
from lamina.vision.evaluators import Evaluator
torch.set_num_threads(1)
name = sys.argv[1]; q = int(sys.argv[2]); n = int(sys.argv[3])
ev = Evaluator(("identity_dlib", "lpips_alex", "landmarks_dlib"))
res = {g: [] for g in os.environ.get("VARIANTS", "off on").split()}; sizes = {g: [] for g in res}; times = {g: [] for g in res}
for item in load_dataset("utk-train")[-n:]:
    img = item.image(); ref = ev.reference(img)
    for g in res:
        c = lamina.load(name, quality=q, geometry=g)
        t0 = time.perf_counter(); s = c.encode(img); t1 = time.perf_counter()
        b = s.to_bytes(); sizes[g].append([len(l.payload) for l in s.layers])
        res[g].append([ev.score(ref, c.decode(b, layers=k)) for k in (1, 2, 3)])
        t2 = time.perf_counter(); times[g].append((t1 - t0, (t2 - t1) / 3))
for g in res:
    print(g, f"FIT_ITERATIONS={geometry.FIT_ITERATIONS}" if g == "on" else "", "payload bytes", np.mean(sizes[g], 0).round(1), "enc/dec s", np.median(times[g], 0).round(3))
    for k in range(3):
        print("  layers", k + 1, {c: round(float(np.nanmean([r[k][c] for r in res[g]])), 4) for c in ("id_dlib_kept", "lpips_alex", "nme_dlib")})
