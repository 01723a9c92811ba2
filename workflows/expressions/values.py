"""The values an expression can hold: plain data, nothing else.

None, booleans, integers, finite floats, strings, lists, tuples and dicts — what JSON task data is made of — and,
only while an expression runs, the iterables `range(…)`, `enumerate(…)`, `zip(…)` and a dict's `keys()`, `values()`
and `items()`, which become lists when stored. Every operation of the interpreter checks the exact type of its
operands against these, so no other Python object, and none of its attributes, is reachable.

Every list, tuple or dict an expression makes is made of copies of its elements (`copy_in`), charged to the meter,
so every container is a tree: none holds the same list twice and grows by aliasing (`[x] * 1000` of a big `x` costs
what it would cost to write out), and none contains itself. Iterables yield references without copying, so a loop
over a big list costs nothing extra; what it builds is copied.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from workflows.expressions.limits import ExpressionFailed, ExpressionLimitExceeded, Meter


class Lazy:
    """The one-shot iterable `enumerate(…)` or `zip(…)` returns: it yields tuples of references, built on demand."""

    __slots__ = ("_iterator", "label")

    def __init__(self, iterator: Iterator[Any], label: str) -> None:
        self._iterator = iterator
        self.label = label

    def __iter__(self) -> Iterator[Any]:
        return self._iterator


SCALARS: tuple[type, ...] = (type(None), bool, int, float, str)
VIEWS: tuple[type, ...] = (type({}.keys()), type({}.values()), type({}.items()))
ITERABLES: tuple[type, ...] = (range, Lazy, *VIEWS)  # exist only while an expression runs
PLAIN: frozenset[type] = frozenset((*SCALARS, list, tuple, dict, *ITERABLES))
NUMBERS: tuple[type, ...] = (bool, int, float)

_TYPE_NAMES = {type(None): "空值 None", bool: "布尔值", int: "整数", float: "小数", str: "文本", list: "列表",
               tuple: "元组", dict: "字典", range: "range 范围", Lazy: "迭代器", VIEWS[0]: "字典的键",
               VIEWS[1]: "字典的值", VIEWS[2]: "字典的键值对"}


def type_name(value: Any) -> str:
    return _TYPE_NAMES.get(type(value), f"不支持的类型（{type(value).__name__}）")


def require_plain(value: Any, what: str) -> Any:
    """`value` itself if it is of a plain type (checked at the top only: what it holds is checked when reached)."""
    if type(value) not in PLAIN:
        raise ExpressionFailed(f"{what}的类型不能在表达式中使用：{type_name(value)}")
    return value


def is_number(value: Any) -> bool:
    return type(value) in NUMBERS


def finite(value: float) -> float:
    if not math.isfinite(value):
        raise ExpressionFailed("计算结果不是有限数（溢出或无穷大），不能使用")
    return value


def hashable_key(key: Any) -> Any:
    """A key looked up in a dict (`d[k]`, `k in d`, `d.get(k)`): a scalar; lists and dicts cannot be keys."""
    if type(key) not in SCALARS:
        raise ExpressionFailed(f"字典的键只能是文本，不能是{type_name(key)}")
    return key


def dict_key(key: Any) -> str:
    """A key put into a dict: text, as in the JSON the case's data is saved as (a number would come back as text)."""
    if type(key) is not str:
        raise ExpressionFailed(f"字典的键必须是文本，不能是{type_name(key)}（{key!r}）；数字请写成 str(…)")
    return key


def copy_in(value: Any, meter: Meter, depth: int = 0) -> Any:
    """The copy of `value` that goes into a container: scalars as they are, containers deeply copied and charged."""
    kind = type(value)
    if kind in SCALARS:
        return value
    if depth >= meter.limits.max_depth:
        raise ExpressionLimitExceeded(f"超出限制：列表或字典嵌套超过 {meter.limits.max_depth} 层")
    if kind is list or kind is tuple:
        meter.items(len(value))
        meter.step(len(value))
        copied = [copy_in(item, meter, depth + 1) for item in value]
        return copied if kind is list else tuple(copied)
    if kind is dict:
        meter.items(len(value))
        meter.step(len(value))
        return {dict_key(key): copy_in(item, meter, depth + 1) for key, item in value.items()}
    if kind in ITERABLES:
        return materialise(value, meter, depth)
    raise ExpressionFailed(f"不支持的类型：{type_name(value)}")


