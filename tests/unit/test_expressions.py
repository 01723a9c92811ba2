"""The expression language: what it can do (like Python), what it refuses (with a reason), and that nothing in it
reaches the host, runs forever or takes unbounded memory. The fuzz suite is in test_expression_fuzz.py."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

import pytest

from workflows.expressions import (
    DEFAULT_LIMITS,
    ExpressionError,
    ExpressionFailed,
    ExpressionLimitExceeded,
    ExpressionNotAllowed,
    Limits,
    RestrictedEnvironment,
    evaluate,
    execute,
    problems,
    proven_failures,
)

SECRET = "canary-3f9e1c"


def _secret_holder() -> Callable[[], str]:
    secret = SECRET

    def today() -> str:  # a domain function: a closure over a secret, with module globals behind it
        return "2026-12-02" if secret else ""

    return today


FUNCTIONS = {"today": _secret_holder()}


def data() -> dict[str, Any]:
    return {"x": "abc", "n": 3, "items": [1, 2, 3], "d": {"k": "v", "nested": {"a": [1, {"b": 2}]}},
            "acceptance": {"decision": "accept"}}


def run(source: str, mode: str = "eval", values: dict[str, Any] | None = None, limits: Limits = DEFAULT_LIMITS) -> Any:
    values = data() if values is None else values
    if mode == "eval":
        return evaluate(source, values, functions=FUNCTIONS, limits=limits)
    execute(source, values, functions=FUNCTIONS, limits=limits)
    return values


def finishes(action: Callable[[], Any], seconds: float = 60.0) -> Any:
    """Run `action` in a thread and fail the test (instead of hanging the suite) if it does not return."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = action()
        except BaseException as exc:  # noqa: BLE001 — handed back to the test
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "the evaluation did not end"
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


# --- what it can do ---------------------------------------------------------------------------------------------

PYTHON_LIKE = [
    "acceptance['decision'] == 'accept' and len([1, 2]) == 2",
    "n * 2 + 1 - 3 / 2 // 1 % 5 ** 2",
    "-n + +n",
    "not n or x",
    "1 < n <= 3 != 4",
    "'b' in x and 2 in items and 'k' in d and 7 not in items",
    "x if n > 2 else 'small'",
    "items[0] + items[-1] + len(items[1:]) + len(x[::-1])",
    "d['nested']['a'][1]['b']",
    "[i * i for i in items if i % 2]",
    "{k: v for k, v in d.items() if k == 'k'}",
    "sum(i for i in range(10))",
    "sorted([3, 1, 2], reverse=True)",
    "max(items) + min(4, 5) + abs(-2) + round(2.567, 2)",
    "any(i > 2 for i in items) and all(items)",
    "list(enumerate(x)) == [(0, 'a'), (1, 'b'), (2, 'c')]",
    "list(zip(items, x))",
    "dict(a=1, b=[2])",
    "str(d) + str(3) + str(None)",
    "int('42') + float('1.5') + int(2.9)",
    "f'{x!r}-{n:03d}-{3.14159:.2f}-{x:>6}'",
    "x.upper().strip('A') + ' a b '.split()[1] + '-'.join(['p', 'q']) + x.replace('b', 'B')",
    "x.startswith(('a', 'z')) and x.endswith('c') and x.find('c') == 2 and x.isalpha()",
    "d.get('missing', 'default') + str(list(d.keys()))",
    "items.index(2) + items.count(3) + (1, 2).count(2)",
    "tuple(items) + (4,)",
    "[[0] * 2] * 2",
    "bool([]) or bool('x')",
    "x * 2 + '|' * 3",
    "1 if acceptance.get('decision') == 'accept' else 0",
]


@pytest.mark.parametrize("source", PYTHON_LIKE)
def test_allowed_expressions_give_what_python_gives(source: str) -> None:
    expected = eval(source, {}, data())  # noqa: S307 — the reference semantics, on our own constant sources
    expected = [list(item) if isinstance(item, tuple) else item for item in expected] \
        if isinstance(expected, list) else list(expected) if isinstance(expected, tuple) else expected
    assert run(source) == expected


