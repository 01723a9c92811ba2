"""BPMN expressions and scripts: a small, bounded language over plain task data (docs/expressions.md).

Process owners write conditions, timer values, service parameters and scripts in a part of Python's syntax; an
interpreter of our own runs them over the case's task data, reaching nothing but that data, the documented domain
functions and a short library, under a time and a memory limit. See `language` (what may be written), `interpreter`
(how it runs), `values` (what exists), `library` (what can be called), `limits` (how much) and `proofs` (what the
deployment check proves before anything runs).
"""

from workflows.expressions.environment import (
    DATA_ONLY_ENGINE,
    RestrictedEnvironment,
    RestrictedScriptEngine,
    script_engine,
)
from workflows.expressions.interpreter import evaluate, execute
from workflows.expressions.language import BUILTIN_NAMES, names_used, normalise_script, problems
from workflows.expressions.limits import (
    DEFAULT_LIMITS,
    ExpressionError,
    ExpressionFailed,
    ExpressionLimitExceeded,
    ExpressionNotAllowed,
    Limits,
)
from workflows.expressions.proofs import proven_failures

__all__ = [
    "BUILTIN_NAMES", "DATA_ONLY_ENGINE", "DEFAULT_LIMITS", "ExpressionError", "ExpressionFailed",
    "ExpressionLimitExceeded", "ExpressionNotAllowed", "Limits", "RestrictedEnvironment", "RestrictedScriptEngine",
    "evaluate", "execute", "names_used", "normalise_script", "problems", "proven_failures", "script_engine",
]
