"""What a clean text is: the one rule for every text people send in (applications, task forms, message payloads,
display names).

A text is refused when it holds
- a control character (NUL and the other C0/C1 controls): nothing a person types, and NUL cannot even be stored
  in PostgreSQL. Line breaks and tabs are allowed in multi-line fields only (``multiline=True``);
- a bidirectional override, embedding or isolate (U+202A–U+202E, U+2066–U+2069): they make a text display in
  another order than it reads (``‮gpj.exe`` shown as ``exe.jpg``), so a name or a notice could say something else
  on screen than what was filed. The plain direction marks U+200E/U+200F change no order and are allowed;
- half of a surrogate pair (which no UTF-8 text can hold);
- for a text that must not be empty (``required=True``), nothing visible: only spaces and invisible format
  characters (zero-width space U+200B, joiners U+200C/U+200D, word joiner U+2060, BOM U+FEFF, …).

``text_problem`` says why, in Chinese and without naming the field: the caller knows what the field is called and
puts its name first (``申请·机构名称：含有控制字符 U+0000，…``).
"""

from __future__ import annotations

import math
import re
import unicodedata
from typing import Final

MULTILINE_OVER: Final = 200
"""A text field whose ``maxLength`` is over this many characters is multi-line (a textarea in the web forms): every
prose field in the project states a ``maxLength``, while short fields are names, codes and one-line values."""

LINE_BREAKS: Final = frozenset("\n\r\t")
"""The control characters a multi-line text may hold."""

BIDI_CONTROLS: Final = frozenset(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))
"""Bidirectional embeddings, overrides and isolates (LRE RLE PDF LRO RLO, LRI RLI FSI PDI)."""


# Every character a text may not hold, found at C speed: the controls (Unicode category Cc is exactly U+0000–U+001F
# and U+007F–U+009F), the bidirectional controls, and the surrogates (category Cs).
_REFUSED: Final = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def invisible(char: str) -> bool:
    """Whether a character shows nothing by itself: white space, or a format character (zero-width space and
    joiners, word joiner, BOM, soft hyphen, direction marks, …)."""
    return char.isspace() or unicodedata.category(char) == "Cf"


def visible_text(text: str) -> str:
    """``text`` without its invisible characters: what is left to read."""
    return "".join(char for char in text if not invisible(char))


def refused_character(text: str, *, multiline: bool = False) -> str | None:
    """The first character ``text`` may not hold (line breaks and tabs allowed when ``multiline``), or None."""
    for match in _REFUSED.finditer(text):
        if not (multiline and match.group() in LINE_BREAKS):
            return match.group()
    return None


def text_problem(text: str, *, multiline: bool = False, required: bool = False) -> str | None:
    """Why ``text`` is not a clean text (a Chinese clause, without the field's name), or None when it is."""
    char = refused_character(text, multiline=multiline)
    if char is None:
        if required and all(invisible(c) for c in text):  # stops at the first visible character
            return "不能为空（只填了空格或不可见字符）" if text else "不能为空"
        return None
    if char in LINE_BREAKS:
        return f"不能含有换行或制表符（{code_point(char)}），本栏只能填一行"
    if char in BIDI_CONTROLS:
        return (f"含有改变文字显示方向的控制字符 {code_point(char)}，会使内容显示得与实际不同，"
                "请删去后重新填写")
    if unicodedata.category(char) == "Cs":
        return f"含有无效字符 {code_point(char)}（不完整的字符编码），请重新填写"
    return f"含有控制字符 {code_point(char)}，这不是能录入的文字，请删去后重新填写"


def printable(text: str) -> str:
    """``text`` with every character a text may not hold replaced by U+FFFD: for recording what someone sent (a
    sign-in name, say) where refusing it is not the point."""
    return _REFUSED.sub("\ufffd", text)


def number_problem(value: object) -> str | None:
    """Why a number is not one people mean (NaN or infinity, which JSON does not even have), or None."""
    if isinstance(value, float) and not math.isfinite(value):
        return "不是有效的数字（NaN 或无穷大），请填写具体数值"
    return None


def code_point(char: str) -> str:
    """``U+202E``: how a character that shows nothing is named in a message."""
    return f"U+{ord(char):04X}"