def test_scripts_set_task_data_like_python() -> None:
    script = """
total = 0
names = []
for i, item in enumerate(items):
    if item == 2:
        continue
    total += item * i
    names.append(f'item{i}')
else:
    finished = True
for c in x:
    if c == 'b':
        break
d['k'] = d['k'] + '!'
d['new'] = [1, (2, 3)]
items += [4]
items[0] = 10
del d['nested']
first, second = 'ab'
pair = (first, second)
"""
    values = run(script, "exec")
    assert values["total"] == 0 * 1 + 3 * 2
    assert values["names"] == ["item0", "item2"]
    assert values["finished"] is True and values["c"] == "b"
    assert values["d"] == {"k": "v!", "new": [1, (2, 3)]}
    assert values["items"] == [10, 2, 3, 4]
    assert values["pair"] == ["a", "b"]  # stored as it will be saved: a tuple becomes a list
    assert "i" in values and "item" in values  # loop variables stay, as in Python


def test_the_bundled_kind_of_script_runs_with_domain_functions() -> None:
    values = run("deadline = {'due': today(), 'days': n}", "exec")
    assert values["deadline"] == {"due": "2026-12-02", "days": 3}


def test_a_value_put_into_a_container_is_a_copy() -> None:
    values = run("row = [0]\ngrid = [row, row]\nrow.append(1)\nlater = [row] * 2\nlater[0].append(2)", "exec")
    assert values["grid"] == [[0], [0]]  # not aliases of row: no structure grows by sharing
    assert values["later"] == [[0, 1, 2], [0, 1]]


def test_names_and_subscripts_still_reach_the_data_itself() -> None:
    values = run("inner = d['nested']\ninner['a'] = 'changed'", "exec")
    assert values["d"]["nested"]["a"] == "changed"


# --- what it refuses, and why -----------------------------------------------------------------------------------

REFUSED = {
    "import os": "导入模块",
    "from os import path": "导入模块",
    "def f():\n    pass": "定义函数",
    "f = lambda: 1": "lambda",
    "class A:\n    pass": "定义类",
    "while True:\n    pass": "while",
    "try:\n    x = 1\nexcept Exception:\n    pass": "try",
    "with x:\n    pass": "with",
    "raise ValueError()": "raise",
    "assert x": "assert",
    "global x": "global",
    "match x:\n    case str(format=f):\n        y = f": "match",
    "y = (z := 1)": ":=",
    "y = {1, 2}": "集合",
    "y = x.__class__": "下划线",
    "y = _secret": "下划线",
    "y = x.upper": "属性",
    "y = x.format(1)": "f-string",
    "len = 1": "函数名",
    "x.attr = 1": "属性",
    "y = [*items]": "星号",
    "y = f(**d)": "**",
    "y = 1 << 2": "移位",
    "y = b'bytes'": "字节串",
    "break": "for 循环",
    "y = 1j": "复数",
}


@pytest.mark.parametrize("source", sorted(REFUSED))
def test_syntax_outside_the_language_is_refused_with_a_reason(source: str) -> None:
    found = problems(source, "exec")
    assert found and any(REFUSED[source] in problem for problem in found), found
    with pytest.raises(ExpressionNotAllowed):
        run(source, "exec")


def test_refusals_do_not_pile_up_inside_a_refused_construct() -> None:
    assert problems("import os", "exec") == ("不允许导入模块（import）",)


def test_source_size_and_nesting_are_bounded() -> None:
    assert "过长" in problems("x" * 20_001, "eval")[0]
    assert "嵌套过深" in problems("(" * 60 + "1" + ")" * 60 + " + " + "-" * 100 + "1", "eval")[0]
    assert "嵌套过深" in problems("1" + " + 1" * 4_000, "eval")[0]
    assert "空字符" in problems("x\x00", "eval")[0]


