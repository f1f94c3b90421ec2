"""Held-out numbers of codebook-svr training runs (the probe table and the model cards): on 40 of the cached
held-out images (every 4th of the 165), with their cached VVC LQ (4x; QP drawn from 37/42/47), PSNR and LPIPS-alex
of SVR (α = 1), the codebook alone and x^LQ alone, and the real adaptive index bytes.

    python benchmarks/codebook_svr/heldout.py runs/codebook-svr/long/g2-k256/main ...
"""
import json
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from lamina.codecs.codebook_svr.model import SVRModel
from lamina.codecs.codebook_svr.task import load_records, _crop_grid
from lamina.codecs.codebook_svr import indexcoding as ic
from lamina.nn.taef2 import load_decoder
from lamina.metrics.perceptual import lpips_alex
from lamina.metrics.pixel import psnr
torch.set_num_threads(1)
from lamina.data.datasets import data_root
root = str(data_root()) + "/"
def original(name):
    p = root + ("natural/imagenette/images/" + name if "/" in name else "faces/celeba/images/" + name)
    return np.asarray(Image.open(p).convert("RGB"))
def u8(x): return (x[0].clamp(0,1)*255).round().byte().permute(1,2,0).numpy()
_, val = load_records()
val = val[::4][:40]
dec = load_decoder()
for run in sys.argv[1:]:
    st = torch.load(run + "/checkpoint.pt", weights_only=True)
    m = SVRModel(**st["config"]); m.load_state_dict(st["model"]); m.eval()
    g, f = m.grid, st["config"]["factor"]; key = f"lq{f}-{st['config']['lq_codec']}"
    rows = {"svr": [], "codebook": [], "lq": []}; bits = []
    with torch.no_grad():
        for r in val:
            lat = _crop_grid(r["latent"][None].float(), g)
            H, W = lat.shape[-2] * 8, lat.shape[-1] * 8
            ref = original(r["name"])[:H, :W]
            lqi = r[key][1][:H // f, :W // f]
            lq = lqi.permute(2, 0, 1)[None].float() / 255
            idx = m.quantize(lat)
            yq = m.lookup(idx)
            out = {"svr": u8(dec(m.modulate(yq, lq))), "codebook": u8(dec(yq)),
                   "lq": u8(F.interpolate(lq, scale_factor=f, mode="bicubic"))}
            for k, v in out.items():
                rows[k].append((psnr(ref, v), lpips_alex(ref, v)))
            ib = len(ic.encode_adaptive(idx.numpy().ravel(), m.index_probabilities())) * 8
            bits.append((ib / (H * W), r[key][2] * 8 / (H * W)))
    b = np.mean(bits, 0)
    res = {"run": run, "step": st["step"], "index_bpp": b[0], "lq_bpp": b[1], **{k: {"psnr": float(np.mean([x[0] for x in v])), "lpips": float(np.mean([x[1] for x in v]))} for k, v in rows.items()}}
    print(json.dumps(res), flush=True)
    Image.fromarray(np.concatenate([ref, out["lq"], out["codebook"], out["svr"]], 1)).save(run + "/last.png")
