"""The functions and methods an expression may call, each written against the meter.

Builtins are a short list of Python's (`len`, `sum`, `sorted`, …) and methods a table per type (`text.strip()`,
`items.append(x)`, `data.get('k')`): a call is looked up in these tables, never on the object itself, so a name
that is not here does not exist, whatever the value. Every function that walks its argument charges a step per
element first, and every function that makes a value charges its size before making it.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable, Iterator
from typing import Any

from workflows.expressions.arithmetic import BINARY
from workflows.expressions.limits import ExpressionFailed, ExpressionLimitExceeded, Meter
from workflows.expressions.values import (
    ITERABLES,
    NUMBERS,
    SCALARS,
    VIEWS,
    Lazy,
    copy_in,
    dict_key,
    finite,
    hashable_key,
    materialise,
    render,
    type_name,
)

Function = Callable[..., Any]  # (meter, *args, **kwargs) -> value


def iterate(value: Any, meter: Meter) -> Iterator[Any]:
    """What a `for` loop or a function walks: a string's characters, a list's items, a dict's keys, …"""
    kind = type(value)
    if kind is dict:
        value = list(value)  # a loop may change the dict it walks; it walks the keys as they were
    elif kind not in (str, list, tuple) and kind not in ITERABLES:
        raise ExpressionFailed(f"{type_name(value)}不能逐项遍历")
    try:
        for item in value:
            meter.step()
            yield item
    except RuntimeError:
        raise ExpressionFailed("遍历字典时不能增删它的键") from None


def _known_length(value: Any, meter: Meter) -> None:
    """Charge a walk over `value` before it starts, when its length is known (so `sum(range(10 ** 12))` stops at
    once instead of after the allowance)."""
    if type(value) is not Lazy and type(value) in (str, list, tuple, dict, *ITERABLES):
        try:
            meter.step(len(value))
        except OverflowError:
            raise ExpressionFailed("range 范围过大") from None


def _scalars(values: list[Any], what: str) -> list[Any]:
    """Values that can be ordered: all numbers, or all text."""
    if all(type(v) in NUMBERS for v in values) or all(type(v) is str for v in values):
        return values
    kinds = "、".join(sorted({type_name(v) for v in values}))
    raise ExpressionFailed(f"{what}只能比较数字与数字、文本与文本（这里有：{kinds}）")


# --- builtins -----------------------------------------------------------------------------------------------------


def _len(meter: Meter, value: Any) -> int:
    if type(value) in (str, list, tuple, dict, range, *VIEWS):
        try:
            return len(value)
        except OverflowError:
            raise ExpressionFailed("range 范围过大") from None
    raise ExpressionFailed(f"{type_name(value)}没有长度（len）")


def _abs(meter: Meter, value: Any) -> Any:
    if type(value) not in NUMBERS:
        raise ExpressionFailed(f"不能对{type_name(value)}取绝对值")
    return abs(value)


def _round(meter: Meter, value: Any, ndigits: Any = None) -> Any:
    if type(value) not in NUMBERS:
        raise ExpressionFailed(f"不能对{type_name(value)}四舍五入")
    if ndigits is None:
        return round(value)
    if type(ndigits) is not int or not -30 <= ndigits <= 30:
        raise ExpressionFailed("round 的小数位数必须是 -30 到 30 之间的整数")
    return round(value, ndigits)


def _int(meter: Meter, value: Any = 0) -> int:
    kind = type(value)
    if kind is str:
        if len(value) > 1200:
            raise ExpressionFailed("文本过长，不能转换为整数")
        try:
            result = int(value)
        except ValueError:
            raise ExpressionFailed(f"无法把文本“{value[:40]}”转换为整数") from None
        meter.integer_bits(result.bit_length())
        return result
    if kind in NUMBERS:
        return int(value)
    raise ExpressionFailed(f"不能把{type_name(value)}转换为整数")


