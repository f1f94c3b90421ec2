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


def _type_checking_lines(tree) -> set[int]:
    """Line numbers inside `if TYPE_CHECKING:` blocks (imports for typing only, never executed)."""
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def module_graph() -> dict[str, set[str]]:
    """lamina module -> the lamina modules it imports when it runs (lazy imports included, typing-only ones not;
    `from package import submodule` is an edge to the submodule only)."""
    modules = {_module_name(p): p for p in LAMINA.rglob("*.py")}

    def resolve(name: str) -> str:
        while name and name not in modules:
            name = name.rsplit(".", 1)[0] if "." in name else ""
        return name
    graph = {}
    for name, path in modules.items():
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        tree = ast.parse(path.read_text())
        typing_only = _type_checking_lines(tree)
        edges = set()
        for node in ast.walk(tree):
            if getattr(node, "lineno", None) in typing_only:
                continue
            if isinstance(node, ast.Import):
                edges.update(resolve(alias.name) for alias in node.names if alias.name.startswith("lamina"))
            elif isinstance(node, ast.ImportFrom):
                base = package[:len(package) - node.level + 1] if node.level else []
                module = ".".join(base + ([node.module] if node.module else []))
                if not module.startswith("lamina"):
                    continue
                for alias in node.names:
                    full = f"{module}.{alias.name}"
                    edges.add(full if full in modules else resolve(module))
        graph[name] = edges - {name, ""}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles_in_lamina():
    assert not cycles(module_graph())


def test_nothing_reachable_from_a_codec_runtime_imports_training_bench_data_or_metrics():
    """Transitively: every module a codec's run-time modules (codecs/*, not task.py / objective.py) can import,
    directly or through others, lazily or not, stays out of train, bench, data and metrics."""
    graph = module_graph()
    roots = [m for m in graph if m.startswith("lamina.codecs") and not m.endswith((".task", ".objective"))]
    offenders = {}
    for root in roots:
        parent, todo = {root: None}, [root]
        while todo:
            v = todo.pop()
            for w in graph[v]:
                if w not in parent:
                    parent[w] = v
                    todo.append(w)
        for module in parent:
            if module.startswith(TRAINING_ONLY):
                chain = [module]
                while parent[chain[-1]] is not None:
                    chain.append(parent[chain[-1]])
                offenders.setdefault(module, " <- ".join(chain))
    assert not offenders, offenders


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


def test_zoo_find_returns_the_quality_it_resolved():
    import lamina
    from lamina import zoo
    from lamina.errors import InputError
    top = zoo.qualities("codebook-svr")[-1]
    assert zoo.find("codebook-svr", None) == (top, zoo.path("codebook-svr", top))
    assert zoo.find("hyperprior", 2).quality == 2 and zoo.find("hyperprior", 2).path.name == "hyperprior-q2.pt"
    assert lamina.load("hyperprior").quality == zoo.qualities("hyperprior")[-1]
    for codec, quality, says in (("hyperprior", 99, "available"), ("codebook-svr", 4, "dominated")):
        try:
            zoo.find(codec, quality)
        except InputError as exc:  # a removed quality says why and which lamina still ships it
            assert says in str(exc)
        else:
            raise AssertionError("a quality without weights must be refused")


def test_architecture_doc_names_every_codec_package_and_core_module():
    """docs/architecture.md stays true: every codec package and every top-level module is named in it."""
    doc = (LAMINA.parent / "docs" / "architecture.md").read_text()
    packages = [p.name for p in (LAMINA / "codecs").iterdir() if (p / "__init__.py").exists()]
    modules = [p.name for p in LAMINA.glob("*.py") if p.name != "__init__.py"]
    missing = [f"codecs/{p}" for p in packages if f"{p}/" not in doc] + [m for m in modules if m not in doc]
    missing += [f"entropy/{p.name}" for p in (LAMINA / "entropy").glob("*.py")
                if p.name != "__init__.py" and p.name not in doc]
    assert not missing, f"docs/architecture.md does not name {missing}"


def test_benchmarks_are_grouped_thin_callers_and_every_cited_script_exists():
    """benchmarks/<group>/ only (a codec, or speed, vision, face_prior, ...), no sys.path patches (lamina is
    installed), and every benchmarks/ path the docs, README or package cite exists."""
    import re
    root = LAMINA.parent
    scripts = [p for p in (root / "benchmarks").rglob("*") if p.suffix in (".py", ".sh")]
    assert scripts and all(p.parent.parent == root / "benchmarks" for p in scripts), "scripts belong in a group folder"
    assert [p.name for p in scripts if "sys.path" in p.read_text()] == []
    cited = set()
    for doc in [root / "README.md", *(root / "docs").rglob("*.md"), *LAMINA.rglob("*.py")]:
        cited |= set(re.findall(r"benchmarks/[\w./-]+?\.(?:py|sh)\b", doc.read_text()))
    missing = sorted(c for c in cited if not (root / c).exists() and "merge_summary" not in c)
    assert missing == [], missing
