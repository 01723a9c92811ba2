"""Operators on plain values, each bounded before it computes: `+ - * / // % **`, unary `- + not`, comparisons.

Python's own operators do the work once the operand types are known to be plain and the result is known to fit:
the size of a repeated string, a concatenated list or a power is worked out from the operands first.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from typing import Any

from workflows.expressions.limits import ExpressionFailed, Meter
from workflows.expressions.values import (
    NUMBERS,
    SCALARS,
    VIEWS,
    copy_in,
    finite,
    hashable_key,
    is_number,
    shallow_size,
    type_name,
)

BINARY_SYMBOLS: dict[type[ast.operator], str] = {
    ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%", ast.Pow: "**",
}
COMPARE_SYMBOLS: dict[type[ast.cmpop], str] = {
    ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.In: "in",
    ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not",
}


def _mismatch(symbol: str, left: Any, right: Any) -> ExpressionFailed:
    return ExpressionFailed(f"不能对{type_name(left)}和{type_name(right)}使用运算符 {symbol}")


def _number_result(value: Any, meter: Meter) -> Any:
    if type(value) is float:
        return finite(value)
    meter.integer_bits(value.bit_length())
    return value


def _repeat(sequence: Any, times: Any, meter: Meter) -> Any:
    count = max(int(times), 0)
    length = len(sequence) * count
    if type(sequence) is str:
        meter.string(length)
        return sequence * count
    meter.items(length)
    if all(type(item) in SCALARS for item in sequence):
        return sequence * count
    # Containers are copied, not aliased: `[row] * 3` holds three rows (see values.copy_in).
    return type(sequence)(copy_in(item, meter) for _ in range(count) for item in sequence)


def _add(left: Any, right: Any, meter: Meter) -> Any:
    if is_number(left) and is_number(right):
        if type(left) is not float and type(right) is not float:
            meter.integer_bits(max(abs(left).bit_length(), abs(right).bit_length()) + 1)
        return _number_result(left + right, meter)
    if type(left) is type(right) and type(left) in (str, list, tuple):
        if type(left) is str:
            meter.string(len(left) + len(right))
            return left + right
        meter.items(len(left) + len(right))
        return type(left)(copy_in(item, meter) for part in (left, right) for item in part)
    raise _mismatch("+", left, right)


def _multiply(left: Any, right: Any, meter: Meter) -> Any:
    if is_number(left) and is_number(right):
        if type(left) is not float and type(right) is not float:
            meter.integer_bits(abs(left).bit_length() + abs(right).bit_length())
        return _number_result(left * right, meter)
    if type(left) in (str, list, tuple) and type(right) in (bool, int):
        return _repeat(left, right, meter)
    if type(right) in (str, list, tuple) and type(left) in (bool, int):
        return _repeat(right, left, meter)
    raise _mismatch("*", left, right)


def _power(left: Any, right: Any, meter: Meter) -> Any:
    if not (is_number(left) and is_number(right)):
        raise _mismatch("**", left, right)
    if type(left) is not float and type(right) is not float and right > 0 and abs(left) > 1:
        meter.integer_bits(right * abs(left).bit_length())
    try:
        result = left ** right
    except OverflowError:
        raise ExpressionFailed("乘方的结果过大，超出小数的表示范围") from None
    except ZeroDivisionError:
        raise ExpressionFailed("0 不能做负数次乘方") from None
    if type(result) is complex:
        raise ExpressionFailed("负数的小数次乘方不是实数，不能计算")
    return _number_result(result, meter)


def _numeric(symbol: str, function: Callable[[Any, Any], Any]) -> Callable[[Any, Any, Meter], Any]:
    def apply(left: Any, right: Any, meter: Meter) -> Any:
        if not (is_number(left) and is_number(right)):
            if symbol == "%" and type(left) is str:
                raise ExpressionFailed("不支持用 % 格式化文本，请使用 f-string，例如 f'{名称}'")
            raise _mismatch(symbol, left, right)
        try:
            return _number_result(function(left, right), meter)
        except ZeroDivisionError:
            raise ExpressionFailed(f"除数为零（{symbol} 运算）") from None
        except OverflowError:
            raise ExpressionFailed(f"计算结果过大（{symbol} 运算）") from None

    return apply


BINARY: dict[type[ast.operator], Callable[[Any, Any, Meter], Any]] = {
    ast.Add: _add,
    ast.Sub: _numeric("-", operator.sub),
    ast.Mult: _multiply,
    ast.Div: _numeric("/", operator.truediv),
    ast.FloorDiv: _numeric("//", operator.floordiv),
    ast.Mod: _numeric("%", operator.mod),
    ast.Pow: _power,
}


def negate(value: Any, meter: Meter) -> Any:
    if not is_number(value):
        raise ExpressionFailed(f"不能对{type_name(value)}取负数")
    return _number_result(-value, meter)


def positive(value: Any, meter: Meter) -> Any:
    if not is_number(value):
        raise ExpressionFailed(f"不能对{type_name(value)}使用正号")
    return +value


def truth(value: Any) -> bool:
    """Python's truth of a plain value (empty and zero are false)."""
    return bool(value)


def equal(left: Any, right: Any, meter: Meter) -> bool:
    meter.step(min(shallow_size(left), shallow_size(right)))
    return bool(left == right)


def _ordered(symbol: str, function: Callable[[Any, Any], bool]) -> Callable[[Any, Any, Meter], bool]:
    def apply(left: Any, right: Any, meter: Meter) -> bool:
        if (type(left) in NUMBERS and type(right) in NUMBERS) or (type(left) is str and type(right) is str):
            return function(left, right)
        raise ExpressionFailed(f"不能比较{type_name(left)}和{type_name(right)}的大小（{symbol}）："
                               "只能比较数字与数字、文本与文本")

    return apply


def contains(container: Any, item: Any, meter: Meter) -> bool:
    kind = type(container)
    if kind is str:
        if type(item) is not str:
            raise ExpressionFailed(f"在文本中查找的必须是文本，不能是{type_name(item)}")
        meter.step(shallow_size(container))
        return item in container
    if kind is dict:
        return hashable_key(item) in container
    if kind is range:
        return type(item) in (bool, int) and item in container
    if kind is VIEWS[0]:
        return hashable_key(item) in container
    if kind in (list, tuple, VIEWS[1], VIEWS[2]):
        meter.step(shallow_size(container) * shallow_size(item))
        return item in container
    raise ExpressionFailed(f"不能在{type_name(container)}中查找（in）")


COMPARE: dict[type[ast.cmpop], Callable[[Any, Any, Meter], bool]] = {
    ast.Eq: equal,
    ast.NotEq: lambda left, right, meter: not equal(left, right, meter),
    ast.Lt: _ordered("<", operator.lt),
    ast.LtE: _ordered("<=", operator.le),
    ast.Gt: _ordered(">", operator.gt),
    ast.GtE: _ordered(">=", operator.ge),
    ast.In: lambda left, right, meter: contains(right, left, meter),
    ast.NotIn: lambda left, right, meter: not contains(right, left, meter),
    ast.Is: lambda left, right, meter: left is right,
    ast.IsNot: lambda left, right, meter: left is not right,
}