def _float(meter: Meter, value: Any = 0.0) -> float:
    kind = type(value)
    if kind is str:
        if len(value) > 1200:
            raise ExpressionFailed("文本过长，不能转换为小数")
        try:
            result = float(value)
        except ValueError:
            raise ExpressionFailed(f"无法把文本“{value[:40]}”转换为小数") from None
        if value.strip().lower().lstrip("+-") in ("nan", "inf", "infinity"):
            raise ExpressionFailed(f"无法把文本“{value[:40]}”转换为小数")
        return finite(result)
    if kind in NUMBERS:
        try:
            return float(value)
        except OverflowError:
            raise ExpressionFailed("整数过大，不能转换为小数") from None
    raise ExpressionFailed(f"不能把{type_name(value)}转换为小数")


def _str(meter: Meter, value: Any = "") -> str:
    return render(value, meter)


def _bool(meter: Meter, value: Any = False) -> bool:
    return bool(value)


def _list(meter: Meter, iterable: Any = ()) -> list[Any]:
    kind = type(iterable)
    if kind is str:
        meter.items(len(iterable))
        return list(iterable)
    if kind is dict:
        iterable = iterable.keys()
    elif kind not in (list, tuple) and kind not in ITERABLES:
        raise ExpressionFailed(f"{type_name(iterable)}不能逐项遍历")
    return materialise(iterable, meter)


def _tuple(meter: Meter, iterable: Any = ()) -> tuple[Any, ...]:
    return tuple(_list(meter, iterable))


def _dict(meter: Meter, source: Any = None, **named: Any) -> dict[Any, Any]:
    result: dict[Any, Any] = {}
    if type(source) is dict:
        meter.items(len(source) + len(named))
        result = {dict_key(key): copy_in(value, meter) for key, value in source.items()}
    elif source is not None:
        for pair in iterate(source, meter):
            if type(pair) not in (list, tuple) or len(pair) != 2:
                raise ExpressionFailed("dict(…) 需要由“键, 值”两项组成的列表")
            result[dict_key(pair[0])] = copy_in(pair[1], meter)
            meter.items(len(result))
    meter.items(len(result) + len(named))
    result.update({key: copy_in(value, meter) for key, value in named.items()})
    return result


def _range(meter: Meter, *bounds: Any) -> range:
    if not 1 <= len(bounds) <= 3 or any(type(b) not in (bool, int) for b in bounds):
        raise ExpressionFailed("range(…) 需要 1 到 3 个整数")
    if len(bounds) == 3 and bounds[2] == 0:
        raise ExpressionFailed("range 的步长不能为 0")
    return range(*bounds)


def _enumerate(meter: Meter, iterable: Any, start: Any = 0) -> Lazy:
    if type(start) not in (bool, int):
        raise ExpressionFailed("enumerate 的起始编号必须是整数")
    return Lazy(((start + index, item) for index, item in enumerate(iterate(iterable, meter))), "enumerate")


def _zip(meter: Meter, *iterables: Any) -> Lazy:
    return Lazy(zip(*(iterate(iterable, meter) for iterable in iterables), strict=False), "zip")


def _sum(meter: Meter, iterable: Any, start: Any = 0) -> Any:
    _known_length(iterable, meter)
    total = start
    for item in iterate(iterable, meter):
        if type(item) not in NUMBERS:
            raise ExpressionFailed(f"sum 只能对数字求和，不能加{type_name(item)}")
        total = BINARY[ast.Add](total, item, meter)
    return total


def _extreme(name: str, pick: Callable[..., Any]) -> Function:
    def extreme(meter: Meter, *values: Any, default: Any = ...) -> Any:
        if len(values) == 1:
            _known_length(values[0], meter)
            values = tuple(iterate(values[0], meter))
        if not values:
            if default is ...:
                raise ExpressionFailed(f"{name}(…) 的参数为空，且没有给出 default")
            return default
        return pick(_scalars(list(values), name))

    return extreme


def _sorted(meter: Meter, iterable: Any, reverse: Any = False) -> list[Any]:
    _known_length(iterable, meter)
    values = _scalars(list(iterate(iterable, meter)), "sorted")
    meter.items(len(values))
    meter.step(len(values) * max(1, math.ceil(math.log2(len(values) + 1))))
    return sorted(values, reverse=bool(reverse))


def _any(meter: Meter, iterable: Any) -> bool:
    return any(bool(item) for item in iterate(iterable, meter))


