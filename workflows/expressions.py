"""The restricted Python environment in which BPMN expressions and scripts run.

SpiffWorkflow evaluates gateway conditions, timer expressions, service-task parameters and scripts as Python with
full builtins by default (`__import__('os')` works). Deploying BPMN is a privileged act, but the diagram is still
edited by process owners, not programmers, so every expression is checked before it runs: no imports, no names or
attributes that start with an underscore (the road to `__class__.__subclasses__()`), no `str.format` (which reaches
attributes through its mini-language), and builtins reduced to an allow-list. The domain functions a diagram may
call are passed in explicitly by the engine for each step.
"""

from __future__ import annotations

import ast
import builtins
import textwrap
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.exceptions import WorkflowException

SAFE_BUILTIN_NAMES = (
    "abs", "all", "any", "bool", "dict", "enumerate", "float", "int", "len", "list", "max", "min",
    "range", "round", "set", "sorted", "str", "sum", "tuple", "zip", "True", "False", "None",
)
SAFE_BUILTINS: dict[str, Any] = {name: getattr(builtins, name) for name in SAFE_BUILTIN_NAMES}

# Attributes that lead out of the data into the interpreter without a leading underscore.
_FORBIDDEN_ATTRIBUTES = frozenset(
    {"format", "format_map", "mro", "gi_frame", "gi_code", "cr_frame", "cr_code", "ag_frame", "f_globals",
     "f_locals", "f_back", "f_builtins", "tb_frame", "tb_next", "func_globals"}
)
_FORBIDDEN_NODES: dict[type[ast.AST], str] = {
    ast.Import: "不允许导入模块（import）",
    ast.ImportFrom: "不允许导入模块（from … import）",
    ast.Global: "不允许使用 global",
    ast.Nonlocal: "不允许使用 nonlocal",
    ast.FunctionDef: "不允许在流程中定义函数",
    ast.AsyncFunctionDef: "不允许在流程中定义函数",
    ast.ClassDef: "不允许在流程中定义类",
    ast.Lambda: "不允许使用 lambda",
    ast.With: "不允许使用 with 语句",
    ast.AsyncWith: "不允许使用 with 语句",
    ast.Await: "不允许使用 await",
    ast.Yield: "不允许使用 yield",
    ast.YieldFrom: "不允许使用 yield",
}


class ExpressionNotAllowed(ValueError):
    """An expression or script uses something the restricted environment forbids."""


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


def expression_problems(source: str, mode: str = "exec") -> tuple[str, ...]:
    """Every reason `source` may not run, in Chinese; empty when it is allowed. `mode` is 'eval' or 'exec'."""
    try:
        tree = ast.parse(source, mode=mode)
    except SyntaxError as exc:
        return (f"语法错误（第 {exc.lineno} 行）：{exc.msg}",)
    problems: list[str] = []
    for node in ast.walk(tree):
        for node_type, message in _FORBIDDEN_NODES.items():
            if isinstance(node, node_type):
                problems.append(message)
        if isinstance(node, ast.Name) and node.id.startswith("_"):
            problems.append(f"不允许使用以下划线开头的名称“{node.id}”")
        elif isinstance(node, ast.Attribute):
            if node.attr.startswith("_"):
                problems.append(f"不允许访问以下划线开头的属性“{node.attr}”")
            elif node.attr in _FORBIDDEN_ATTRIBUTES:
                problems.append(f"不允许访问属性“{node.attr}”")
        elif isinstance(node, ast.keyword) and node.arg is not None and node.arg.startswith("_"):
            problems.append(f"不允许使用以下划线开头的参数名“{node.arg}”")
    return tuple(dict.fromkeys(problems))


def names_used(source: str, mode: str = "exec") -> set[str]:
    """Free names read by `source` (for deployment checks of unknown functions and variables)."""
    tree = ast.parse(source, mode=mode)
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}


def _require_allowed(source: str, mode: str) -> None:
    problems = expression_problems(source, mode)
    if problems:
        raise ExpressionNotAllowed(f"表达式“{source.strip()}”不被允许：" + "；".join(problems))


ServiceCall = Callable[[str, dict[str, Any], dict[str, Any]], Any]


class RestrictedEnvironment(TaskDataEnvironment):
    """Task-data environment with checked code, allow-listed builtins and the engine's domain functions.

    `services(operator, params, task_data)` is called for service tasks and must return a JSON-serialisable value.
    """

    def __init__(self, functions: Mapping[str, Callable[..., Any]], services: ServiceCall | None = None) -> None:
        globals_: dict[str, Any] = {"__builtins__": SAFE_BUILTINS, **functions}
        super().__init__(globals_)
        self._services = services

    def evaluate(self, expression: str, context: dict[str, Any], external_context: dict[str, Any] | None = None) -> Any:
        _require_allowed(expression, "eval")
        return super().evaluate(expression, context, external_context)

    def execute(self, script: str, context: dict[str, Any], external_context: dict[str, Any] | None = None) -> bool:
        script = normalise_script(script)
        _require_allowed(script, "exec")
        return super().execute(script, context, external_context)

    def call_service(self, context: dict[str, Any], operation_name: str = "", operation_params: dict | None = None,
                     **_: Any) -> str:
        import json

        if self._services is None:
            raise RuntimeError(f"no service handler for operator {operation_name}")
        params = {name: spec["value"] for name, spec in (operation_params or {}).items()}
        return json.dumps(self._services(operation_name, params, context), ensure_ascii=False)


class RestrictedScriptEngine(PythonScriptEngine):
    """SpiffWorkflow 3.2's `call_service` refers to an undefined name when the service raises, hiding the real
    error behind a NameError; this keeps the original exception, attached to the task."""

    def call_service(self, task: Any, **kwargs: Any) -> Any:
        try:
            return self.environment.call_service(task.data, **kwargs)
        except WorkflowException:
            raise
        except Exception as err:
            raise WorkflowTaskException(str(err) or err.__class__.__name__, task=task, exception=err) from err


def script_engine(functions: Mapping[str, Callable[..., Any]],
                  services: ServiceCall | None = None) -> PythonScriptEngine:
    return RestrictedScriptEngine(environment=RestrictedEnvironment(functions, services))