@pytest.mark.parametrize(("source", "reason"), [
    ("missing + 1", "未定义"),
    ("today", "是函数"),
    ("x + 1", "不能对文本和整数使用运算符 +"),
    ("d['nope']", "字典中没有键 'nope'"),
    ("items[10]", "超出范围"),
    ("items < x", "不能比较"),
    ("sorted([1, 'a'])", "只能比较数字与数字"),
    ("1 / 0", "除数为零"),
    ("x % 3", "f-string"),
    ("open('/etc/passwd')", "没有名为“open”的函数"),
    ("type(x)", "没有名为“type”的函数"),
    ("n.upper()", "整数没有方法 upper"),
    ("[1] in d", "字典的键只能是"),
    ("float('nan')", "无法把文本“nan”转换为小数"),
    ("float('1e999')", "不是有限数"),
    ("2.0 ** 100000", "超出小数的表示范围"),
    ("len(range(10 ** 20))", "range 范围过大"),
    ("int('9' * 5000)", "文本过长"),
    ("f'{d:>5}'", "不能按格式"),
    ("len(1, 2)", "参数个数"),
    ("today(1)", "参数个数"),
])
def test_failures_on_the_data_say_what_was_wrong_in_chinese(source: str, reason: str) -> None:
    with pytest.raises(ExpressionFailed) as caught:
        run(source)
    assert reason in str(caught.value)


def test_what_leaves_a_script_must_be_storable() -> None:
    with pytest.raises(ExpressionFailed, match="键必须是文本"):
        run("y = {1: 'a'}", "exec")
    with pytest.raises(ExpressionFailed, match="键必须是文本"):
        run("d[1] = 'a'", "exec")
    assert run("y = range(3)\nz = d.keys()", "exec")["y"] == [0, 1, 2]
    assert run("z = d.keys()", "exec")["z"] == ["k", "nested"]


# --- nothing reaches the host -----------------------------------------------------------------------------------

ESCAPES = [
    # the reported escape: a class pattern's keyword names an attribute the check never saw, then str.format
    "match today:\n    case str(format=f):\n        leak = f('{0.__globals__}', today)",
    "leak = '{0.__globals__[load_settings].__globals__[os].environ}'.format(today)",
    "leak = x.format_map(d)",
    "leak = today.__closure__[0].cell_contents",
    "leak = today.__globals__",
    "leak = ().__class__.__mro__[1].__subclasses__()",
    "leak = [c for c in ().__class__.__base__.__subclasses__()]",
    "leak = getattr(today, '__globals__')",
    "leak = vars(today)",
    "leak = dir()",
    "leak = globals()",
    "leak = locals()",
    "leak = eval('1')",
    "leak = exec('1')",
    "leak = compile('1', 'x', 'eval')",
    "leak = __import__('os').environ",
    "leak = __builtins__",
    "leak = breakpoint()",
    "leak = open('/etc/passwd')",
    "leak = help(x)",
    "leak = object.__subclasses__()",
    "leak = type(today)",
    "leak = today.func_globals",
    "leak = (g for g in items).gi_frame.f_globals",
    "leak = f'{today.__globals__}'",
    "leak = f'{today!a}'",
    "leak = f'{x:{today}}'",
    "leak = d.keys().mapping",
    "leak = enumerate(items).__reduce__()",
    "leak = x.__add__",
    "leak = items.__setitem__",
    "leak = [].__class__",
    "leak = today",
    "leak = str(today)",
    "leak = [today]",
    "leak = {'f': today}",
    "leak = today.__code__.co_consts",
    "leak = sorted(items, key=len)",
]


@pytest.mark.parametrize("source", ESCAPES)
def test_no_route_to_the_interpreter_or_the_host(source: str) -> None:
    os.environ["BEIAN_TEST_CANARY"] = SECRET
    values = data()
    with pytest.raises(ExpressionError):
        execute(source, values, functions=FUNCTIONS)
    assert "leak" not in values
    assert SECRET not in repr(values)


def test_the_spiff_environment_refuses_the_same() -> None:
    environment = RestrictedEnvironment(FUNCTIONS)
    with pytest.raises(ExpressionNotAllowed, match="match"):
        environment.execute("match x:\n    case str(format=f):\n        y = f", data())
    with pytest.raises(ExpressionFailed, match="表达式“d\\['nope'\\]”：字典中没有键"):
        environment.evaluate("d['nope']", data())


def test_a_domain_function_returning_a_host_object_is_refused() -> None:
    with pytest.raises(ExpressionFailed, match="不支持的类型"):
        evaluate("leak()", {}, functions={"leak": lambda: object()})
    with pytest.raises(ExpressionFailed, match="不支持的类型"):
        evaluate("leak()", {}, functions={"leak": lambda: {"a": [object()]}})


def test_a_host_object_in_the_data_cannot_be_used() -> None:
    with pytest.raises(ExpressionFailed, match="不能在表达式中使用"):
        evaluate("thing", {"thing": threading.Lock()})


