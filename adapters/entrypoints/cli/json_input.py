"""JSON as the command line takes it (`--data`, an application file, a calendar arrangement): strict, bounded, and
refused in Chinese when it is not.

Strict: standard JSON only — no NaN, Infinity or a number too large for a double (1e309), which Python's json would
accept and store as text no other program reads as JSON; no string with a NUL or an unpaired surrogate, which the
databases cannot store. Bounded: at most MAX_JSON_BYTES from a file, standard input or the argument, and nested at
most MAX_JSON_DEPTH deep, so that nothing reaches the engine that makes it recurse without end.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, BinaryIO, Final

from tasks.errors import BeianError
from tasks.reasons import file_reason, json_reason

MAX_JSON_BYTES: Final = 4 * 1024 * 1024
MAX_JSON_DEPTH: Final = 32
_MAX_INTEGER_DIGITS: Final = 4300  # Python's own limit for converting a decimal string to an int


class _Refused(ValueError):
    """Raised from inside the decoder's hooks; becomes a BeianError naming the source."""


def _no_constant(name: str) -> Any:
    raise _Refused(f"含有 {name}，这不是标准 JSON 的数值（只允许有限的数字）")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _Refused(f"数字 {text[:40]} 超出可表示的范围（只允许有限的数字）")
    return value


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > _MAX_INTEGER_DIGITS:
        raise _Refused(f"整数过长（超过 {_MAX_INTEGER_DIGITS} 位）")
    return int(text)


def _check_shape(value: Any) -> None:
    """Depth and strings, walked without recursion (the value may be as deep as the decoder allowed)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise _Refused(f"嵌套超过 {MAX_JSON_DEPTH} 层")
            children = list(item.items()) if isinstance(item, dict) else [(None, v) for v in item]
            for key, child in children:
                if key is not None:
                    _check_string(key)
                stack.append((child, depth + 1))
        elif isinstance(item, str):
            _check_string(item)


def _check_string(text: str) -> None:
    if "\x00" in text:
        raise _Refused("字符串中含有数据库无法保存的空字符（\\u0000）")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise _Refused("字符串中含有数据库无法保存的不成对代理字符（如单独的 \\ud800）") from None


def parse_size(source: str, what: str, where: str) -> str:
    """`source` unless it is over MAX_JSON_BYTES (as UTF-8)."""
    if len(source) > MAX_JSON_BYTES or len(source.encode("utf-8", "surrogatepass")) > MAX_JSON_BYTES:
        raise BeianError(f"{what}（{where}）超过 {MAX_JSON_BYTES // (1024 * 1024)} MB 的上限，未读取")
    return source


def parse_json(source: str, what: str, where: str) -> Any:
    """`source` as strict JSON; `what` (e.g. 表单数据) and `where` (the file, 参数, 标准输入) name it in errors."""
    parse_size(source, what, where)
    try:
        value = json.loads(source, parse_constant=_no_constant, parse_float=_finite_float, parse_int=_integer)
        _check_shape(value)
    except json.JSONDecodeError as exc:
        raise BeianError(f"{what}（{where}）不是有效的 JSON：{json_reason(exc)}") from None
    except RecursionError:
        raise BeianError(f"{what}（{where}）嵌套过深（上限 {MAX_JSON_DEPTH} 层），未读取") from None
    except _Refused as exc:
        raise BeianError(f"{what}（{where}）{exc}，未读取") from None
    return value


def _read_bounded(stream: BinaryIO, what: str, where: str) -> str:
    data = stream.read(MAX_JSON_BYTES + 1)
    if len(data) > MAX_JSON_BYTES:
        raise BeianError(f"{what}（{where}）超过 {MAX_JSON_BYTES // (1024 * 1024)} MB 的上限，未读取")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BeianError(f"{what}（{where}）不是 UTF-8 编码的文本（第 {exc.start + 1} 个字节起无法识别）") from None


def read_text(text_or_path: str, what: str) -> tuple[str, str]:
    """The text given inline (starting with { or [), as a file path, or as '-' for standard input, with where it
    came from; at most MAX_JSON_BYTES."""
    if text_or_path == "-":
        stream = getattr(sys.stdin, "buffer", None)
        if stream is None:  # a text stream put in place of standard input (tests, embedding)
            return parse_size(sys.stdin.read(MAX_JSON_BYTES + 1), what, "标准输入"), "标准输入"
        return _read_bounded(stream, what, "标准输入"), "标准输入"
    if text_or_path.lstrip().startswith(("{", "[")):
        return parse_size(text_or_path, what, "参数"), "参数"
    path = Path(text_or_path)
    try:
        with path.open("rb") as stream:
            return _read_bounded(stream, what, str(path)), str(path)
    except IsADirectoryError:
        raise BeianError(f"{what}文件 {path} 是一个文件夹，请给出 JSON 文件") from None
    except OSError as exc:
        raise BeianError(f"无法读取{what}文件 {path}：{file_reason(exc)}") from None


def read_json(text_or_path: str, what: str) -> Any:
    """A JSON value given inline, as a file path, or as '-' for standard input (see `read_text`), strictly parsed."""
    source, where = read_text(text_or_path, what)
    return parse_json(source, what, where)
