"""Fuzzing the expression interpreter: thousands of random expressions and scripts, built from the whole grammar
and from the pieces of known sandbox escapes, must each end with a plain value or a Chinese ExpressionError —
never another exception, never a host object, never past their limits."""

from __future__ import annotations

import random
import threading
from typing import Any

import pytest

from workflows.expressions import ExpressionError, evaluate, execute, problems
from workflows.expressions.library import BUILTINS, METHOD_NAMES

# The grammar makes sources like `1if x else 2`, about which Python's parser warns.
pytestmark = pytest.mark.filterwarnings("ignore::SyntaxWarning")

PLAIN = (type(None), bool, int, float, str, list, dict)
SECRET = "canary-77d1"
DANGEROUS_NAMES = ["__class__", "__globals__", "__subclasses__", "__mro__", "__dict__", "__code__", "__closure__",
                   "format", "format_map", "mro", "gi_frame", "f_globals", "f_back", "tb_frame", "mapping",
                   "__reduce__", "__getattribute__", "__init__", "func_globals", "cell_contents", "keys", "values"]
DANGEROUS_CALLS = ["getattr", "setattr", "vars", "dir", "globals", "locals", "eval", "exec", "compile", "open",
                   "__import__", "type", "object", "super", "breakpoint", "input", "help", "memoryview", "id",
                   "hash", "print", "iter", "next", "callable", "isinstance", "chr", "ord", "repr", "format"]


def _secret_function() -> Any:
    secret = SECRET

    def now() -> str:
        return "2026-12-02T10:00:00+08:00" if secret else ""

    return now


FUNCTIONS = {"now": _secret_function()}


