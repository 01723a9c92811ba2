"""The national occupation catalogue an application is checked against (国家职业分类大典 and the new occupations the
ministry publishes): which codes exist, what they are called, and whether an occupation is a skill occupation that
skill-level evaluation may cover or an access-controlled one (准入类) that it may not (Beijing 三: 准入类职业不纳入认定
范围; Sichuan 二（三）、三; XPCC 第六条).

The catalogue is a CSV file (UTF-8, a header line, one occupation or 工种 per line, documented in
docs/occupation-catalogue.md):

    code,name,category,standard
    6-18-01-01,车工,skill,车工国家职业技能标准（2018年版）
    4-07-05-04,消防设施操作员,access,

`category` is `skill` (技能类) or `access` (准入类); `standard` (the national standard or evaluation specification in
force) may be empty. An administrator loads it (`beian catalogue load FILE`), replacing the whole catalogue; until one
is loaded the pre-check says it could not check the occupations. A small sample is bundled
(`tasks/occupations_sample.csv`) for trying the system out; it is no substitute for the official catalogue.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, Final

from tasks.errors import InvalidInput
from tasks.limits import MIB
from tasks.prechecks import CheckFailure
from tasks.regions import RegionProfile
from tasks.text import text_problem

CATEGORIES: Final = {"skill": "技能类", "access": "准入类"}
CODE: Final = re.compile(r"\d-\d{2}-\d{2}-\d{2}(-\d{2})?")
"""GB/T 6565 (大典 2015/2022) codes: 6-18-01-01, with a 工种's two more digits where the catalogue names one."""
HEADER: Final = ("code", "name", "category", "standard")
MAX_CATALOGUE_BYTES: Final = 5 * MIB
MAX_ROWS: Final = 20_000
"""The 2022 大典 has 1,636 occupations and about 2,900 工种; a tenfold margin."""
MAX_NAME: Final = 100
MAX_STANDARD: Final = 200
SAMPLE: Final = "occupations_sample.csv"


@dataclass(frozen=True)
class Occupation:
    code: str
    name: str
    category: str
    standard: str | None = None

    @property
    def category_name(self) -> str:
        return CATEGORIES[self.category]


def parse_catalogue(content: bytes) -> list[Occupation]:
    """Every occupation of a catalogue file, or InvalidInput naming each bad line (at most 20 of them)."""
    if len(content) > MAX_CATALOGUE_BYTES:
        raise InvalidInput(f"职业目录文件过大（{len(content) // MIB} MB），"
                           f"上限 {MAX_CATALOGUE_BYTES // MIB} MB，未载入")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("职业目录文件应为 UTF-8 编码的 CSV 文件，未载入") from None
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or tuple(cell.strip() for cell in rows[0]) != HEADER:
        raise InvalidInput(f"职业目录文件第 1 行应为表头 {','.join(HEADER)}，未载入")
    if len(rows) - 1 > MAX_ROWS:
        raise InvalidInput(f"职业目录超过 {MAX_ROWS} 行，未载入")
    problems: list[str] = []
    found: dict[str, Occupation] = {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        occupation, problem = _occupation(row)
        if problem is None and occupation.code in found:
            problem = f"职业编码 {occupation.code} 重复"
        if problem is not None:
            problems.append(f"第 {number} 行：{problem}")
            continue
        found[occupation.code] = occupation
    if problems:
        shown = problems[:20] + ([f"……另有 {len(problems) - 20} 处"] if len(problems) > 20 else [])
        raise InvalidInput("职业目录有误，未载入：" + "；".join(shown), problems=problems)
    if not found:
        raise InvalidInput("职业目录没有任何职业，未载入")
    return list(found.values())


def _occupation(row: Sequence[str]) -> tuple[Occupation, None] | tuple[None, str]:
    if len(row) != len(HEADER):
        return None, f"应有 {len(HEADER)} 列（{','.join(HEADER)}），实有 {len(row)} 列"
    code, name, category, standard = (cell.strip() for cell in row)
    if not CODE.fullmatch(code):
        return None, f"职业编码“{code}”格式不对（应如 6-18-01-01）"
    if (problem := text_problem(name, required=True)) or len(name) > MAX_NAME:
        return None, f"职业名称{problem or f'超过 {MAX_NAME} 字'}"
    if category not in CATEGORIES:
        return None, f"类别“{category}”应为 skill（技能类）或 access（准入类）"
    if (problem := text_problem(standard)) or len(standard) > MAX_STANDARD:
        return None, f"职业标准{problem or f'超过 {MAX_STANDARD} 字'}"
    return Occupation(code, name, category, standard or None), None


def sample() -> bytes:
    return resources.files("tasks").joinpath(SAMPLE).read_bytes()


def catalogue_failures(application: Mapping[str, Any], profile: RegionProfile,
                       catalogue: Mapping[str, Occupation]) -> list[CheckFailure]:
    """The application's occupations that the catalogue does not know, or that are access-controlled."""
    article = profile.article("occupation_scope")
    unknown: list[str] = []
    access: list[str] = []
    for occupation in application.get("occupations", []):
        known = catalogue.get(occupation["code"])
        if known is None:
            unknown.append(f"{occupation['code']}（{occupation['name']}）")
        elif known.category == "access":
            access.append(f"{known.code} {known.name}")
    failures = []
    if unknown:
        failures.append(CheckFailure("occupation_catalogue", "职业编码不在国家职业目录中：" + "、".join(unknown)
                                     + "，请核对编码或是否为人社部公布的新职业", article))
    if access:
        failures.append(CheckFailure("occupation_catalogue", "属于准入类职业，不纳入职业技能等级认定范围："
                                     + "、".join(access), article))
    return failures
