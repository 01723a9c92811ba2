"""(d) What an expression costs: the bounded interpreter against CPython's eval/exec.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from adapters.entrypoints.demo import EXAMPLE

if TYPE_CHECKING:
    pass

from adapters.entrypoints.bench.common import Say

# (kind, mode, source): as the bundled diagrams write them.
_EXPRESSIONS = (
    ("condition", "eval", "acceptance['decision'] == 'accept'"),
    ("parameter", "eval", "'调查核实自动终止备案情形：' + ground['label']"),
    ("conditional", "eval", "change_review['opinion'] if 'opinion' in change_review else ''"),
    ("script", "exec", "assessment = continuation_review if filing['simplified_continuation'] else renewal_assessment"),
)


def bench_expressions(repetitions: int, say: Say) -> dict[str, Any]:
    """Microseconds per evaluation, bounded interpreter against CPython's eval/exec, over a case's task data."""
    application = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    data: dict[str, Any] = {
        "application": application, "acceptance": {"decision": "accept"}, "ground": {"label": "主体注销"},
        "change_review": {"result": "pass", "opinion": "同意"}, "filing": {"simplified_continuation": False},
        "continuation_review": {"result": "pass"}, "renewal_assessment": {"result": "pass"},
    }
    figures: dict[str, Any] = {}
    same = True
    for kind, mode, source in _EXPRESSIONS:
        ours, python = _evaluators(mode, source, dict(data), dict(data))
        same = same and ours() == python()
        timings = {name: _median_us(action, repetitions) for name, action in (("bounded_us", ours),
                                                                              ("python_us", python))}
        timings["ratio"] = round(timings["bounded_us"] / max(timings["python_us"], 0.01), 1)
        figures[kind] = timings
        say(f"表达式（{kind}）：受限解释器 中位 {timings['bounded_us']} µs，"
            f"CPython eval/exec {timings['python_us']} µs")
    return {"repetitions": repetitions, "same_results": same, **figures}


def _evaluators(mode: str, source: str, ours_data: dict[str, Any],
                python_data: dict[str, Any]) -> tuple[Callable[[], Any], Callable[[], Any]]:
    """The same source run by the bounded interpreter and by CPython (compiled once, no builtins)."""
    from workflows.expressions import evaluate, execute

    code = compile(source, "<bench>", mode)
    if mode == "eval":
        return (lambda: evaluate(source, ours_data),
                lambda: eval(code, {"__builtins__": {}}, python_data))  # noqa: S307 — our own constant source

    def ours() -> Any:
        execute(source, ours_data)
        return ours_data.get("assessment")

    def python() -> Any:
        exec(code, {"__builtins__": {}}, python_data)  # noqa: S102 — our own constant source
        return python_data.get("assessment")

    return ours, python


def _median_us(action: Callable[[], Any], repetitions: int) -> float:
    runs = []
    for _ in range(repetitions):
        began = time.perf_counter()
        action()
        runs.append(time.perf_counter() - began)
    return round(statistics.median(runs) * 1e6, 2)
