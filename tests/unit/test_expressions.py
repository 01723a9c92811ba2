"""The restricted expression environment refuses what could leave the task data."""

from __future__ import annotations

import pytest

from workflows.expressions import ExpressionNotAllowed, RestrictedEnvironment, expression_problems


@pytest.mark.parametrize("source", [
    "__import__('os').system('true')",
    "().__class__.__mro__[1].__subclasses__()",
    "'{0.__class__}'.format(x)",
    "getattr(x, 'y')",
    "open('/etc/passwd').read()",
    "eval('1')",
])
def test_dangerous_expressions_do_not_run(source: str) -> None:
    env = RestrictedEnvironment({})
    with pytest.raises((ExpressionNotAllowed, NameError)):
        env.evaluate(source, {"x": 1})


@pytest.mark.parametrize("source", ["import os", "from os import path", "def f():\n  pass", "x = lambda: 1",
                                    "_secret = 1", "a.__dict__"])
def test_checker_names_the_problem(source: str) -> None:
    assert expression_problems(source, "exec")


def test_ordinary_expressions_run_with_allowed_functions() -> None:
    env = RestrictedEnvironment({"double": lambda v: v * 2})
    data = {"acceptance": {"decision": "accept"}, "n": 3}
    assert env.evaluate("acceptance['decision'] == 'accept' and len([1, 2]) == 2", data) is True
    assert env.evaluate("double(n) + max(1, 2)", data) == 8
    env.execute("total = sum([n, 1])", data)
    assert data["total"] == 4 and "double" not in data and "__builtins__" not in data