class Grammar:
    """Random sources over the expression language's grammar, with hostile pieces mixed in."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def pick(self, *options: Any) -> Any:
        return self.rng.choice(options)

    def constant(self) -> str:
        return self.pick("0", "1", "-1", "3", "10 ** 9", "2 ** 64", "1.5", "1e308", "-0.0", "''", "'a'",
                         "'中文'", "'\\u202e'", "'x' * 3", "None", "True", "False", "[]", "{}", "()", "[1, [2]]",
                         "{'k': [1, {'j': 2}]}", "'{0.__class__}'", "'%s'", "range(5)", "range(10 ** 12)")

    def name(self) -> str:
        return self.pick("n", "text", "items", "data", "nested", "now", "missing", "x", "i")

    def expression(self, depth: int = 0) -> str:
        if depth > 4:
            return self.pick(self.constant(), self.name())
        kind = self.rng.randrange(17)
        sub = lambda: self.expression(depth + 1)  # noqa: E731
        if kind == 0:
            return self.constant()
        if kind == 1:
            return self.name()
        if kind == 2:
            return f"({sub()} {self.pick('+', '-', '*', '/', '//', '%', '**')} {sub()})"
        if kind == 3:
            return f"({sub()} {self.pick('==', '!=', '<', '<=', '>', '>=', 'in', 'not in', 'is', 'is not')} {sub()})"
        if kind == 4:
            return f"({sub()} {self.pick('and', 'or')} {sub()})"
        if kind == 5:
            return f"({self.pick('not', '-', '+')} {sub()})"
        if kind == 6:
            return f"({sub()} if {sub()} else {sub()})"
        if kind == 7:
            function = self.pick(*BUILTINS, *DANGEROUS_CALLS, "now")
            arguments = ", ".join(sub() for _ in range(self.rng.randrange(3)))
            return f"{function}({arguments})"
        if kind == 8:
            method = self.pick(*METHOD_NAMES, *DANGEROUS_NAMES)
            arguments = ", ".join(sub() for _ in range(self.rng.randrange(3)))
            return f"{sub()}.{method}({arguments})"
        if kind == 9:
            return f"{sub()}[{sub()}]"
        if kind == 10:
            return f"{sub()}[{sub()}:{sub()}:{self.pick('1', '-1', '2', '0')}]"
        if kind == 11:
            return f"[{sub()} for i in {sub()} if {sub()}]"
        if kind == 12:
            return f"{{{sub()}: {sub()} for i in {sub()}}}"
        if kind == 13:
            spec = self.pick("", ":>5", ":.2f", ":{n}", ":>{10 ** 9}")
            return f"f'{{{sub()}{self.pick('', '!r', '!s', '!a')}{spec}}}'"
        if kind == 14:
            return f"[{', '.join(sub() for _ in range(self.rng.randrange(4)))}]"
        if kind == 15:
            return f"{{{sub()}: {sub()}}}"
        return f"{sub()}.{self.pick(*DANGEROUS_NAMES)}"

    def script(self) -> str:
        lines = []
        for _ in range(self.rng.randrange(1, 5)):
            kind = self.rng.randrange(6)
            if kind == 0:
                lines.append(f"x = {self.expression(1)}")
            elif kind == 1:
                lines.append(f"for i in {self.expression(2)}:\n    x = {self.expression(2)}")
            elif kind == 2:
                lines.append(f"if {self.expression(2)}:\n    y = {self.expression(2)}\nelse:\n    y = 0")
            elif kind == 3:
                lines.append(f"items.append({self.expression(2)})")
            elif kind == 4:
                lines.append(f"data[{self.expression(3)}] = {self.expression(2)}")
            else:
                lines.append(f"x {self.pick('+=', '*=', '-=')} {self.expression(2)}")
        return "\n".join(lines)


def task_data() -> dict[str, Any]:
    return {"n": 7, "text": "备案 abc", "items": [1, 2, 3], "data": {"k": "v"}, "nested": {"a": [{"b": None}]}}


def contains_only_plain(value: Any, depth: int = 0) -> bool:
    if depth > 40 or type(value) not in PLAIN + (tuple,):
        return False
    if isinstance(value, list | tuple):
        return all(contains_only_plain(item, depth + 1) for item in value)
    if isinstance(value, dict):
        return all(type(k) is str and contains_only_plain(v, depth + 1) for k, v in value.items())
    return True


def _check_one(source: str, mode: str) -> None:
    values = task_data()
    try:
        result = evaluate(source, values, functions=FUNCTIONS) if mode == "eval" else \
            execute(source, values, functions=FUNCTIONS)
    except ExpressionError as exc:
        message = str(exc)
        assert message and any("\u4e00" <= ch <= "\u9fff" for ch in message), (source, message)
        assert SECRET not in message
        return
    assert contains_only_plain(result), (source, result)
    assert all(contains_only_plain(value) for value in values.values()), (source, values)
    assert SECRET not in repr(result) + repr(values), source


def _run_batch(seed: int, count: int, mode: str) -> int:
    grammar = Grammar(seed)
    checked = 0
    for _ in range(count):
        source = grammar.expression() if mode == "eval" else grammar.script()
        if mode == "eval" and problems(source, mode):
            continue  # refused before running: the refusal itself is tested in test_expressions.py
        _check_one(source, mode)
        checked += 1
    return checked


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("mode", ["eval", "exec"])
def test_random_sources_end_in_a_value_or_a_chinese_reason(seed: int, mode: str) -> None:
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["checked"] = _run_batch(seed, 400, mode)
        except BaseException as exc:  # noqa: BLE001 — handed back to the test
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(300)
    assert not thread.is_alive(), "an evaluation did not end"
    if "error" in outcome:
        raise outcome["error"]
    assert outcome["checked"] > 50  # the grammar mostly makes sources that are in the language


def test_every_source_is_refused_or_checked_without_crashing_the_checker() -> None:
    grammar = Grammar(99)
    for _ in range(2000):
        for mode, source in (("eval", grammar.expression()), ("exec", grammar.script())):
            found = problems(source, mode)
            assert all(isinstance(problem, str) and problem for problem in found)
