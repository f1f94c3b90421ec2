"""Heavier checks, run with `make test-slow` (pytest -m slow)."""
import numpy as np
import pytest

pytestmark = pytest.mark.slow


def test_every_metric_on_a_small_bench(tmp_path, data_root):
    from lamina.bench.runner import BenchConfig, read_rows, run_bench
    from lamina.vision.evaluators import ALL_METRICS, GROUPS
    config = BenchConfig(dataset="celeba-test", codecs=["jpeg", "vvc"], out=tmp_path, metrics=list(ALL_METRICS),
                         limit=3, workers=2, data_root=str(data_root), progress=False)
    run_bench(config)
    rows = read_rows(tmp_path / "results.jsonl")
    assert len(rows) == 3 * 10
    # Ground-truth columns exist only on sets that carry the truth: landmarks (Helen/AFW), ImageNet classes
    # (Imagenette); on celeba-test they are empty, not made up.
    truth = {"nme_dlib_gt", "top1", "top5"}
    columns = [c for group in ALL_METRICS for c in GROUPS[group] if c not in truth]
    for column in columns:
        assert all(r.get(column) is not None for r in rows if column != "nme_mesh"), column
    assert all(r.get("top1") is None and r.get("top5") is None for r in rows)
    best = [r for r in rows if r["codec"] == "vvc" and r["quality"] == 31]
    assert np.mean([r["recog_dlib_correct"] for r in best]) >= 2 / 3


def test_target_bpp_for_every_classic_codec(face):
    from lamina.codecs.classic import CLASSIC_CODECS
    for cls in CLASSIC_CODECS:
        quality, bpp = cls.target_bpp(face, 0.4)
        assert abs(bpp - 0.4) < 0.15, (cls.name, quality, bpp)


def test_gpu_prior_script_runs_at_smoke_size_on_cpu():
    """scripts/gpu_train_prior.sh: pack a compact set, cache TAEF2 latents, train the tiny preset, export."""
    import subprocess
    from pathlib import Path
    script = Path(__file__).resolve().parents[1] / "scripts" / "gpu_train_prior.sh"
    result = subprocess.run(["bash", str(script), "smoke"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "face-prior-tiny.pt" in result.stdout