# --- nothing runs forever or takes unbounded memory -------------------------------------------------------------

ENDLESS_OR_HUGE = [
    ("eval", "10 ** 10 ** 10"),
    ("eval", "'a' * 10 ** 10"),
    ("eval", "[0] * 10 ** 10"),
    ("eval", "sum(range(10 ** 12))"),
    ("eval", "len([i for i in range(10 ** 9)])"),
    ("eval", "sorted(range(10 ** 8))"),
    ("eval", "max(range(10 ** 12))"),
    ("eval", "any(i < 0 for i in range(10 ** 12))"),
    ("eval", "str(list(range(10 ** 6)))"),
    ("eval", "f'{1:>1000000000}'"),
    ("eval", "'x'.center(10 ** 9)"),
    ("eval", "'x'.zfill(10 ** 9)"),
    ("eval", "'ab'.replace('', 'x' * 1000) * 1000"),
    ("eval", "'-'.join(['a' * 100000] * 100000)"),
    ("eval", "(2 ** 4000) * (2 ** 4000)"),
    ("eval", "int('9' * 1200) ** 3"),
    ("eval", "str([[[1] * 1000] * 1000] * 1000)"),
    ("exec", "for i in range(10 ** 12):\n    pass"),
    ("exec", "x = [1]\nfor i in range(100):\n    x = [x, x]"),
    ("exec", "x = 'ab'\nfor i in range(100):\n    x = x + x"),
    ("exec", "a = []\nfor i in range(10 ** 6):\n    a.append(a)"),
    ("exec", "a = [1]\nfor i in range(10 ** 6):\n    a += a"),
    ("exec", "d = {}\nfor i in range(10 ** 7):\n    d[str(i)] = i"),
    ("exec", "for i in range(10 ** 4):\n    for j in range(10 ** 4):\n        k = i * j"),
    ("exec", "x = 2\nfor i in range(100):\n    x = x * x"),
    ("exec", "items.extend(range(10 ** 9))"),
    ("exec", "s = 'a'\nfor i in range(10 ** 6):\n    s = s + str(d)"),
    ("eval", "[x for a in range(1000) for b in range(1000) for c in range(1000)]"),
]


@pytest.mark.parametrize(("mode", "source"), ENDLESS_OR_HUGE)
def test_endless_and_huge_expressions_stop_at_their_limits(mode: str, source: str) -> None:
    with pytest.raises(ExpressionLimitExceeded) as caught:
        finishes(lambda: run(source, mode))
    assert "超出" in str(caught.value)


@pytest.mark.parametrize(("mode", "source"), ENDLESS_OR_HUGE)
def test_the_deployment_check_proves_the_data_free_ones_fail(mode: str, source: str) -> None:
    reads_data = any(name in source for name in ("items", "d[", "str(d)", "x for", "x = [x"))
    if not reads_data:
        assert finishes(lambda: proven_failures(source, mode)), source


def test_a_loop_over_data_with_a_constant_count_is_proven_too() -> None:
    assert "循环" in proven_failures("for i in range(10 ** 12):\n    total = total + items[0]", "exec")[0]
    assert proven_failures("for i in range(len(items) * 10 ** 12):\n    pass", "exec") == ()  # data decides


def test_the_time_limit_backs_up_the_step_count() -> None:
    limits = Limits(max_steps=10 ** 12, max_seconds=0.2)
    with pytest.raises(ExpressionLimitExceeded, match="计算时间超过 0.2 秒"):
        finishes(lambda: run("for i in range(10 ** 12):\n    pass", "exec", limits=limits))


def test_a_slow_domain_function_counts_against_the_wall_clock_limit() -> None:
    import time

    def slow() -> str:
        time.sleep(0.3)
        return "done"

    with pytest.raises(ExpressionLimitExceeded, match="含等待）超过 0.1 秒"):
        evaluate("slow()", {}, functions={"slow": slow}, limits=Limits(max_wall_seconds=0.1))


def test_waiting_is_not_counted_as_computing() -> None:
    """A busy machine (the thread waiting for a core) must not fail a case: CPU time is what the 1 s limit counts."""
    import time

    def slow() -> str:
        time.sleep(0.3)
        return "done"

    assert evaluate("slow()", {}, functions={"slow": slow}, limits=Limits(max_seconds=0.1)) == "done"


