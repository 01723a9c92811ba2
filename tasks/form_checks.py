"""What a task's form asks the caseworker to check in the case file: its ``x-checks`` keyword, a list of the parts
of the application (``institution``, ``occupations``, ``sites``, …) and of its materials (``materials`` for all of
them, ``materials:ITEM`` for one checklist item). The task page opens and marks those; ``beian bpmn check`` reports a
name that is neither, so a process owner's typo does not silently show nothing."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Final

from tasks.application import application_schema
from tasks.regions import INSTITUTION_TYPES, load_profiles

KEYWORD: Final = "x-checks"


@lru_cache(maxsize=1)
def known_checks() -> dict[str, str]:
    """Every name `x-checks` may hold → what people call it."""
    properties = application_schema()["properties"]
    known = {"institution": str(properties["institution"]["title"]), "materials": "全部申请材料"}
    known |= {key: str(prop["title"]) for key, prop in properties.items()
              if prop.get("type") == "array" and key != "materials"}
    for profile in load_profiles().values():
        for institution_type in INSTITUTION_TYPES:
            for item in profile.materials_for(institution_type):
                known.setdefault(f"materials:{item.key}", f"材料：{item.name}")
    return known


def checks_problem(schema: Any) -> str | None:
    """What is wrong with a form's x-checks (Chinese), or None when it has none or every name is known."""
    if not isinstance(schema, dict) or KEYWORD not in schema:
        return None
    value = schema[KEYWORD]
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        return f"{KEYWORD} 应为名称列表，例如 [\"occupations\", \"materials:work_plan\"]"
    unknown = [name for name in value if name not in known_checks()]
    if unknown:
        return (f"{KEYWORD} 中的“{'”“'.join(unknown)}”不是申请的部分或材料清单中的材料；可用："
                f"{'、'.join(known_checks())}")
    return None
