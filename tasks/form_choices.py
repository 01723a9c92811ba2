"""Choices that depend on the case. A form property marked ``"x-choices": SOURCE`` offers only what the case's region
allows of its ``oneOf`` (a single choice) or its ``items.oneOf`` (a list of choices), named as the region names them:

* ``checklist``          — the items of the case's own checklist (the materials a supplementation asks for);
* ``inspection_methods`` — how the site is inspected: on site, or (XPCC 第十三条（二）) by an online assessment;
* ``sanction_ladder``    — what an investigation may conclude, in the region's words (Shanghai 三（四）2 has its own
  tiers: 即知即改 … 终止备案; elsewhere the form's three of Jilin 第二十五、二十六条);
* ``certificate_data_measures`` — whether uploaded certificate data may be revoked (Shanghai 三（四）2).

A source may leave a choice's title to the form (None): the region then only decides whether it is offered.

The narrowed schema is the one the web form is built from and the one every submission is checked against, on the
web and from the CLI alike (`workflows.service.commands.CompleteTask`): a value the region does not allow is refused
with the form's other mistakes, whoever sends it. ``beian bpmn check`` refuses an unknown source."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any, Final

from tasks.identity_cache import IdentityCache
from tasks.regions import (
    DEFAULT_LADDER,
    INSPECTION_METHODS,
    INSTITUTION_TYPES,
    RegionProfile,
    profile_for_region,
)

KEYWORD: Final = "x-choices"

SOURCES: Final[Mapping[str, str]] = {
    "checklist": "本案件申请材料清单中的材料",
    "inspection_methods": "本地区允许的考察方式",
    "sanction_ladder": "本地区的违纪违规处理措施",
    "certificate_data_measures": "本地区可否撤销违规上传的证书数据",
}

Choices = Sequence[tuple[str, str | None]]


def sources_in(schema: Any) -> set[str]:
    """The sources the schema's properties name (unknown ones too, for the check to report)."""
    if not isinstance(schema, dict) or not isinstance(schema.get("properties"), dict):
        return set()
    return {prop[KEYWORD] for prop in schema["properties"].values()
            if isinstance(prop, dict) and isinstance(prop.get(KEYWORD), str)}


def choices_problem(schema: Any) -> str | None:
    """What is wrong with a form's x-choices (Chinese), or None."""
    if not isinstance(schema, dict) or not isinstance(schema.get("properties"), dict):
        return None
    problems = []
    for name, prop in schema["properties"].items():
        if not isinstance(prop, dict) or KEYWORD not in prop:
            continue
        source = prop[KEYWORD]
        if source not in SOURCES:
            known = "、".join(f"{key}（{label}）" for key, label in SOURCES.items())
            problems.append(f"栏目 {name} 的 {KEYWORD}“{source}”未知；可用：{known}")
        elif _choice_list(prop) is None:
            problems.append(f"栏目 {name} 标注了 {KEYWORD}，但没有可供收窄的 oneOf 选项")
    return "；".join(problems) or None


def for_case(schema: dict[str, Any], region: str, application: Mapping[str, Any]) -> dict[str, Any]:
    """`schema` narrowed to what a case in `region` with `application` may choose."""
    if not sources_in(schema):
        return schema
    institution_type = str(application.get("institution", {}).get("type", ""))
    profile = profile_for_region(region)
    # Built once per form, region and kind of institution: every completion of a form checks against it. The result
    # is shared, as the form schema itself is: read it, never change it.
    return _narrowed_forms.get((schema, profile), (institution_type,),
                               lambda: narrowed(schema, case_choices(profile, institution_type)))


_narrowed_forms: IdentityCache[dict[str, Any]] = IdentityCache(1024)


def case_choices(profile: RegionProfile, institution_type: str) -> dict[str, Choices]:
    """Every source's choices for a case of `institution_type` in `profile`'s region (an application without a known
    type — never one that passed intake — is offered the whole checklist)."""
    items = (profile.materials_for(institution_type) if institution_type in INSTITUTION_TYPES
             else profile.materials)
    return {
        "checklist": [(item.key, item.name) for item in items],
        "inspection_methods": [(key, INSPECTION_METHODS[key]) for key in profile.inspection_methods],
        "sanction_ladder": (list(profile.sanction_ladder.items()) if profile.sanction_ladder
                            else [(key, None) for key in DEFAULT_LADDER]),
        "certificate_data_measures": [("none", None), *([("revoke", None)] if profile.certificate_data_revocation
                                                         else [])],
    }


def narrowed(schema: dict[str, Any], choices: Mapping[str, Choices]) -> dict[str, Any]:
    """A copy of `schema` whose marked properties offer exactly their source's choices (in the source's order), each
    kept only where the schema itself allows it; `schema` itself when nothing is marked."""
    if not sources_in(schema):
        return schema
    result = copy.deepcopy(schema)
    for prop in result["properties"].values():
        if not isinstance(prop, dict) or prop.get(KEYWORD) not in choices:
            continue
        options = _choice_list(prop)
        if options is None:
            continue
        titles = {choice.get("const"): choice.get("title") for choice in options if isinstance(choice, dict)}
        options[:] = [{"const": key, "title": title or titles[key]} for key, title in choices[prop[KEYWORD]]
                      if key in titles]
    return result


def _choice_list(prop: dict[str, Any]) -> list[Any] | None:
    """The property's list of choices: its own oneOf, or its items' (an array of choices)."""
    if isinstance(prop.get("oneOf"), list):
        return prop["oneOf"]  # type: ignore[no-any-return]
    items = prop.get("items")
    if isinstance(items, dict) and isinstance(items.get("oneOf"), list):
        return items["oneOf"]  # type: ignore[no-any-return]
    return None
