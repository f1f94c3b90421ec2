"""The README's Python example runs as written (with a real face as `image`)."""
import re
from pathlib import Path

import numpy as np


def test_readme_python_snippet_runs(face):
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    snippets = re.findall(r"```python\n(.*?)```", readme, re.S)
    assert snippets, "README has no python example"
    namespace = {"image": face}
    for snippet in snippets:
        exec(compile(snippet, "README.md", "exec"), namespace)
    assert namespace["restored"].shape == face.shape
    assert abs(namespace["bpp"] - 0.25) < 0.1
    assert np.abs(namespace["restored"].astype(int) - face).mean() < 12
