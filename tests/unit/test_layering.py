"""The shape of the code (docs/architecture.md): which room may import which, and no import cycles.

Every import counts — at the top of a module, inside a function, under `TYPE_CHECKING` — because each is a
dependency a reader has to follow, and a cycle hidden in a function is still a cycle."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("tasks", "workflows", "adapters")

# The ways in (adapters/entrypoints/): what people and schedulers start. Nothing below them may import them.
ENTRY_POINTS = ("adapters.entrypoints",)
# The outside the core calls (adapters/outside/): the database, the outside systems and their sandbox, documents and
# PDF, settings.
OUTSIDE = ("adapters.outside",)


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def _modules() -> dict[str, Path]:
    return {_module_name(path): path for package in PACKAGES for path in (ROOT / package).rglob("*.py")}


def _imported(name: str, path: Path) -> Iterator[str]:
    """The project modules `name` imports, wherever in the file the import stands."""
    modules = _modules()
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[:len(package) - node.level + 1] + ([node.module] if node.module else []))
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]  # `from pkg import module`
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                yield target


@cache
def _graph() -> dict[str, frozenset[str]]:
    return {name: frozenset(_imported(name, path)) for name, path in _modules().items()}


def _within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes)


def _imports_where(importer: tuple[str, ...], imported: tuple[str, ...]) -> list[str]:
    return sorted(f"{name} imports {target}" for name, targets in _graph().items() if _within(name, importer)
                  for target in targets if _within(target, imported))


def _cycles() -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm, iteratively)."""
    graph = _graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_graph_sees_the_project() -> None:
    graph = _graph()
    assert {"tasks.calendar", "workflows.engine", "workflows.service.cases",
            "adapters.entrypoints.web.app"} <= graph.keys()
    assert "workflows.engine" in graph["workflows.service.cases"]
    assert "workflows.service" in graph["adapters.entrypoints.cli.common"]  # an import inside a function counts


def test_no_import_cycles() -> None:
    assert _cycles() == []


def test_the_domain_imports_nothing_of_the_rest() -> None:
    assert _imports_where(("tasks",), ("workflows", "adapters")) == []


def test_nothing_below_the_ways_in_imports_them() -> None:
    assert _imports_where(("workflows", "tasks") + OUTSIDE, ENTRY_POINTS) == []


def test_the_outside_does_not_call_back_into_the_core() -> None:
    assert _imports_where(OUTSIDE, ("workflows",)) == []


def test_every_adapter_is_either_a_way_in_or_the_outside() -> None:
    """A module straight under adapters/ would say nothing of which it is: it belongs in one of the two folders."""
    adapters = {name for name in _modules() if name.startswith("adapters.")}
    unplaced = sorted(name for name in adapters if not _within(name, ENTRY_POINTS + OUTSIDE))
    assert unplaced == []
