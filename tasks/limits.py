"""How much one submission may hold: the bounds on sizes and counts, in one place (listed in docs/limits.md).

Each is far above what a real institution or process owner sends (the figures below say what real ones are), and
low enough that checking the largest accepted submission stays fast and storing it stays cheap. Counts are checked
before the items are, so an oversized submission is refused in milliseconds, however large.

The application's per-list counts and text lengths are in its schema (``schemas/application.schema.json``,
``maxItems``/``maxLength``), where the institution reads them; what a schema cannot say is here.
"""

from __future__ import annotations

import json
from typing import Final

KIB: Final = 1024
MIB: Final = 1024 * KIB

MAX_DIAGRAM_BYTES: Final = 5 * MIB
"""A BPMN file (UTF-8), wherever it enters: the web upload and modeller, ``beian bpmn check``/``deploy``, and every
deployment (``Beian.deploy``). The largest bundled diagram is under 60 KB."""

MAX_FORM_SCHEMA_BYTES: Final = 512 * KIB
"""One form or message JSON Schema carried by a diagram. The largest bundled one is under 3 KB."""

MAX_APPLICATION_BYTES: Final = 2 * MIB
"""A filing application as JSON (UTF-8). The example application is 4 KB; 300 occupations with 3,000 assessors is
about 0.7 MB."""

MAX_ASSESSORS_PER_OCCUPATION: Final = 300
"""Assessors named for one occupation (Sichuan requires at least 3; large employers name a few dozen)."""

MAX_FORM_BYTES: Final = 256 * KIB
"""A task form's data as JSON, and what 暂存 keeps of a form. The bundled forms hold a decision and an opinion of at
most 4,000 characters (12 KB)."""

MAX_MESSAGE_BYTES: Final = 256 * KIB
"""An outside event's payload as JSON (an objection, a violation report, a change report, …)."""

MAX_NESTING: Final = 20
"""Levels of objects and lists inside one submission; the application has 4 (a site's equipment)."""

MAX_WALKED_NESTING: Final = 100
"""Beyond this many levels a submission is refused before anything walks it recursively (a deep copy takes two Python
frames a level, the schema validator more). A fixed count, not the interpreter's recursion limit: how deep that lets
the JSON encoder go differs between Python versions (3.13 writes 5,000 levels that 3.11 refuses, and then the deep
copy overflowed). Between MAX_NESTING and this, the field checks refuse the submission and name the field."""


def json_size_problem(size: int, limit: int, what: str) -> str | None:
    """The Chinese refusal of a submission of ``size`` bytes over ``limit``, or None."""
    if size <= limit:
        return None
    return f"{what}过大（{amount(size)}），上限为 {amount(limit)}"


def amount(size: int) -> str:
    """A size as people say it: 5 MB, 256 KB, 12 字节."""
    if size >= MIB:
        return f"{size // MIB} MB" if size % MIB == 0 else f"{size / MIB:.1f} MB"
    if size >= KIB:
        return f"{size // KIB} KB" if size % KIB == 0 else f"{size / KIB:.1f} KB"
    return f"{size} 字节"


def nested_deeper_than(data: object, levels: int) -> bool:
    """Whether ``data`` has objects or lists more than ``levels`` deep; walked without recursion, so any depth is
    safe to ask about."""
    stack: list[tuple[object, int]] = [(data, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > levels:
                return True
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return False


def json_size(data: object) -> int | None:
    """The size of ``data`` as compact UTF-8 JSON, in bytes; None when it nests deeper than MAX_WALKED_NESTING (or
    too deep to even be written out)."""
    if nested_deeper_than(data, MAX_WALKED_NESTING):
        return None
    try:
        return len(json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8",
                                                                                                  "surrogatepass"))
    except RecursionError:
        return None


def submission_size_problem(data: object, limit: int, what: str) -> str | None:
    """Why ``data`` is too large (or too deeply nested) to be taken as ``what``, in Chinese, or None."""
    size = json_size(data)
    if size is None:
        return f"{what}嵌套层数过多（超过 {MAX_NESTING} 层）"
    return json_size_problem(size, limit, what)
