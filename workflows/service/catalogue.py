"""The national occupation catalogue (tasks/occupations.py): loaded whole by an administrator, replacing the one
before (audited), and read by the pre-check of every application."""

from __future__ import annotations

from typing import Any

from adapters.outside.db import CatalogueOccupation
from tasks.errors import InvalidInput
from tasks.occupations import CATEGORIES, parse_catalogue
from tasks.text import text_problem
from workflows import clock
from workflows.service.base import Capability, audit_system

MAX_SOURCE = 200


class Catalogue(Capability):
    """Loading and reading the occupation catalogue."""

    def load(self, content: bytes, *, source: str, actor: str) -> dict[str, Any]:
        source = source.strip()
        if problem := text_problem(source, required=True):
            raise InvalidInput(f"目录来源{problem}（如：国家职业分类大典（2022年版）及人社部公布的新职业）")
        if len(source) > MAX_SOURCE:
            raise InvalidInput(f"目录来源过长，上限 {MAX_SOURCE} 字")
        occupations = parse_catalogue(content)
        now = clock.now()
        with self.uow() as uow:
            before = uow.repo.catalogue_size()
            uow.repo.replace_catalogue([
                CatalogueOccupation(code=o.code, name=o.name, category=o.category, standard=o.standard,
                                    source=source, loaded_at=now, loaded_by=actor) for o in occupations])
            access = sum(1 for o in occupations if o.category == "access")
            audit_system(uow, actor, "catalogue_loaded",
                         f"载入职业目录：{source}，共 {len(occupations)} 个职业（工种），其中准入类 {access} 个"
                         f"（替换原有 {before} 个）", source=source, count=len(occupations))
            uow.commit()
        return {"source": source, "count": len(occupations), "access": access, "replaced": before}

    def show(self, codes: list[str]) -> dict[str, Any]:
        with self.reading() as uow:
            found = uow.repo.catalogue(codes)
            return {"size": uow.repo.catalogue_size(),
                    "occupations": [{"code": code, "name": row.name, "category": row.category,
                                     "category_name": CATEGORIES[row.category], "standard": row.standard,
                                     "source": row.source} if (row := found.get(code)) else
                                    {"code": code, "name": None} for code in codes]}
