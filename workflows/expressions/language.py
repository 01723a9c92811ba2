"""The expression language of the diagrams: which Python syntax exists in it, checked before anything runs.

It is a small part of Python — values, arithmetic, comparisons, `and`/`or`/`not`, `x if c else y`, subscripts and
slices, list/dict literals and comprehensions, f-strings, calls of the documented functions and of the methods of
text, lists and dicts; in scripts also assignments, `if`, `for` (with `break`/`continue`), `del` and `pass`.
Everything else is not in the language at all (no `while`, `def`, `lambda`, `class`, `import`, `try`, `with`,
`match`, attribute reads, `_` names): a node type that is not listed here is refused with a reason, before running.

This check is for the process owner's benefit (clear findings at deployment); safety does not rest on it. The
interpreter only knows how to evaluate the listed nodes and only reaches values through its own tables, so syntax
that slipped past this check would still have nothing to reach.
"""

from __future__ import annotations

import ast
import math
import textwrap
from collections.abc import Iterator
from functools import lru_cache

from workflows.expressions.arithmetic import BINARY, COMPARE
from workflows.expressions.library import BUILTINS, METHOD_NAMES
from workflows.expressions.limits import DEFAULT_LIMITS, ExpressionNotAllowed

Mode = str  # "eval" (a condition, timer value or parameter) or "exec" (a script)

BUILTIN_NAMES: frozenset[str] = frozenset(BUILTINS)

_STRUCTURE: frozenset[type[ast.AST]] = frozenset({
    ast.Module, ast.Expression, ast.Expr, ast.Assign, ast.AugAssign, ast.If, ast.For, ast.Break, ast.Continue,
    ast.Pass, ast.Delete, ast.BoolOp, ast.And, ast.Or, ast.BinOp, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd,
    ast.IfExp, ast.Compare, ast.Call, ast.keyword, ast.Attribute, ast.Subscript, ast.Slice, ast.Name, ast.Load,
    ast.Store, ast.Del, ast.Constant, ast.List, ast.Tuple, ast.Dict, ast.ListComp, ast.DictComp, ast.GeneratorExp,
    ast.comprehension, ast.JoinedStr, ast.FormattedValue, *BINARY, *COMPARE,
})

_REFUSED: dict[type[ast.AST], str] = {
    ast.While: "不允许使用 while 循环：请用 for … in …（遍历列表或 range(…)）",
    ast.Import: "不允许导入模块（import）",
    ast.ImportFrom: "不允许导入模块（from … import）",
    ast.FunctionDef: "不允许在流程中定义函数（def）",
    ast.AsyncFunctionDef: "不允许在流程中定义函数（async def）",
    ast.Lambda: "不允许使用 lambda",
    ast.ClassDef: "不允许在流程中定义类（class）",
    ast.With: "不允许使用 with 语句",
    ast.AsyncWith: "不允许使用 with 语句",
    ast.AsyncFor: "不允许使用 async for",
    ast.Try: "不允许使用 try 语句：出错的环节会停下并显示原因",
    ast.Raise: "不允许使用 raise",
    ast.Assert: "不允许使用 assert",
    ast.Global: "不允许使用 global",
    ast.Nonlocal: "不允许使用 nonlocal",
    ast.Return: "脚本中不能使用 return",
    ast.Match: "不允许使用 match 语句：请用 if … elif …",
    ast.Await: "不允许使用 await",
    ast.Yield: "不允许使用 yield",
    ast.YieldFrom: "不允许使用 yield",
    ast.NamedExpr: "不允许使用海象运算符 :=",
    ast.Starred: "不允许使用星号展开（*x）",
    ast.Set: "不支持集合 {…}：请用列表 […]",
    ast.SetComp: "不支持集合推导式：请用列表推导式 […]",
    ast.AnnAssign: "不支持带类型标注的赋值",
    ast.BitAnd: "不支持位运算 &", ast.BitOr: "不支持位运算 |", ast.BitXor: "不支持位运算 ^",
    ast.LShift: "不支持移位运算 <<", ast.RShift: "不支持移位运算 >>", ast.Invert: "不支持按位取反 ~",
    ast.MatMult: "不支持矩阵乘法 @",
}
if hasattr(ast, "TryStar"):
    _REFUSED[ast.TryStar] = _REFUSED[ast.Try]
