"""Import shims for the CPU-only environment, kept in one place.

torchvision ships only as a CUDA build; with the CPU torch wheel its C++ extension fails to load and
`import torchvision` dies on `torchvision::nms`. CompressAI (transform registry) and piq import
torchvision without using its operators, so when (and only when) the extension is missing we declare the two operator schemas it
registers fake kernels for, and relax the check that the extension exists. lamina itself never calls
torchvision.
"""
from __future__ import annotations

import importlib
import importlib.util

_patched = False
_library = None


def _torchvision_extension_loads() -> bool:
    import torch
    spec = importlib.util.find_spec("torchvision")
    if spec is None or not spec.submodule_search_locations:
        return False
    import glob
    import os
    for folder in spec.submodule_search_locations:
        for lib in glob.glob(os.path.join(folder, "_C*.so")):
            try:
                torch.ops.load_library(lib)
                return True
            except (OSError, RuntimeError):
                return False
    return False


def make_torchvision_importable() -> None:
    """Apply the torchvision schema shim, only if its C++ extension cannot load (idempotent)."""
    global _patched, _library
    if not _patched:
        import torch
        if not _torchvision_extension_loads():
            _library = torch.library.Library("torchvision", "DEF")
            _library.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
            _library.define("qnms(Tensor qdets, Tensor scores, float iou_threshold) -> Tensor")
            import torchvision.ops.boxes as boxes  # noqa: E402  (needs the schemas above)
            boxes._assert_has_ops = lambda: None
        _patched = True


def import_compressai():
    """Import compressai (which imports torchvision) in the CPU-only environment."""
    make_torchvision_importable()
    return importlib.import_module("compressai")
