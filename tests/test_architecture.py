"""The house stays a house: imports only run downwards through the layers (ARCHITECTURE.md),
no module circle, no source file over 600 lines, no function over 80.

The layers, lowest first. A module may import modules of its own layer's package and of lower
layers; never upwards. Imports inside functions count (a lazy import is still an arrow);
``if TYPE_CHECKING:`` blocks do not (they never run).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "flexjudge"

#: (rank, module prefixes). A module's layer is the longest prefix that matches it.
LAYERS: list[tuple[int, tuple[str, ...]]] = [
    (0, ("flexjudge.errors",)),
    (1, ("flexjudge.options", "flexjudge.redact", "flexjudge.io")),
    # The protocol texts are constants the checkpoints were trained with: a leaf anyone reads.
    (1, ("flexjudge.prompts.protocol",)),
    (2, ("flexjudge.media",)),
    (3, ("flexjudge.request", "flexjudge.verdict", "flexjudge.chat")),
    (4, ("flexjudge.prompts",)),
    (5, ("flexjudge.parsing", "flexjudge.mol_llama")),
    (6, ("flexjudge.engines",)),
    (7, ("flexjudge.store",)),
    (8, ("flexjudge.judge",)),
    (9, ("flexjudge.run",)),
    (10, ("flexjudge.bench", "flexjudge.train", "flexjudge.testing", "flexjudge.scale")),
    (11, ("flexjudge.curate", "flexjudge.loop", "flexjudge.report", "flexjudge.integrations")),
    (12, ("flexjudge.serve", "flexjudge.demo")),
    (13, ("flexjudge.cli",)),
    (14, ("flexjudge",)),  # the package root: a facade over everything
]
#: Entry points (``python -m flexjudge.train``) sit above everything, whatever their folder.
TOP = 14


def module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> tuple[int, str]:
    if module.endswith(".__main__"):
        return TOP, module
    best: tuple[int, str] | None = None
    for rank, prefixes in LAYERS:
        for prefix in prefixes:
            matches = module == prefix or module.startswith(prefix + ".")
            if matches and (best is None or len(prefix) > len(best[1])):
                best = (rank, prefix)
    assert best is not None, f"{module} is in no layer: add it to LAYERS"
    return best


def _in_type_checking(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, imported flexjudge module) of every import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(tree):
        if _in_type_checking(node, parents):
            continue
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("flexjudge")]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            if base.startswith("flexjudge"):
                found.append((node.lineno, base))
    return found


SOURCES = sorted(p for p in SRC.rglob("*.py") if "__pycache__" not in p.parts)


def graph() -> dict[str, set[str]]:
    modules = {module_name(p) for p in SOURCES}
    edges: dict[str, set[str]] = {}
    for path in SOURCES:
        here = module_name(path)
        for _, target in imports_of(path):
            # "from flexjudge.x import y" may name a module x.y or a name in x
            while target not in modules and "." in target:
                target = target.rsplit(".", 1)[0]
            if target in modules and target != here:
                edges.setdefault(here, set()).add(target)
    return edges


def test_no_arrow_runs_up_a_layer():
    wrong = []
    for path in SOURCES:
        here = module_name(path)
        rank, prefix = layer_of(here)
        for line, target in imports_of(path):
            t_rank, t_prefix = layer_of(target)
            if t_rank > rank or (t_rank == rank and t_prefix != prefix and t_rank != TOP):
                wrong.append(f"{path.relative_to(SRC.parent)}:{line} {here} -> {target}")
    assert not wrong, "imports against the layers:\n" + "\n".join(wrong)


def test_no_import_circle():
    edges = graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    # A package's __init__ re-exporting its own modules is not a circle of behaviour.
    real = [c for c in cycles if not all(m.startswith(_package(c[0])) for m in c)]
    assert not real, f"import circles: {real}"


def _package(module: str) -> str:
    return module.rsplit(".", 1)[0] if "." in module else module


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(SRC)))
def test_small_modules_and_functions(path: Path):
    text = path.read_text(encoding="utf-8")
    assert text.count("\n") <= 600, f"{path.name}: {text.count(chr(10))} lines (at most 600)"
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(ast.parse(text))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > 80
    ]
    assert not long, f"{path.name}: functions over 80 lines: {long}"
