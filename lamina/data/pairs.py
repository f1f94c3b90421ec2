"""Fixed face-verification pairs on CelebA test images (10 folds, equal same/different pairs per fold).

Identities: every third identity (sorted by id) among those with at least two celeba-test images. These
identities are *held out* of the feature-texture extractor's identity fine-tuning, so verification on them
is open-set for the fine-tuned feature as for the original one. The list is committed
(`celeba-verification-pairs.txt`, made by `build_pairs`, seed 0); `load_pairs` reads it.
"""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from ..errors import InputError

PAIRS_FILE = Path(__file__).with_name("celeba-verification-pairs.txt")
FOLDS = 10
PAIRS_PER_FOLD = 60  # same-identity pairs per fold; as many different-identity pairs


def held_out_identities(root=None) -> set[int]:
    from .datasets import load_dataset
    counts: dict[int, int] = defaultdict(int)
    for item in load_dataset("celeba-test", root=root):
        counts[item.identity] += 1
    eligible = sorted(i for i, n in counts.items() if n >= 2)
    return set(eligible[::3])


def build_pairs(root=None, seed: int = 0) -> list[tuple[int, str, str, int]]:
    """(fold, file a, file b, same) rows: FOLDS x PAIRS_PER_FOLD same + as many different pairs."""
    from .datasets import load_dataset
    held = held_out_identities(root)
    by_id: dict[int, list[str]] = defaultdict(list)
    for item in load_dataset("celeba-test", root=root):
        if item.identity in held:
            by_id[item.identity].append(item.name)
    rng = np.random.default_rng(seed)
    same = [(a, b) for files in by_id.values() for i, a in enumerate(files) for b in files[i + 1:]]
    need = FOLDS * PAIRS_PER_FOLD
    if len(same) < need:
        raise InputError(f"only {len(same)} same-identity pairs available, {need} needed")
    same = [same[i] for i in rng.permutation(len(same))[:need]]
    ids = sorted(by_id)
    different = set()
    while len(different) < need:
        i, j = rng.choice(len(ids), 2, replace=False)
        a = by_id[ids[i]][rng.integers(len(by_id[ids[i]]))]
        b = by_id[ids[j]][rng.integers(len(by_id[ids[j]]))]
        different.add((min(a, b), max(a, b)))
    different = sorted(different)
    different = [different[i] for i in rng.permutation(len(different))]
    rows = []
    for fold in range(FOLDS):
        part = slice(fold * PAIRS_PER_FOLD, (fold + 1) * PAIRS_PER_FOLD)
        rows += [(fold, a, b, 1) for a, b in same[part]] + [(fold, a, b, 0) for a, b in different[part]]
    return rows


def write_pairs(rows, path: Path = PAIRS_FILE) -> None:
    path.write_text("".join(f"{fold} {a} {b} {same}\n" for fold, a, b, same in rows))


def load_pairs(path: Path = PAIRS_FILE) -> list[tuple[int, str, str, int]]:
    rows = []
    for line in Path(path).read_text().splitlines():
        fold, a, b, same = line.split()
        rows.append((int(fold), a, b, int(same)))
    return rows


def verification_accuracy(features: dict[str, np.ndarray], rows=None) -> tuple[float, float]:
    """10-fold verification accuracy (mean, std) with cosine similarity: per fold, the threshold that is
    best on the other nine folds is applied to the held fold (the LFW protocol)."""
    rows = load_pairs() if rows is None else rows
    def unit(v):
        v = np.asarray(v, np.float64)
        return v / max(np.linalg.norm(v), 1e-12)
    sims = np.array([unit(features[a]) @ unit(features[b]) for _, a, b, _ in rows])
    same = np.array([s for *_, s in rows], bool)
    folds = np.array([f for f, *_ in rows])
    accs = []
    for fold in range(folds.max() + 1):
        train, test = folds != fold, folds == fold
        values = np.unique(sims[train])
        candidates = np.concatenate([[values[0] - 1e-6], (values[1:] + values[:-1]) / 2, [values[-1] + 1e-6]])
        train_acc = [((sims[train] >= t) == same[train]).mean() for t in candidates]
        threshold = candidates[int(np.argmax(train_acc))]
        accs.append(((sims[test] >= threshold) == same[test]).mean())
    return float(np.mean(accs)), float(np.std(accs))
