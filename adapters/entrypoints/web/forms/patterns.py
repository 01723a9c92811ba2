"""The HTML ``pattern`` attribute from a schema's regular expression, where the browser can check the same thing.
"""

from __future__ import annotations

from typing import Final

# The translator's placed sentences, so that every message here is word for word what ``schema_problems`` says.

_CLASS_SYNTAX: Final = frozenset("()[]{}/|")


_DOUBLE_PUNCTUATORS: Final = ("&&", "!!", "##", "$$", "%%", "**", "++", ",,", "..", "::", ";;", "<<", "==", ">>",
                              "??", "@@", "^^", "``", "~~")


def html_pattern_of(pattern: str) -> str | None:
    """The HTML ``pattern`` attribute that accepts what the JSON Schema ``pattern`` accepts, or None.

    A JSON Schema pattern searches (unanchored) while an HTML pattern must match the whole value, and
    browsers compile it with the ``v`` flag, where ``( ) [ { } / - |`` inside a character class must be
    escaped. Patterns this cannot translate faithfully (alternation at the top, Python-only syntax, reserved
    double punctuation in a class) give None: the server checks them anyway.
    """
    if "|" in pattern or "(?P" in pattern or "(?#" in pattern:
        return None
    body = pattern
    starts = body.startswith("^")
    ends = body.endswith("$") and not body.endswith("\\$")
    body = body[1 if starts else 0: len(body) - 1 if ends else len(body)]
    escaped = _escape_classes(body)
    if escaped is None:
        return None
    return ("" if starts else ".*") + (f"(?:{escaped})" if not (starts and ends) else escaped) + \
        ("" if ends else ".*")


def _escape_classes(body: str) -> str | None:
    out: list[str] = []
    i = 0
    in_class = False
    class_start = 0
    while i < len(body):
        char = body[i]
        if char == "\\":
            out.append(body[i: i + 2])
            i += 2
            continue
        if not in_class:
            if char == "[":
                in_class, class_start = True, len(out) + 1
                out.append(char)
                if body[i + 1: i + 2] == "^":
                    out.append("^")
                    class_start += 1
                    i += 1
            else:
                out.append(char)
            i += 1
            continue
        if char == "]":
            in_class = False
            out.append(char)
        elif body[i: i + 2] in _DOUBLE_PUNCTUATORS:
            return None
        elif char in _CLASS_SYNTAX:
            out.append("\\" + char)
        elif char == "-":
            # A range's dash stays; a dash at either end of the class is a literal and must be escaped.
            at_start = len(out) == class_start
            at_end = body[i + 1: i + 2] == "]"
            out.append("\\-" if at_start or at_end else "-")
        else:
            out.append(char)
        i += 1
    return None if in_class else "".join(out)
