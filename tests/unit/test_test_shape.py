"""The tests' own shape (issue 13): helpers live in tests/support and nowhere else, so no test module imports from
another test module (and so no test depends on another module being collected or run first), and no test file
defines its own copy of a shared scenario helper."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
SUPPORT = TESTS / "support"


def _test_files() -> list[Path]:
    return sorted(p for p in TESTS.rglob("*.py") if SUPPORT not in p.parents and p.name != "conftest.py"
                  and p.name != "__init__.py")


def _imported_modules(tree: ast.Module) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):  # inside functions too
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
    return found


def _allowed(module: str) -> bool:
    parts = module.split(".")
    return parts[0] != "tests" or parts[1:2] == ["support"] or parts[-1] == "conftest"


def test_no_test_module_imports_another() -> None:
    wrong = [f"{path.relative_to(TESTS.parent)}:{line}: {module}"
             for path in _test_files()
             for line, module in _imported_modules(ast.parse(path.read_text(encoding="utf-8")))
             if not _allowed(module)]
    assert wrong == [], "helpers belong in tests/support:\n" + "\n".join(wrong)


def test_the_shared_scenario_helpers_are_defined_once() -> None:
    shared = {node.name for node in ast.parse((SUPPORT / "scenarios.py").read_text(encoding="utf-8")).body
              if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")}
    assert {"apply", "task", "complete", "at", "step", "to_publicity"} <= shared
    copies = [f"{path.relative_to(TESTS.parent)}:{node.lineno}: {node.name}"
              for path in _test_files()
              for node in ast.parse(path.read_text(encoding="utf-8")).body
              if isinstance(node, ast.FunctionDef) and node.name.lstrip("_") in shared]
    assert copies == [], "use tests/support/scenarios.py instead of a copy:\n" + "\n".join(copies)


def test_the_guard_sees_a_wrong_import_and_a_copy(tmp_path: Path) -> None:
    tree = ast.parse("def f():\n    from tests.scenarios.test_new_filing import apply\n")
    assert [module for _, module in _imported_modules(tree) if not _allowed(module)] == [
        "tests.scenarios.test_new_filing"]
    assert _allowed("tests.support.scenarios") and _allowed("tests.web.conftest") and _allowed("workflows.engine")
