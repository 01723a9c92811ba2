"""The files sent with a paper application on the intake form (材料文件): rows of a checklist item and a file.

Each row is ``material_files[N][item]`` (a select of every region's checklist items: the region is chosen on the same
form, and the service refuses an item its checklist does not ask for) and ``material_files[N][file]``. A row without
a file is skipped. Each file is checked by its content before anything is registered (tasks/materials.py); together
they are bounded by ``MAX_INTAKE_MATERIAL_BYTES`` (more are added on the case page, one at a time).

A browser never fills a file input again, so after a refusal the form says that the files must be chosen again.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

from starlette.datastructures import FormData, UploadFile

from tasks.limits import amount
from tasks.materials import ACCEPT_ATTRIBUTE, MAX_INTAKE_MATERIAL_BYTES, MAX_MATERIAL_BYTES, MaterialRefused
from tasks.regions import load_profiles
from workflows.service.materials import Upload, checked_upload

ROWS: Final = 8
"""File rows the form shows: the eight items of 川人社办发〔2019〕94号 五; an item's further files (or more items) are
added on the case page."""
PREFIX: Final = "material_files"
_ROW: Final = re.compile(rf"{PREFIX}\[(\d{{1,2}})\]\[(item|file)\]")


@dataclass(frozen=True)
class FileRow:
    """One row of the form: its number (from 1), the names of its inputs and the item chosen."""

    number: int
    item_name: str
    file_name: str
    chosen: str


def file_rows(posted: list[tuple[str, str]] | None = None, first: Sequence[str] = ()) -> list[FileRow]:
    """The rows to show, keeping the items chosen before a refusal; on a fresh form the rows start with the items
    `first` (those a supplementation asked for)."""
    chosen = {int(m.group(1)): value for name, value in posted or () if (m := _ROW.fullmatch(name))
              and m.group(2) == "item"} if posted else dict(enumerate(first))
    return [FileRow(i + 1, f"{PREFIX}[{i}][item]", f"{PREFIX}[{i}][file]", chosen.get(i, "")) for i in range(ROWS)]


@lru_cache(maxsize=1)
def item_choices() -> tuple[tuple[str, str], ...]:
    """Every item of any region's checklist (key, name), in checklist order; an item worded differently by two
    regions is named as the first region words it."""
    seen: dict[str, str] = {}
    for profile in load_profiles().values():
        for institution_type in ("employer", "social", "school"):
            for entry in profile.materials_for(institution_type):
                seen.setdefault(entry.key, entry.name)
    return tuple(seen.items())


def file_section(posted: list[tuple[str, str]] | None = None, first: Sequence[str] = ()) -> dict[str, Any]:
    """What the template's 材料文件 section shows: the rows, the items to choose from, the accepted files and limits."""
    return {"rows": file_rows(posted, first), "choices": item_choices(), "accept": ACCEPT_ATTRIBUTE,
            "limits": f"每个文件不超过 {amount(MAX_MATERIAL_BYTES)}，合计不超过 {amount(MAX_INTAKE_MATERIAL_BYTES)}"}


def read_material_files(form: FormData) -> tuple[list[Upload], list[str]]:
    """The files posted with the form, each checked, or what is wrong with them (Chinese, by row)."""
    rows: dict[int, dict[str, Any]] = {}
    for name, value in form.multi_items():
        match = _ROW.fullmatch(name)
        if match and int(match.group(1)) < ROWS:
            rows.setdefault(int(match.group(1)), {})[match.group(2)] = value
    uploads: list[Upload] = []
    problems: list[str] = []
    total = 0
    for index in sorted(rows):
        sent, item = rows[index].get("file"), rows[index].get("item", "")
        if not isinstance(sent, UploadFile) or not sent.filename:
            continue
        if not isinstance(item, str) or not item:
            problems.append(f"材料文件第 {index + 1} 行：请选择这份文件是哪一项材料")
            continue
        content = sent.file.read(MAX_MATERIAL_BYTES + 1)
        total += len(content)
        try:
            uploads.append(checked_upload(item, sent.filename, content))
        except MaterialRefused as exc:
            problems.append(f"材料文件第 {index + 1} 行：{exc.message}")
    if total > MAX_INTAKE_MATERIAL_BYTES:
        problems.append(f"随申请上传的文件合计 {amount(total)}，超过 {amount(MAX_INTAKE_MATERIAL_BYTES)}；"
                        "请先登记申请，再在案件页逐份上传其余材料")
    return uploads, problems