if hasattr(ast, "TypeAlias"):  # Python 3.12
    _REFUSED[ast.TypeAlias] = "不允许定义类型别名（type）"


@lru_cache(maxsize=4096)
def normalise_script(script: str) -> str:
    """A script as written in a diagram, without the indentation that only places it under its XML element.

    Modellers write `<bpmn:script>a = 1` and then indent the following lines to the element's depth: that common
    indent is not Python. It is removed from the following lines when the first line is a simple statement (a
    first line ending in ':' opens a block whose indent must stay)."""
    lines = textwrap.dedent(script).strip("\n").splitlines()
    if len(lines) > 1 and not lines[0][:1].isspace() and not lines[0].rstrip().endswith(":"):
        lines = [lines[0], *textwrap.dedent("\n".join(lines[1:])).splitlines()]
    return "\n".join(lines).strip()


def parse(source: str, mode: Mode) -> ast.AST:
    """The syntax tree of `source`, or ExpressionNotAllowed saying why Python cannot read it."""
    limit = DEFAULT_LIMITS.max_source
    if len(source) > limit:
        raise ExpressionNotAllowed(f"表达式或脚本过长（{len(source):,} 个字符，上限 {limit:,}）")
    if "\x00" in source:
        raise ExpressionNotAllowed("表达式或脚本中含有空字符（NUL）")
    try:
        return ast.parse(source, mode=mode)
    except SyntaxError as exc:
        raise ExpressionNotAllowed(f"语法错误（第 {exc.lineno} 行）：{exc.msg}") from None
    except (RecursionError, MemoryError):
        raise ExpressionNotAllowed("表达式嵌套过深，无法解析") from None


def problems(source: str, mode: Mode, reserved: frozenset[str] = BUILTIN_NAMES) -> tuple[str, ...]:
    """Every reason `source` is not in the language, in Chinese; empty when it is. `reserved`: names a script may
    not assign (the functions it can call)."""
    try:
        tree = parse(source, mode)
    except ExpressionNotAllowed as exc:
        return (str(exc),)
    return tuple(dict.fromkeys(_Checker(reserved).problems(tree)))


@lru_cache(maxsize=4096)
def compiled(source: str, mode: Mode) -> ast.AST:
    """The checked syntax tree the interpreter runs (cached: a diagram's expressions are few and run often)."""
    tree = parse(source, mode)
    found = tuple(dict.fromkeys(_Checker(BUILTIN_NAMES).problems(tree)))
    if found:
        raise ExpressionNotAllowed("；".join(found))
    return tree


def names_used(source: str, mode: Mode) -> set[str]:
    """Names `source` reads (for the deployment check's unknown functions and variables)."""
    tree = ast.parse(source, mode=mode)
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}


def free_names(tree: ast.AST) -> set[str]:
    """Names read that the source itself never binds (by assignment, a loop or a comprehension)."""
    read, bound = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
    return read - bound


def syntax_depth(tree: ast.AST) -> int:
    """How deeply the tree nests (iteratively: a hostile source must not exhaust the checker's own stack)."""
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


