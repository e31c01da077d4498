"""No import circles in tl_helpers (issue 13): every module's imports, top-level and lazy, read with ast."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "tl_helpers"


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the package's modules it imports (``from . import x``, ``from .a import b``, ``import p.a``)."""
    mods = {}
    for path in root.rglob("*.py"):
        name = ".".join(path.relative_to(root.parent).with_suffix("").parts)
        mods[name.removesuffix(".__init__")] = path
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for mod, path in mods.items():
        package = mod if path.name == "__init__.py" else mod.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom):
                base = package.split(".")[: len(package.split(".")) - max(node.level - 1, 0)] if node.level else []
                target = ".".join(base + ([node.module] if node.module else []))
                targets = [f"{target}.{a.name}" if f"{target}.{a.name}" in mods else target for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            graph[mod] |= {t for t in targets if t in mods and t != mod}
    return graph


def cycles(graph: dict[str, set[str]]) -> set[tuple[str, ...]]:
    """Every import circle, each as a tuple starting at its smallest module name."""
    found: set[tuple[str, ...]] = set()

    def visit(node: str, stack: list[str], seen: set[tuple[str, str]]) -> None:
        for nxt in graph[node]:
            if nxt in stack:
                loop = stack[stack.index(nxt):]
                i = loop.index(min(loop))
                found.add(tuple(loop[i:] + loop[:i]))
            elif (node, nxt) not in seen:
                seen.add((node, nxt))
                visit(nxt, stack + [nxt], seen)

    for m in sorted(graph):
        visit(m, [m], set())
    return found


def test_tl_helpers_has_no_import_circles():
    graph = import_graph(PACKAGE)
    assert len(graph) > 30 and "tl_helpers.data.pipeline" in graph["tl_helpers.features"]
    assert cycles(graph) == set(), "import circles: " + "; ".join(" -> ".join(c) for c in cycles(graph))


def test_the_detector_finds_a_circle_including_a_lazy_import(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from .sub import b\n")
    (pkg / "sub" / "b.py").write_text("def f():\n    from .. import a\n")   # lazy, inside a function
    (pkg / "c.py").write_text("import pkg.a\n")
    assert cycles(import_graph(pkg)) == {("pkg.a", "pkg.sub.b")}
