"""The package's imports flow one way: no module, and no folder, imports back into itself.

The graph is computed from the source (``ast``), not from what one run happens
to import: every ``import`` statement counts, at module level, under
``if TYPE_CHECKING:`` and inside functions, so a cycle cannot hide behind an
import deferred to break it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.procs import REPO

PACKAGE = "rendezvous_di"


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its own name)."""
    found = {}
    for path in sorted((REPO / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(REPO).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imported(name: str, path: Path, known: dict[str, Path]) -> Iterator[str]:
    """The package's modules that ``name`` imports anywhere in its source."""
    is_package = path.name == "__init__.py"
    here = name.split(".") if is_package else name.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                yield submodule if submodule in known else target


def graph() -> dict[str, set[str]]:
    known = modules()
    return {
        name: {t for t in imported(name, path, known) if t in known and t != name}
        for name, path in known.items()
    }


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def room(module: str) -> str:
    """A subpackage of the package (``rendezvous_di.registry``), or a top-level module."""
    return ".".join(module.split(".")[:2])


def test_no_module_imports_itself_back() -> None:
    assert cycles(graph()) == []


def test_no_folder_imports_itself_back() -> None:
    rooms: dict[str, set[str]] = {}
    for source, targets in graph().items():
        if source == PACKAGE:
            continue  # the package's own __init__ names the public objects of every room
        for target in targets:
            if target != PACKAGE and room(source) != room(target):
                rooms.setdefault(room(source), set()).add(room(target))
    assert cycles(rooms) == []


@pytest.mark.parametrize(
    ("low", "high"),
    [
        ("rendezvous_di.config", "rendezvous_di.backends"),
        ("rendezvous_di.config", "rendezvous_di.registry"),
        ("rendezvous_di.backends", "rendezvous_di.registry"),
        ("rendezvous_di.plugins", "rendezvous_di.registry"),
        ("rendezvous_di.backends", "rendezvous_di.plugins"),
        ("rendezvous_di.registry", "rendezvous_di.container"),
        ("rendezvous_di.registry", "rendezvous_di.cli"),
        ("rendezvous_di.run", "rendezvous_di.cli"),
    ],
)
def test_the_data_flows_one_way(low: str, high: str) -> None:
    """Settings know no backend; backends know no resolution; nothing below knows the CLI."""
    upward = sorted(
        f"{source} -> {target}"
        for source, targets in graph().items()
        if room(source) == low
        for target in targets
        if room(target) == high
    )
    assert upward == []


def test_the_graph_sees_a_deferred_cycle(tmp_path: Path) -> None:
    """The check itself: an import inside a function closing a loop is found."""
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("def f():\n    from .b import g\n")
    b.write_text("from .a import f\n")
    known = {"pkg.a": a, "pkg.b": b}
    edges = {name: set(imported(name, path, known)) & set(known) for name, path in known.items()}
    assert cycles(edges) == [["pkg.a", "pkg.b"]]