def materialise(iterable: Any, meter: Meter, depth: int = 0) -> list[Any]:
    """A list of copies of what an iterable yields (`list(range(3))`, a stored `d.keys()`), charged as it grows."""
    kind = type(iterable)
    if kind is not Lazy:
        try:
            meter.items(len(iterable))
        except OverflowError:
            raise ExpressionFailed("range 范围过大") from None
    result: list[Any] = []
    try:
        for item in iterable:
            meter.step()
            result.append(copy_in(item, meter, depth + 1))
            if kind is Lazy and len(result) % 1024 == 0:
                meter.items(len(result))
    except RuntimeError:
        raise ExpressionFailed("遍历字典时不能增删它的键") from None
    if kind is Lazy:
        meter.items(len(result))
    return result


def render(value: Any, meter: Meter, quoted: bool = False) -> str:
    """`str(value)` (or `repr` when `quoted`) as Python writes it, refused as soon as it would pass the string limit:
    a container is written element by element, never handed to Python's own repr in one piece."""
    kind = type(value)
    if kind is str:
        text = repr(value) if quoted else value
        meter.string(len(text))
        return text
    if kind in SCALARS:
        text = repr(value)
        meter.string(len(text))
        return text
    if kind in ITERABLES:
        return render(materialise(value, meter), meter, quoted)
    parts: list[str] = []
    budget = [meter.limits.max_string]

    def write(text: str) -> None:
        budget[0] -= len(text)
        if budget[0] < 0:
            raise ExpressionLimitExceeded(f"超出内存限制：转换成的文本超过 {meter.limits.max_string:,} 个字符")
        parts.append(text)

    def walk(item: Any, depth: int) -> None:
        meter.step()
        if depth > meter.limits.max_depth:
            raise ExpressionLimitExceeded(f"超出限制：列表或字典嵌套超过 {meter.limits.max_depth} 层")
        item_kind = type(item)
        if item_kind in SCALARS:
            write(repr(item))
        elif item_kind is list or item_kind is tuple:
            write("[" if item_kind is list else "(")
            for index, element in enumerate(item):
                if index:
                    write(", ")
                walk(element, depth + 1)
            write("]" if item_kind is list else ("," if len(item) == 1 else "") + ")")
        elif item_kind is dict:
            write("{")
            for index, (key, element) in enumerate(item.items()):
                if index:
                    write(", ")
                walk(key, depth + 1)
                write(": ")
                walk(element, depth + 1)
            write("}")
        else:
            raise ExpressionFailed(f"不支持的类型：{type_name(item)}")

    walk(value, 0)
    text = "".join(parts)
    meter.string(len(text))
    return text


def storable(value: Any, meter: Meter, what: str) -> Any:
    """Check a value leaving the interpreter (an expression's result, a variable a script set): plain data only,
    dict keys as text, within the limits; tuples become lists, as they would in the case's saved data."""
    seen = [0]
    limit = meter.limits.max_result_nodes

    def walk(item: Any, depth: int) -> Any:
        seen[0] += 1
        if seen[0] > limit:
            raise ExpressionLimitExceeded(f"超出内存限制：{what}包含的数据超过 {limit:,} 项")
        kind = type(item)
        if kind in SCALARS:
            if kind is float:
                finite(item)
            return item
        if depth > meter.limits.max_depth:
            raise ExpressionLimitExceeded(f"超出限制：{what}中的列表或字典嵌套超过 {meter.limits.max_depth} 层")
        if kind is list or kind is tuple:
            converted = [walk(element, depth + 1) for element in item]
            if kind is list and all(new is old for new, old in zip(converted, item, strict=True)):
                return item
            return converted
        if kind is dict:
            result: dict[Any, Any] = {}
            changed = False
            for key, element in item.items():
                if type(key) is not str:
                    raise ExpressionFailed(
                        f"{what}是要保存的数据，其中字典的键必须是文本，不能是{type_name(key)}（{key!r}）")
                new = walk(element, depth + 1)
                changed = changed or new is not element
                result[key] = new
            return result if changed else item
        if kind in ITERABLES:
            return walk(materialise(item, meter), depth)
        raise ExpressionFailed(f"{what}的类型不能保存：{type_name(item)}")

    try:
        return walk(value, 0)
    except RecursionError:
        raise ExpressionLimitExceeded(f"超出限制：{what}嵌套过深") from None


def shallow_size(value: Any) -> int:
    """Steps a C-level walk over `value` costs (its length; 1 for a scalar)."""
    kind = type(value)
    if kind in SCALARS:
        return 1 + (len(value) // 64 if kind is str else 0)
    if kind is Lazy:
        return 1
    try:
        return 1 + len(value)
    except OverflowError:  # a range longer than sys.maxsize
        return 1 << 62

