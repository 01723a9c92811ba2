"""SpiffWorkflow's script engine, running every expression and script of a diagram in the bounded interpreter.

SpiffWorkflow evaluates gateway conditions, timer values, service parameters, message payloads, multi-instance
expressions and scripts by calling its environment's `evaluate` and `execute` with the task's data; this environment
hands them to `workflows.expressions.interpreter` instead of Python's `eval`/`exec`. The domain functions a diagram
may call are given by the engine for each step.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.exceptions import WorkflowException

from workflows.expressions.interpreter import evaluate, execute
from workflows.expressions.language import compiled, normalise_script
from workflows.expressions.limits import DEFAULT_LIMITS, ExpressionError, Limits

ServiceCall = Callable[[str, dict[str, Any], dict[str, Any]], Any]


def _quoted(source: str) -> str:
    flat = " ".join(source.split())
    return flat if len(flat) <= 60 else flat[:57] + "…"


def _located(exc: ExpressionError, source: str, what: str) -> ExpressionError:
    """The same error, saying which expression it is about (the task is added by SpiffWorkflow)."""
    located = type(exc)(f"{what}“{_quoted(source)}”：{exc}")
    located.__cause__ = None
    return located


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):
    """Task data in, plain values out, through the bounded interpreter; `services(operator, params, task_data)` runs
    service tasks and must return a JSON-serialisable value."""

    def __init__(self, functions: Mapping[str, Callable[..., Any]], services: ServiceCall | None = None,
                 limits: Limits = DEFAULT_LIMITS) -> None:
        super().__init__({})
        self.functions = dict(functions)
        self.limits = limits
        self._services = services

    def evaluate(self, expression: str, context: dict[str, Any], external_context: dict[str, Any] | None = None) -> Any:
        source = expression.strip()
        try:
            return evaluate(source, context, external=external_context, functions=self.functions, limits=self.limits)
        except ExpressionError as exc:
            raise _located(exc, source, "表达式") from None

    def execute(self, script: str, context: dict[str, Any], external_context: dict[str, Any] | None = None) -> bool:
        source = normalise_script(script)
        try:
            execute(source, context, external=external_context, functions=self.functions, limits=self.limits)
        except ExpressionError as exc:
            raise _located(exc, source, "脚本") from None
        return True

    def call_service(self, context: dict[str, Any], operation_name: str = "", operation_params: dict | None = None,
                     **_: Any) -> str:
        if self._services is None:
            raise RuntimeError(f"no service handler for operator {operation_name}")
        params = {name: spec["value"] for name, spec in (operation_params or {}).items()}
        return json.dumps(self._services(operation_name, params, context), ensure_ascii=False)


class RestrictedScriptEngine(PythonScriptEngine):
    """SpiffWorkflow 3.2's `call_service` refers to an undefined name when the service raises, hiding the real
    error behind a NameError; this keeps the original exception, attached to the task. `validate` (DMN) checks
    against the expression language instead of Python's."""

    def validate(self, expression: str) -> None:
        compiled(expression.strip(), "eval")

    def call_service(self, task: Any, **kwargs: Any) -> Any:
        try:
            return self.environment.call_service(task.data, **kwargs)
        except WorkflowException:
            raise
        except Exception as err:
            raise WorkflowTaskException(str(err) or err.__class__.__name__, task=task, exception=err) from err


def script_engine(functions: Mapping[str, Callable[..., Any]], services: ServiceCall | None = None,
                  limits: Limits = DEFAULT_LIMITS) -> PythonScriptEngine:
    return RestrictedScriptEngine(environment=RestrictedEnvironment(functions, services, limits))


# What every workflow object gets when it is made (restored from the database, created for a new case) until the
# engine attaches the step's own engine: SpiffWorkflow's default is Python's eval/exec with full builtins, which must
# never be there even for a moment. It knows no domain function and runs no service.
DATA_ONLY_ENGINE = script_engine({})