def test_a_domain_functions_own_computing_is_not_the_expressions() -> None:
    """A documented function is trusted host code with bounds of its own (loading the calendar on a step's first
    use, say): its CPU time moves the expression's CPU deadline on, while the wall clock still counts it."""
    import time

    def busy() -> str:
        until = time.thread_time() + 0.3
        while time.thread_time() < until:
            pass
        return "done"

    assert evaluate("busy()", {}, functions={"busy": busy}, limits=Limits(max_seconds=0.1)) == "done"
    with pytest.raises(ExpressionLimitExceeded, match="含等待）超过 0.1 秒"):
        evaluate("busy()", {}, functions={"busy": busy}, limits=Limits(max_wall_seconds=0.1))
    with pytest.raises(ExpressionLimitExceeded, match="计算时间超过 0.2 秒"):  # the expression's own loop still counts
        finishes(lambda: execute("for i in range(10 ** 12):\n    x = busy()", {}, functions={"busy": lambda: "x"},
                                 limits=Limits(max_steps=10 ** 12, max_seconds=0.2)))


def test_garbage_collection_in_the_middle_is_not_the_expressions_computing() -> None:
    """A full collection in a process holding much can take a second; it runs in whichever thread allocates, so it
    would be charged to the expression that happened to be running (a case failed at random under load)."""
    import gc
    import time

    from workflows.expressions.limits import Meter

    def slow_collection(phase: str, _info: dict[str, int]) -> None:
        if phase == "stop":  # before the meter's own callback measures the collection's end
            until = time.thread_time() + 0.3
            while time.thread_time() < until:
                pass

    meter = Meter(Limits(max_seconds=0.2))
    gc.callbacks.insert(0, slow_collection)
    try:
        gc.collect()
    finally:
        gc.callbacks.remove(slow_collection)
    meter.check_clock()  # the collection's 0.3 s are not the expression's
    until = time.thread_time() + 0.3
    while time.thread_time() < until:
        pass
    with pytest.raises(ExpressionLimitExceeded, match="计算时间超过 0.2 秒"):  # the expression's own time still counts
        meter.check_clock()


def test_limits_leave_ordinary_work_alone() -> None:
    values = run("rows = [{'i': i, 'name': f'第{i}项'} for i in range(2000)]\ntotal = sum(r['i'] for r in rows)",
                 "exec")
    assert values["total"] == sum(range(2000)) and len(values["rows"]) == 2000


def test_the_documented_example_script_runs_on_the_example_application() -> None:
    import json
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    script = re.search(r"```python\n(.*?)```", (root / "docs" / "expressions.md").read_text(encoding="utf-8"),
                       re.S).group(1)
    assert problems(script, "exec") == ()
    values = {"application": json.loads((root / "examples" / "application.json").read_text(encoding="utf-8")),
              "received_at": "2026-09-24T10:00:00+08:00", "region": {"acceptance_days": 10}}
    functions = {"within_working_days": lambda start, days: {"due": "2026-10-16T00:00:00+08:00", "days": days}}
    execute(script, values, functions=functions)
    assert values["summary"] == "考评人员齐备" and values["missing"] == [] and "assessors" not in values
    assert values["application"]["checked"] is True


def test_no_workflow_object_ever_has_spiffworkflows_python_engine() -> None:
    """SpiffWorkflow's default engine is eval/exec with full builtins: a restored or new workflow starts with ours."""
    from pathlib import Path

    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

    from workflows.definitions import parse_definition, read_source
    from workflows.expressions import DATA_ONLY_ENGINE
    from workflows.state import dump_state, load_state

    source = read_source(Path(__file__).resolve().parents[2] / "bpmn" / "filing_application.bpmn")
    definition = parse_definition(source.process_id, source.bpmn_xml, source.file_name, source.forms)
    restored = load_state(dump_state(BpmnWorkflow(definition.spec, definition.subprocess_specs)).text, definition.spec,
                          definition.subprocess_specs)
    assert restored.script_engine is DATA_ONLY_ENGINE
    with pytest.raises(ExpressionError):
        restored.script_engine.environment.evaluate("__import__('os')", {})
