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
import threading

_patched = False
_library = None
_lock = threading.RLock()  # codecs may first load in several threads at once (lamina.batching): patch once


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
    with _lock:
        if not _patched:
            import torch
            if not _torchvision_extension_loads():
                _library = torch.library.Library("torchvision", "DEF")
                _library.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
                _library.define("qnms(Tensor qdets, Tensor scores, float iou_threshold) -> Tensor")
                import torchvision.ops.boxes as boxes  # noqa: E402  (needs the schemas above)
                boxes._assert_has_ops = lambda: None
            _patched = True


def rans_guarded(encoded: bytes, symbols: int) -> bytes:
    """A CompressAI rANS string with zero words appended so that decoding `symbols` symbols from a forged string
    stays inside the buffer. CompressAI's C++ decoder (release build: its asserts are compiled out) trusts the
    string: it reads a 32-bit word whenever its 64-bit state drains, and a symbol at the top of its CDF (the escape
    symbol) reads a run of 4-bit "bypass" counts whose sum sets how many more 4-bit values follow. A forged
    string made it read megabytes past the buffer and `lamina decode` died with a segmentation fault (found by
    scripts/fuzz.py on feature-texture's residual). Words read past the end: the bypass counts taken from the
    string's own bits add at most 15 reads each (15 x (2 x len + 16) nibbles, the 16 from the initial state);
    after that every symbol reads at most one word, and an escape symbol (1 count in 65,536 in lamina's CDFs)
    at most ~34 more, which the 3 words per symbol cover with a wide margin (the state past the end evolves from
    its last value, which a forger sets only once). A valid string is consumed exactly, so the appended zeros
    never change what decodes (golden hashes unchanged). Cost: 12 bytes per symbol, transient."""
    encoded = bytes(encoded)
    words = 15 * (2 * len(encoded) + 16) + 3 * symbols + 4
    return encoded + bytes(4 * words)


def _guard_rans_decoder() -> None:
    """Route every CompressAI entropy model's decode through rans_guarded (idempotent)."""
    from compressai.entropy_models import entropy_models
    coder = entropy_models._EntropyCoder
    if getattr(coder.decode_with_indexes, "lamina_guarded", False):
        return

    def decode_with_indexes(self, encoded, indexes, *args, **kwargs):
        return self._decoder.decode_with_indexes(rans_guarded(encoded, len(indexes)), indexes, *args, **kwargs)

    decode_with_indexes.lamina_guarded = True
    coder.decode_with_indexes = decode_with_indexes


def import_compressai():
    """Import compressai (which imports torchvision) in the CPU-only environment, its rANS decoder guarded
    against forged strings (rans_guarded)."""
    with _lock:
        make_torchvision_importable()
        module = importlib.import_module("compressai")
        _guard_rans_decoder()
    return module
