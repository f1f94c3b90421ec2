"""Human-vision and rate metrics. Inputs are HxWx3 uint8 arrays unless a function says otherwise."""
from .bdrate import bd_psnr, bd_rate  # noqa: F401
from .pixel import ms_ssim, psnr  # noqa: F401
