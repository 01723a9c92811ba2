"""What the deployment check can prove about an expression before it ever runs: that it cannot finish.

A part of an expression that reads no case data (only constants, builtins and its own loop variables) gives the same
result on every case, so the check simply runs it, under the same limits, and reports what the run would report:
`10 ** 10 ** 10`, `'a' * 10 ** 10`, `sum(range(10 ** 12))`, `[i for i in range(10 ** 9)]`. A `for` loop over such
a part is counted without running its body: a million turns of a loop whose body is one statement cost at least two
million steps, whatever the data.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from workflows.expressions.interpreter import trial
from workflows.expressions.language import BUILTIN_NAMES, Mode, free_names, parse
from workflows.expressions.limits import (
    DEFAULT_LIMITS,
    ExpressionError,
    ExpressionNotAllowed,
    ExpressionUndefined,
)


def proven_failures(source: str, mode: Mode) -> tuple[str, ...]:
    """Chinese reasons `source` fails on every case (it is assumed to be in the language already)."""
    try:
        tree = parse(source, mode)
    except ExpressionNotAllowed as exc:
        return (str(exc),)
    found: list[str] = []
    if not _reads_data(tree):
        found.extend(_run(source, mode))
    else:
        for part in _data_free_parts(tree):
            found.extend(_run(ast.unparse(part), "eval"))
        found.extend(_loop_costs(tree))
    return tuple(dict.fromkeys(found))


def _reads_data(tree: ast.AST) -> bool:
    """Whether the source may read case data or call a domain function (anything but builtins)."""
    calls = {node.func.id for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
    return bool(free_names(tree) - BUILTIN_NAMES or calls - BUILTIN_NAMES)


def _data_free_parts(tree: ast.AST) -> Iterator[ast.expr]:
    """The largest sub-expressions that read no case data (constants alone are not worth running)."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if _standalone(node) and not _reads_data(node) and not _binds(node):
            yield node  # type: ignore[misc]
            continue
        stack.extend(ast.iter_child_nodes(node))


def _standalone(node: ast.AST) -> bool:
    """An expression that means the same written on its own (not a slice `1:2`, nor a part of an f-string)."""
    if not isinstance(node, ast.expr) or isinstance(node, ast.Constant | ast.Name | ast.Slice | ast.FormattedValue):
        return False
    return not isinstance(node, ast.JoinedStr) or any(isinstance(v, ast.FormattedValue) for v in node.values)


def _binds(node: ast.AST) -> bool:
    """Whether an expression stores into something (`x[0] = …` targets are never run on their own)."""
    return any(isinstance(n, ast.Name | ast.Subscript) and not isinstance(n.ctx, ast.Load) for n in ast.walk(node)
               if not isinstance(n, ast.comprehension))


def _run(source: str, mode: Mode) -> list[str]:
    try:
        trial(source, mode)
    except ExpressionUndefined:
        return []  # a script that reads a name before it sets it reads case data at run time: not provable
    except ExpressionError as exc:
        return [f"运行必然失败：{exc}"]
    return []


def _loop_costs(tree: ast.AST) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.For):
            turns = _turns(node.iter)
            cost = turns * (1 + len(node.body)) if turns is not None else 0
            if cost > DEFAULT_LIMITS.max_steps:
                yield (f"运行必然失败：循环 {turns:,} 次，至少需要 {cost:,} 步，超过计算步数上限 "
                       f"{DEFAULT_LIMITS.max_steps:,} 步")


def _turns(iterable: ast.expr) -> int | None:
    """How many times a loop over `iterable` turns, when that does not depend on the data."""
    if _reads_data(iterable):
        return None
    try:
        turns = trial(f"len({ast.unparse(iterable)})", "eval")
    except ExpressionError:
        return None  # reported as a data-free part that fails, if it does
    return turns if type(turns) is int else None
