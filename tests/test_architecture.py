"""The package's dependency rules (docs/architecture.md), read off the source with ast: codec runtimes never
import training code, nothing imports bench but the CLI, one __main__ entry point, no name dispatch in the CLI."""
from __future__ import annotations

import ast
from pathlib import Path

LAMINA = Path(__file__).resolve().parents[1] / "lamina"
TRAINING_ONLY = ("lamina.train", "lamina.data", "lamina.metrics", "lamina.bench")


def _module_name(path: Path) -> str:
    parts = path.relative_to(LAMINA.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Absolute names of every module path imports (relative imports resolved, lazy imports included)."""
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def test_codec_runtimes_never_import_training_code():
    offenders = []
    for path in sorted((LAMINA / "codecs").rglob("*.py")):
        if path.name in ("task.py", "objective.py"):
            continue
        bad = sorted(name for name in imports(path) if name.startswith(TRAINING_ONLY))
        if bad:
            offenders.append(f"{path.relative_to(LAMINA)}: {bad}")
    assert not offenders, offenders


def test_runtime_core_never_imports_training_code():
    for name in ("zoo/__init__.py", "nn/stylegan2.py", "nn/mobilefacenet.py", "nn/taef2.py", "entropy/__init__.py",
                 "entropy/hyperprior_payload.py", "priors/face.py", "registry.py", "bitstream.py"):
        bad = sorted(n for n in imports(LAMINA / name) if n.startswith(("lamina.train", "lamina.bench")))
        assert not bad, (name, bad)


def test_only_the_cli_imports_bench_and_has_a_main():
    for path in sorted(LAMINA.rglob("*.py")):
        relative = str(path.relative_to(LAMINA))
        if relative.startswith("bench/") or relative == "cli.py":
            continue
        assert not any(n.startswith("lamina.bench") for n in imports(path)), relative
        assert "__main__" not in path.read_text(), f"{relative} has a __main__ entry point"


def test_cli_and_training_entry_dispatch_on_declared_capabilities_not_names():
    for name in ("cli.py", "train/trainable.py", "train/loop.py", "registry.py"):
        tree = ast.parse((LAMINA / name).read_text())
        calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)]
        assert not [c for c in calls if isinstance(c.func, ast.Name) and c.func.id == "hasattr"], name
        assert not [c for c in calls if isinstance(c.func, ast.Attribute) and c.func.attr == "startswith"], name


def test_every_committed_weights_file_has_a_card_with_its_model_id():
    from lamina import zoo
    for path in sorted([*zoo.ROOT.glob("*.pt"), *zoo.ROOT.glob("progressive-mask-ablations/*.pt")]):
        card = zoo.card(path)
        assert card.get("model_id") == zoo.model_id_of(path).hex(), path.name


def test_streams_find_their_weights_by_header_quality_and_card_id():
    import lamina
    from lamina import zoo
    from lamina.errors import BitstreamError
    codec = lamina.load("hyperprior", quality=1)
    assert zoo.find_for_stream("hyperprior", 1, codec.model_id) == 1
    assert zoo.find_for_stream("hyperprior", 3, codec.model_id) == 1  # header and id disagree: the id wins
    try:
        zoo.find_for_stream("hyperprior", 1, bytes(8))
    except BitstreamError as exc:
        assert "model id mismatch" in str(exc)
    else:
        raise AssertionError("an unknown model id must be refused")