class _Checker:
    def __init__(self, reserved: frozenset[str]) -> None:
        self.reserved = reserved

    def problems(self, tree: ast.AST) -> Iterator[str]:
        depth = syntax_depth(tree)
        if depth > DEFAULT_LIMITS.max_syntax_depth:
            yield f"表达式嵌套过深（{depth} 层，上限 {DEFAULT_LIMITS.max_syntax_depth} 层），请拆成几步"
            return
        method_calls = {id(node.func) for node in ast.walk(tree)
                        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)}
        yield from self._walk(tree, method_calls)
        yield from self._loop_control(tree, in_loop=False)

    def _walk(self, node: ast.AST, method_calls: set[int]) -> Iterator[str]:
        """Every problem in the tree; what is inside a refused construct is not looked at (one reason is enough)."""
        kind = type(node)
        if kind in _REFUSED:
            yield _REFUSED[kind]
            return
        if kind not in _STRUCTURE:
            yield f"不支持的语法：{kind.__name__}"
            return
        yield from self._node(node, method_calls)
        for child in ast.iter_child_nodes(node):
            yield from self._walk(child, method_calls)

    def _node(self, node: ast.AST, method_calls: set[int]) -> Iterator[str]:
        kind = type(node)
        if kind is ast.Name and node.id.startswith("_"):
            yield f"不允许使用以下划线开头的名称“{node.id}”"
        elif kind is ast.Attribute:
            yield from self._attribute(node, id(node) in method_calls)
        elif kind is ast.Constant:
            yield from _constant(node.value)
        elif kind is ast.Call:
            if not isinstance(node.func, ast.Name | ast.Attribute):
                yield "只能调用函数名（如 len(x)）或数据的方法（如 text.strip()）"
            if any(keyword.arg is None for keyword in node.keywords):
                yield "不允许使用 ** 展开参数"
        elif kind is ast.Dict and any(key is None for key in node.keys):
            yield "不允许在字典中使用 ** 展开"
        elif kind is ast.comprehension and node.is_async:
            yield "不允许使用 async 推导式"
        elif kind in (ast.Assign, ast.AugAssign, ast.Delete, ast.For, ast.comprehension):
            targets = (node.targets if kind in (ast.Assign, ast.Delete) else [node.target])
            for target in targets:
                yield from self._target(target, allow_subscript=kind is not ast.comprehension)

    def _attribute(self, node: ast.Attribute, called: bool) -> Iterator[str]:
        if node.attr.startswith("_"):
            yield f"不允许访问以下划线开头的属性“{node.attr}”"
        elif not called:
            yield f"不允许读取属性“.{node.attr}”：只能调用数据的方法，例如 text.strip()"
        elif node.attr not in METHOD_NAMES:
            hint = "；格式化文本请使用 f-string，例如 f'{名称}'" if node.attr in ("format", "format_map") else ""
            yield f"没有方法“{node.attr}”{hint}"

    def _target(self, target: ast.AST, allow_subscript: bool) -> Iterator[str]:
        if isinstance(target, ast.Name):
            if target.id in self.reserved:
                yield f"不能给函数名“{target.id}”赋值"
        elif isinstance(target, ast.Tuple | ast.List):
            for element in target.elts:
                yield from self._target(element, allow_subscript)
        elif isinstance(target, ast.Subscript) and allow_subscript:
            return
        elif isinstance(target, ast.Attribute):
            yield f"不允许给属性“.{target.attr}”赋值：请用 数据['键'] = 值"
        else:
            yield "赋值的目标只能是名称、数据['键'] 或 列表[位置]"

    def _loop_control(self, node: ast.AST, in_loop: bool) -> Iterator[str]:
        if isinstance(node, ast.Break | ast.Continue) and not in_loop:
            yield "break 或 continue 只能用在 for 循环中"
        for child in ast.iter_child_nodes(node):
            inside = in_loop or (isinstance(node, ast.For) and child in node.body)
            yield from self._loop_control(child, inside)


def _constant(value: object) -> Iterator[str]:
    if isinstance(value, bytes):
        yield "不支持字节串 b'…'"
    elif isinstance(value, complex):
        yield "不支持复数"
    elif value is Ellipsis:
        yield "不支持 …（Ellipsis）"
    elif isinstance(value, float) and not math.isfinite(value):
        yield f"数值 {value} 超出小数的表示范围"
