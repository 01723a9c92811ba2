"""Objections during publicity (公示异议), registered in the browser by the publicity officer as they arrive (in
person, by letter, by phone): who objected, how to reach them, what they say and the files they gave. The objection
reaches the case as its `objection` message (the supervision officer's review follows in the process, and the
objector is told the conclusion by the contact they left); the files are kept with the case. All of it or nothing:
an objection to a case not in publicity keeps nothing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from tasks.errors import InvalidInput, NotFound
from tasks.text import text_problem
from workflows.engine import run_step
from workflows.service.base import Capability
from workflows.service.commands import SendMessage
from workflows.service.materials import Upload, store_attachment
from workflows.transient import rerun_if_transient

EVIDENCE: Final = "objection_evidence"
MAX_ATTACHMENTS: Final = 5


class Objections(Capability):
    """Registering an objection with its files."""

    @rerun_if_transient
    def register(self, case_id: str, *, objector: str, contact: str, content: str, files: Sequence[Upload] = (),
                 actor: str) -> dict[str, Any]:
        payload = {"objector": objector.strip(), "content": content.strip()}
        if contact.strip():
            payload["contact"] = contact.strip()
        problems = [f"{label}{problem}" for label, value, multiline, required in
                    (("异议人", objector, False, True), ("联系方式", contact, False, False),
                     ("异议内容", content, True, True))
                    if (problem := text_problem(value, multiline=multiline, required=required))]
        if len(files) > MAX_ATTACHMENTS:
            problems.append(f"异议材料最多 {MAX_ATTACHMENTS} 份，实有 {len(files)} 份")
        if problems:
            raise InvalidInput("异议有误，未登记：" + "；".join(problems), problems=problems)
        with self.uow() as uow:
            instance = uow.repo.instance(case_id, for_update=True)
            if instance is None:
                raise NotFound(f"案件 {case_id} 不存在")
            stored = [store_attachment(uow, instance, Upload(EVIDENCE, f.file, f.content), actor) for f in files]
            ctx = run_step(uow, case_id, SendMessage("objection", payload), actor)
            uow.commit()
            return {"case": case_id, "status": ctx.instance.status, "attachments": stored}
