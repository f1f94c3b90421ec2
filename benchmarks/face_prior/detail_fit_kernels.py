"""Are the fitted detail layer's symbols the same under other float kernels? Prints, per training face (every 997th
of the `faces` training split), each optimiser's hash of the fitted symbols and the smallest distance of a fitted
value to a rounding boundary. Run twice and compare (docs/results/face-prior/probe-v2/detail-fit-cross-kernel.txt):

    .venv/bin/python benchmarks/face_prior/detail_fit_kernels.py 8
    ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 .venv/bin/python benchmarks/face_prior/detail_fit_kernels.py 8
"""
import sys
from pathlib import Path

import hashlib
import torch
import torch.nn.functional as F
sys.path.insert(0, str(Path(__file__).parent))
from detail_fit_probe import fit_offset  # noqa: E402
import lamina  # noqa: E402
from lamina.data.training import split_items  # noqa: E402
from lamina.metrics.perceptual import LPIPS  # noqa: E402
from lamina.nn.taef2 import load_decoder  # noqa: E402
from lamina.priors import detail  # noqa: E402
torch.set_num_threads(1)
codec = lamina.load("stylegan-scalable", quality=1, detail_fit=0)
dec = load_decoder().requires_grad_(False); lp = LPIPS("alex").eval().requires_grad_(False)
items = split_items("faces")[0][:: 997][:int(sys.argv[1])]  # training faces
for it in items:
    img = it.image(); s = codec.encode(img); pay = [l.payload for l in s.layers[:3]]
    with torch.no_grad():
        x = codec.model_input(img); g = codec.generated_latent(codec.prior_styles(pay))
        r = F.avg_pool2d(detail.target_latent(codec.model.prior, x) - g, 2)
    out = []
    for opt in ("adam", "ngd"):
        o = fit_offset(dec, lp, g, x / 2 + 0.5, r, 20, 1.0, 0.5, 0.05, opt)
        sym = torch.round(o).clamp(-15, 15).to(torch.int64)
        frac = (o - o.round()).abs()
        out.append(f"{opt}:{hashlib.sha256(sym.numpy().tobytes()).hexdigest()[:8]}:{float((0.5 - frac).min()):.2e}")
    print(" ".join(out), flush=True)
