"""Inputs that scripts/fuzz.py found crashing a decoder (issue 15, item 8), kept as regression tests. Each stream is
decoded by `lamina decode` in a child process, so a segmentation fault fails the test instead of ending pytest."""
from __future__ import annotations

import subprocess
import sys

import pytest

from lamina.bitstream import Bitstream, Layer

# codec -> its layer payloads (hex) as the fuzzer forged them, with valid CRCs, for a 200x200 utk-test face.
CRASHES = {
    # CompressAI's C++ rANS decoder read far past the texture layer's hyperprior string (bypass-mode counts taken
    # from forged bytes) and died with SIGSEGV; fixed by lamina.compat.rans_guarded.
    "feature-texture": {"feature": "d7d740624062462826",
                        "texture": "002826000252ffffffffffffffffff0d9494b3961075840701000000792d303c472d00140db3961075"
                                   "367907473a843c2d7563"},
}


@pytest.mark.parametrize("name", sorted(CRASHES))
def test_fuzzer_crashes_decode_or_fail_cleanly(name, face, tmp_path):
    import lamina
    real = lamina.load(name).encode(face)
    layers = tuple(Layer(layer.name, bytes.fromhex(CRASHES[name][layer.name])) for layer in real.layers)
    path = tmp_path / "forged.lmn"
    path.write_bytes(Bitstream(real.codec, real.height, real.width, layers, model_id=real.model_id,
                               codec_header=real.codec_header).to_bytes())
    result = subprocess.run([sys.executable, "-m", "lamina.cli", "decode", str(path), "-o", str(tmp_path / "o.png")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode in (0, 2), (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr


def test_guard_leaves_valid_strings_alone():
    """The appended zeros are never read by a valid string: a real stream's decode is unchanged (the golden
    hashes check every codec; here the guard's shape)."""
    from lamina.compat import rans_guarded
    data = bytes(range(16))
    guarded = rans_guarded(data, 100)
    assert guarded[:16] == data and set(guarded[16:]) == {0} and len(guarded) == 16 + 4 * (15 * 48 + 304)
