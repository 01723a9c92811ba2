"""Correcting a served document (DOMAIN.md "Who issues"; a served document never changes): a correction notice
(更正通知书) issued by the same authority names the document by its title, number and date and says what is
corrected. It goes to the institution, and into the case's history, as every document does."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

import workflows.operators  # noqa: F401  (registers the expression functions and service operators every step needs)
from adapters.outside.db import Document
from tasks.calendar import SHANGHAI
from tasks.errors import InvalidInput, NotFound
from tasks.text import text_problem
from workflows.engine import StepContext, run_step
from workflows.filings import store_document
from workflows.service.base import Capability
from workflows.transient import rerun_if_transient

MAX_CORRECTIONS: Final = 20
MAX_CORRECTION_CHARS: Final = 500


@dataclass(frozen=True)
class IssueCorrection:
    """The step that issues the correction: the case's workflow is untouched, only the document and history grow."""

    corrected: Document
    corrections: tuple[str, ...]
    issued: list[int] = field(default_factory=list)

    def apply(self, workflow: BpmnWorkflow, ctx: StepContext) -> None:
        corrected = self.corrected
        context: dict[str, Any] = {
            "case": corrected.case_id, "institution": ctx.instance.application["institution"],
            "issued_on": ctx.now.astimezone(SHANGHAI).date(), "corrected_title": corrected.title,
            "corrected_number": corrected.number, "corrected_issued_on": corrected.issued_at,
            "corrections": list(self.corrections), "articles": []}
        self.issued.append(store_document(ctx, "correction_notice", context, "", corrected.case_id,
                                          authority=corrected.issuer, corrects=corrected))


class Documents(Capability):
    """Correcting what was served."""

    @rerun_if_transient
    def correct(self, document_id: int, corrections: list[str], *, actor: str) -> dict[str, Any]:
        items = [c.strip() for c in corrections if c.strip()]
        problems = [f"第 {i} 项更正{p}" for i, c in enumerate(items, 1) if (p := text_problem(c))]
        problems += [f"第 {i} 项更正过长（{len(c)} 字），上限 {MAX_CORRECTION_CHARS} 字"
                     for i, c in enumerate(items, 1) if len(c) > MAX_CORRECTION_CHARS]
        if not items:
            problems.append("请写明更正的内容（原文有误之处及正确的内容）")
        if len(items) > MAX_CORRECTIONS:
            problems.append(f"一份更正通知书最多 {MAX_CORRECTIONS} 项更正，实有 {len(items)} 项")
        if problems:
            raise InvalidInput("更正有误，未出具：" + "；".join(problems), problems=problems)
        with self.uow() as uow:
            corrected = uow.repo.document(document_id)
            if corrected is None:
                raise NotFound(f"文书 {document_id} 不存在")
            if corrected.kind == "correction_notice":
                raise InvalidInput("更正通知书本身有误的，请对原文书重新出具更正通知书")
            if corrected.issuer is None:
                raise InvalidInput("该文书出具于系统记录发文机关之前，无法由系统更正，请线下办理")
            event = IssueCorrection(corrected, tuple(items))
            run_step(uow, corrected.case_id, event, actor)
            uow.commit()
            return {"case": corrected.case_id, "document_id": event.issued[0], "corrects": document_id}
