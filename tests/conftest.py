"""Shared fixtures. Tests that need ../shared/data fail loudly when it is missing (never skip)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
DATA_ROOT = Path(os.environ.get("LAMINA_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def data_root() -> Path:
    if not (DATA_ROOT / "README.md").exists():
        pytest.fail(f"shared data not found at {DATA_ROOT}: clone with ../shared beside the repo "
                    f"or set LAMINA_DATA", pytrace=False)
    return DATA_ROOT


@pytest.fixture(scope="session")
def utk_faces(data_root):
    """The first four utk-test faces as uint8 arrays."""
    from lamina.data.datasets import load_dataset
    return [item.image() for item in load_dataset("utk-test", root=data_root, limit=4)]


@pytest.fixture(scope="session")
def face(utk_faces):
    return utk_faces[0]


@pytest.fixture
def small_image():
    rng = np.random.default_rng(0)
    base = np.linspace(0, 255, 48 * 40 * 3).reshape(48, 40, 3)
    return np.clip(base + rng.normal(0, 10, base.shape), 0, 255).astype(np.uint8)
