"""The issuers an administrator keeps (tasks/issuers.py): for each authority of their province, who issues and signs
its documents, the short name and format of its document numbers, and its seal. Every change is in the history.
An authority without a saved row prints its region's defaults; a default that names a 师市 by its code is flagged
until it is set."""

from __future__ import annotations

from typing import Any

from adapters.outside.db import IssuerRow
from tasks.access import DISTRICT_LEVEL_PROVINCES, authority_name
from tasks.calendar import SHANGHAI
from tasks.divisions import DIVISIONS
from tasks.errors import InvalidInput, NotFound
from tasks.issuers import Issuer, field_problems, seal_problem
from tasks.regions import PROVINCES
from workflows import clock
from workflows.issuing import issuer_from, issuer_of
from workflows.service.base import Capability, audit_system


def _checked_authority(authority: str) -> str:
    """A 6-digit code of an authority: a province (xx0000), a city (xxyy00), or a district where districts decide."""
    code = authority.strip()
    if not (len(code) == 6 and code.isascii() and code.isdigit()) or code[:2] not in PROVINCES:
        raise InvalidInput(f"“{authority}”不是本系统所配置地区的行政区划代码（应为 6 位数字，如 510100）")
    if not (code.endswith("0000") or code.endswith("00") or code[:2] in DISTRICT_LEVEL_PROVINCES):
        raise InvalidInput(f"{code} 不是备案机关的代码：备案机关为省级（如 510000）或市（州）级（如 510100）")
    return code


def view(issuer: Issuer) -> dict[str, Any]:
    return {"authority": issuer.authority, "authority_name": authority_name(issuer.authority),
            "name": issuer.name, "on_behalf_of": issuer.on_behalf_of, "short_name": issuer.short_name,
            "number_format": issuer.number_format, "has_seal": issuer.seal_png is not None,
            "configured": issuer.configured, "needs_setting": issuer.needs_setting,
            "sample_number": issuer.number("rejection_notice", clock.now().astimezone(SHANGHAI).year, 1)}


class Issuers(Capability):
    """Reading and keeping the issuers of a province's authorities."""

    def list(self, province: str) -> list[dict[str, Any]]:
        """The province's authority and each of its cities or districts, and any other authority of the province
        with saved settings or with cases (a 师市 of the Corps is known only from those)."""
        with self.reading() as uow:
            saved = {row.authority: row for row in uow.repo.issuer_rows() if row.authority[:2] == province}
            with_cases = {code for code in uow.repo.case_authority_codes() if code[:2] == province}
            codes = sorted({province + "0000", *(c for c in DIVISIONS if c[:2] == province), *saved, *with_cases})
            return [view(issuer_from(saved.get(code), code)) for code in codes]

    def get(self, authority: str) -> dict[str, Any]:
        with self.reading() as uow:
            return view(issuer_of(uow.repo, _checked_authority(authority)))

    def save(self, authority: str, *, name: str, on_behalf_of: str, short_name: str, number_format: str,
             actor: str) -> dict[str, Any]:
        code = _checked_authority(authority)
        if problems := field_problems(name, on_behalf_of, short_name, number_format):
            raise InvalidInput("发文机关设置有误，未保存：" + "；".join(problems), problems=problems)
        with self.uow() as uow:
            row = uow.repo.issuer_row(code)
            before = view(issuer_of(uow.repo, code))
            if row is None:
                row = IssuerRow(authority=code, seal_png=None)
                uow.repo.add(row)
            row.name, row.on_behalf_of = name.strip(), on_behalf_of.strip() or None
            row.short_name, row.number_format = short_name.strip(), number_format.strip()
            row.updated_at, row.updated_by = clock.now(), actor
            after = view(issuer_of(uow.repo, code))
            audit_system(uow, actor, "issuer_saved", f"发文机关设置：{authority_name(code)} → {after['name']}"
                        + (f"（受{after['on_behalf_of']}委托）" if after["on_behalf_of"] else "")
                        + f"，文号如 {after['sample_number']}", authority=code,
                        before={k: before[k] for k in ("name", "on_behalf_of", "short_name", "number_format")},
                        after={k: after[k] for k in ("name", "on_behalf_of", "short_name", "number_format")})
            uow.commit()
            return after

    def set_seal(self, authority: str, png: bytes | None, *, actor: str) -> dict[str, Any]:
        """Keep the authority's seal (a PNG image), or remove it with None; the authority's settings must be saved
        first, so a seal is never printed under a name nobody confirmed."""
        code = _checked_authority(authority)
        if png is not None and (problem := seal_problem(png)):
            raise InvalidInput(f"印章未保存：{problem}")
        with self.uow() as uow:
            row = uow.repo.issuer_row(code)
            if row is None:
                raise NotFound(f"{authority_name(code)}的发文机关尚未设置，请先保存发文机关名称，再上传印章")
            row.seal_png, row.updated_at, row.updated_by = png, clock.now(), actor
            audit_system(uow, actor, "issuer_seal_set" if png else "issuer_seal_removed",
                        f"{'上传' if png else '删除'}印章：{row.name}", authority=code)
            uow.commit()
            return view(issuer_of(uow.repo, code))
