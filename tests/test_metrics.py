import io

import numpy as np
import pytest
import torch
from PIL import Image, ImageFilter

from lamina.metrics import bd_psnr, bd_rate, ms_ssim, psnr
from lamina.metrics.niqe import niqe
from lamina.metrics.perceptual import dists, lpips_alex, lpips_vgg
from lamina.metrics.pixel import fsim


def degrade(image, kind, strength):
    if kind == "blur":
        return np.asarray(Image.fromarray(image).filter(ImageFilter.GaussianBlur(strength)))
    if kind == "noise":
        rng = np.random.default_rng(0)
        return np.clip(image + rng.normal(0, strength, image.shape), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="JPEG", quality=strength)
    return np.asarray(Image.open(buf))


def test_psnr_known_value():
    a = np.zeros((16, 16, 3), np.uint8)
    b = a.copy()
    b[...] = 16
    assert psnr(a, b) == pytest.approx(10 * np.log10(255 ** 2 / 256))
    assert psnr(a, a) == 100.0


@pytest.mark.parametrize("metric", [lpips_alex, lpips_vgg, dists])
def test_perceptual_distance_of_image_with_itself_is_zero(metric, face):
    assert metric(face, face) == pytest.approx(0.0, abs=1e-5)


@pytest.mark.parametrize("metric", [lpips_alex, lpips_vgg, dists])
@pytest.mark.parametrize("kind, mild, strong", [("blur", 1, 4), ("noise", 5, 40), ("jpeg", 60, 5)])
def test_perceptual_metrics_rank_degradations(metric, kind, mild, strong, face):
    d_mild = metric(face, degrade(face, kind, mild))
    d_strong = metric(face, degrade(face, kind, strong))
    assert 0 < d_mild < d_strong


@pytest.mark.parametrize("metric", [ms_ssim, fsim])
def test_similarity_metrics_rank_degradations(metric, face):
    assert metric(face, face) == pytest.approx(1.0, abs=1e-4)
    assert 1 > metric(face, degrade(face, "blur", 1)) > metric(face, degrade(face, "blur", 4))


def test_lpips_matches_the_reference_package_with_the_same_backbone(face):
    """Our LPIPS equals the `lpips` package's model once its AlexNet carries the same weights."""
    from lamina.compat import import_compressai
    import_compressai()  # installs the torchvision shim the lpips package needs
    import lpips as reference_lpips
    from lamina.metrics.perceptual import LPIPS
    ours = LPIPS("alex")
    ref = reference_lpips.LPIPS(net="alex", pretrained=True, pnet_rand=True, verbose=False)
    convs = [m for m in ref.net.modules() if isinstance(m, torch.nn.Conv2d)]
    for theirs, mine in zip(convs, ours.features.convs):
        theirs.weight.data.copy_(mine.weight.data)
        theirs.bias.data.copy_(mine.bias.data)
    from lamina.metrics.pixel import to_tensor
    x, y = to_tensor(face), to_tensor(degrade(face, "jpeg", 10))
    with torch.no_grad():
        expected = float(ref(x * 2 - 1, y * 2 - 1).flatten()[0])
        assert float(ours(x, y)[0]) == pytest.approx(expected, rel=1e-4)


def test_niqe_prefers_the_original_to_heavy_blur_and_noise(data_root):
    image = np.asarray(Image.open(data_root / "kodak" / "kodim23.png").convert("RGB"))
    clean = niqe(image)
    assert 0 < clean < niqe(degrade(image, "blur", 3))
    assert clean < niqe(degrade(image, "noise", 25))
    with pytest.raises(ValueError):
        niqe(image[:100, :100])


def test_bd_rate_against_independent_implementation():
    import bjontegaard as bd
    rate_a = np.array([0.1, 0.2, 0.4, 0.8, 1.6])
    psnr_a = np.array([28.0, 30.5, 33.0, 35.2, 37.1])
    rate_b = rate_a * 0.8
    psnr_b = psnr_a + np.array([0.0, 0.1, 0.05, -0.1, 0.2])
    ours = bd_rate(rate_a, psnr_a, rate_b, psnr_b)
    theirs = bd.bd_rate(rate_a, psnr_a, rate_b, psnr_b, method="cubic", require_matching_points=False,
                        min_overlap=0)
    assert ours == pytest.approx(theirs, abs=1e-6)
    assert bd_psnr(rate_a, psnr_a, rate_b, psnr_b) == pytest.approx(
        bd.bd_psnr(rate_a, psnr_a, rate_b, psnr_b, method="cubic", require_matching_points=False, min_overlap=0),
        abs=1e-6)


def test_pchip_bd_rate_against_independent_implementation():
    import bjontegaard as bd
    rate_a = np.array([0.05, 0.1, 0.2, 0.4, 0.8])
    sim_a = np.array([0.60, 0.85, 0.95, 0.985, 0.995])  # saturating, like an identity similarity
    rate_b = np.array([0.04, 0.09, 0.2, 0.35, 0.9])
    sim_b = np.array([0.55, 0.83, 0.96, 0.98, 0.997])
    ours = bd_rate(rate_a, sim_a, rate_b, sim_b, method="pchip")
    theirs = bd.bd_rate(rate_a, sim_a, rate_b, sim_b, method="pchip", require_matching_points=False,
                        min_overlap=0)
    assert ours == pytest.approx(theirs, abs=1e-6)
    assert abs(ours) < 30  # the cubic fit of the same curves is far less stable


def test_bd_rate_of_a_pure_rate_scaling_is_exact():
    rate = np.array([0.1, 0.2, 0.4, 0.8])
    quality = np.array([30.0, 32.0, 34.5, 36.0])
    assert bd_rate(rate, quality, rate * 0.5, quality) == pytest.approx(-50.0, abs=1e-9)
    assert bd_psnr(rate, quality, rate, quality + 1.0) == pytest.approx(1.0, abs=1e-9)
    for method in ("cubic", "pchip"):
        assert bd_rate(rate, quality, rate * 0.5, quality, method=method) == pytest.approx(-50.0, abs=1e-9)