def _all(meter: Meter, iterable: Any) -> bool:
    return all(bool(item) for item in iterate(iterable, meter))


BUILTINS: dict[str, Function] = {
    "abs": _abs, "all": _all, "any": _any, "bool": _bool, "dict": _dict, "enumerate": _enumerate, "float": _float,
    "int": _int, "len": _len, "list": _list, "max": _extreme("max", max), "min": _extreme("min", min),
    "range": _range, "round": _round, "sorted": _sorted, "str": _str, "sum": _sum, "tuple": _tuple, "zip": _zip,
}

# --- methods ------------------------------------------------------------------------------------------------------


def _text(value: Any, what: str) -> str:
    if type(value) is not str:
        raise ExpressionFailed(f"{what}必须是文本，不能是{type_name(value)}")
    return value


def _index(value: Any, what: str) -> int:
    if type(value) not in (bool, int):
        raise ExpressionFailed(f"{what}必须是整数，不能是{type_name(value)}")
    return int(value)


def _str_result(function: Callable[..., str]) -> Function:
    """A string method whose result can be longer than its input (case changes in some scripts): checked after."""
    def method(meter: Meter, text: str, *args: Any) -> str:
        for arg in args:
            if arg is not None:
                _text(arg, "参数")
        meter.step(1 + len(text) // 256)
        result = function(text, *args)
        meter.string(len(result))
        return result

    return method


def _str_query(function: Callable[..., Any]) -> Function:
    def method(meter: Meter, text: str, *args: Any) -> Any:
        meter.step(1 + len(text) // 256)
        return function(text, *args)

    return method


def _affix_test(function: Callable[[str, Any], bool]) -> Function:
    def method(meter: Meter, text: str, affix: Any) -> bool:
        if type(affix) is tuple:
            affix = tuple(_text(a, "前缀或后缀") for a in affix)
        else:
            _text(affix, "前缀或后缀")
        return function(text, affix)

    return method


def _search(function: Callable[..., int]) -> Function:
    def method(meter: Meter, text: str, sub: Any, *bounds: Any) -> int:
        _text(sub, "要查找的内容")
        meter.step(1 + len(text) // 64)
        return function(text, sub, *(_index(b, "位置") if b is not None else None for b in bounds))

    return method


def _replace(meter: Meter, text: str, old: Any, new: Any, count: Any = -1) -> str:
    _text(old, "被替换的内容")
    _text(new, "替换成的内容")
    count = _index(count, "替换次数")
    meter.step(1 + len(text) // 64)
    found = len(text) + 1 if old == "" else text.count(old)
    if count >= 0:
        found = min(found, count)
    meter.string(len(text) + found * (len(new) - len(old)))
    return text.replace(old, new, count)


def _split(method_name: str) -> Function:
    def method(meter: Meter, text: str, sep: Any = None, maxsplit: Any = -1) -> list[str]:
        if sep is not None and _text(sep, "分隔符") == "":
            raise ExpressionFailed("分隔符不能为空文本")
        maxsplit = _index(maxsplit, "最多分割次数")
        if len(text) > meter.limits.max_string:
            raise ExpressionLimitExceeded(f"超出内存限制：要分割的文本超过 {meter.limits.max_string:,} 个字符")
        meter.step(1 + len(text) // 64)
        parts = getattr(text, method_name)(sep, maxsplit)
        meter.items(len(parts))
        meter.allocate(len(text) + 64 * len(parts))
        return parts

    return method


def _splitlines(meter: Meter, text: str) -> list[str]:
    return _split("split")(meter, text.replace("\r\n", "\n").replace("\r", "\n"), "\n") if text else []


def _partition(method_name: str) -> Function:
    def method(meter: Meter, text: str, sep: Any) -> tuple[str, str, str]:
        if _text(sep, "分隔符") == "":
            raise ExpressionFailed("分隔符不能为空文本")
        meter.string(len(text))
        return getattr(text, method_name)(sep)

    return method


def _join(meter: Meter, separator: str, iterable: Any) -> str:
    _known_length(iterable, meter)
    parts = [_text(part, "join 连接的每一项") for part in iterate(iterable, meter)]
    meter.string(sum(len(part) for part in parts) + len(separator) * max(len(parts) - 1, 0))
    return separator.join(parts)


def _pad(method_name: str) -> Function:
    def method(meter: Meter, text: str, width: Any, *fill: Any) -> str:
        width = _index(width, "宽度")
        if fill and (type(fill[0]) is not str or len(fill[0]) != 1):
            raise ExpressionFailed("填充字符必须是一个字符")
        meter.string(max(width, len(text)))
        return getattr(text, method_name)(width, *fill)

    return method


def _zfill(meter: Meter, text: str, width: Any) -> str:
    width = _index(width, "宽度")
    meter.string(max(width, len(text)))
    return text.zfill(width)


def _append(meter: Meter, items: list[Any], value: Any) -> None:
    meter.items(len(items) + 1)
    items.append(copy_in(value, meter))


def _extend(meter: Meter, items: list[Any], iterable: Any) -> None:
    added = _list(meter, iterable)
    meter.items(len(items) + len(added))
    items.extend(added)


def _insert(meter: Meter, items: list[Any], index: Any, value: Any) -> None:
    meter.items(len(items) + 1)
    items.insert(_index(index, "位置"), copy_in(value, meter))


def _pop(meter: Meter, container: Any, *args: Any) -> Any:
    if type(container) is dict:
        if not args:
            raise ExpressionFailed("字典的 pop 需要给出键")
        if len(args) == 1:
            if hashable_key(args[0]) not in container:
                raise ExpressionFailed(f"字典中没有键 {render(args[0], meter, quoted=True)}")
            return container.pop(args[0])
        return container.pop(hashable_key(args[0]), args[1])
    if not container:
        raise ExpressionFailed("不能从空列表中取出（pop）")
    index = _index(args[0], "位置") if args else -1
    if not -len(container) <= index < len(container):
        raise ExpressionFailed(f"列表的位置 {index} 超出范围（共 {len(container)} 项）")
    return container.pop(index)


def _remove(meter: Meter, items: list[Any], value: Any) -> None:
    meter.step(len(items))
    if value not in items:
        raise ExpressionFailed(f"列表中没有 {render(value, meter, quoted=True)}，无法移除")
    items.remove(value)


def _sequence_index(meter: Meter, sequence: Any, value: Any) -> int:
    meter.step(len(sequence))
    if value not in sequence:
        raise ExpressionFailed(f"{type_name(sequence)}中没有 {render(value, meter, quoted=True)}")
    return sequence.index(value)


def _count(meter: Meter, sequence: Any, value: Any) -> int:
    if type(sequence) is str:
        _text(value, "要计数的内容")
    meter.step(len(sequence))
    return sequence.count(value)


def _copy(meter: Meter, container: Any) -> Any:
    return copy_in(container, meter)


def _reverse(meter: Meter, items: list[Any]) -> None:
    meter.step(len(items))
    items.reverse()


def _clear(meter: Meter, container: Any) -> None:
    container.clear()


def _sort(meter: Meter, items: list[Any], reverse: Any = False) -> None:
    items[:] = _sorted(meter, items, reverse)


def _get(meter: Meter, mapping: dict[Any, Any], key: Any, default: Any = None) -> Any:
    return mapping.get(hashable_key(key), default)


def _setdefault(meter: Meter, mapping: dict[Any, Any], key: Any, default: Any = None) -> Any:
    if dict_key(key) not in mapping:
        meter.items(len(mapping) + 1)
        mapping[key] = copy_in(default, meter)
    return mapping[key]


def _update(meter: Meter, mapping: dict[Any, Any], source: Any = None, **named: Any) -> None:
    added = _dict(meter, source, **named)
    meter.items(len(mapping) + len(added))
    mapping.update(added)


_STRING_METHODS: dict[str, Function] = {
    "lower": _str_result(str.lower), "upper": _str_result(str.upper), "casefold": _str_result(str.casefold),
    "capitalize": _str_result(str.capitalize), "title": _str_result(str.title),
    "strip": _str_result(str.strip), "lstrip": _str_result(str.lstrip), "rstrip": _str_result(str.rstrip),
    "removeprefix": _str_result(str.removeprefix), "removesuffix": _str_result(str.removesuffix),
    "isdigit": _str_query(str.isdigit), "isdecimal": _str_query(str.isdecimal),
    "isnumeric": _str_query(str.isnumeric), "isalpha": _str_query(str.isalpha), "isalnum": _str_query(str.isalnum),
    "isspace": _str_query(str.isspace), "islower": _str_query(str.islower), "isupper": _str_query(str.isupper),
    "startswith": _affix_test(str.startswith), "endswith": _affix_test(str.endswith),
    "find": _search(str.find), "rfind": _search(str.rfind), "count": _count, "index": _sequence_index,
    "replace": _replace, "split": _split("split"), "rsplit": _split("rsplit"), "splitlines": _splitlines,
    "partition": _partition("partition"), "rpartition": _partition("rpartition"), "join": _join,
    "ljust": _pad("ljust"), "rjust": _pad("rjust"), "center": _pad("center"), "zfill": _zfill,
}
_LIST_METHODS: dict[str, Function] = {
    "append": _append, "extend": _extend, "insert": _insert, "pop": _pop, "remove": _remove,
    "index": _sequence_index, "count": _count, "copy": _copy, "reverse": _reverse, "clear": _clear, "sort": _sort,
}
_DICT_METHODS: dict[str, Function] = {
    "get": _get, "keys": lambda meter, mapping: mapping.keys(), "values": lambda meter, mapping: mapping.values(),
    "items": lambda meter, mapping: mapping.items(), "pop": _pop, "setdefault": _setdefault, "update": _update,
    "copy": _copy, "clear": _clear,
}
METHODS: dict[type, dict[str, Function]] = {
    str: _STRING_METHODS, list: _LIST_METHODS, dict: _DICT_METHODS,
    tuple: {"index": _sequence_index, "count": _count},
}
METHOD_NAMES: frozenset[str] = frozenset(name for table in METHODS.values() for name in table)


def method_of(value: Any, name: str) -> Function:
    table = METHODS.get(type(value))
    method = table.get(name) if table is not None else None
    if method is None:
        owners = "、".join(type_name(kind()) for kind, methods in METHODS.items() if name in methods)
        where = f"（它是{owners}的方法）" if owners else ""
        raise ExpressionFailed(f"{type_name(value)}没有方法 {name}{where}")
    return method


# --- f-strings ----------------------------------------------------------------------------------------------------

# Python's format specification mini-language: [[fill]align][sign][z][#][0][width][grouping][.precision][type].
_FORMAT_SPEC = re.compile(r"(?:(?P<fill>.)?(?P<align>[<>=^]))?(?P<sign>[-+ ])?z?#?0?(?P<width>\d+)?[,_]?"
                          r"(?:\.(?P<precision>\d+))?(?P<type>[bcdeEfFgGnosxX%])?", re.DOTALL)


def formatted(value: Any, conversion: int, spec: str, meter: Meter) -> str:
    """One `{value!conversion:spec}` field of an f-string, with its width and precision bounded."""
    if conversion == ord("r"):
        value = render(value, meter, quoted=True)
    elif conversion == ord("s"):
        value = render(value, meter)
    elif conversion != -1:
        raise ExpressionFailed("f-string 只支持 !r 与 !s 转换")
    if not spec:
        return render(value, meter)
    match = _FORMAT_SPEC.fullmatch(spec)
    if match is None:
        raise ExpressionFailed(f"f-string 的格式说明“{spec[:40]}”无效")
    for part in ("width", "precision"):
        digits = match.group(part)
        if digits and (len(digits) > 6 or int(digits) > meter.limits.max_format_width):
            raise ExpressionLimitExceeded(f"超出限制：f-string 的宽度或精度不能超过 {meter.limits.max_format_width}")
    if type(value) not in SCALARS:
        raise ExpressionFailed(f"{type_name(value)}不能按格式“{spec}”输出，请先取出其中的文本或数字")
    try:
        text = format(value, spec)
    except (ValueError, TypeError):
        raise ExpressionFailed(f"{type_name(value)}不能按格式“{spec}”输出") from None
    meter.string(len(text))
    return text
