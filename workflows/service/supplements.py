"""Supplementation (补正) as it really happens: the authority names the missing or deficient items once, by the
region's checklist and in words; the institution's resubmission brings corrected fields and files; the caseworker
then sees what changed since the last submission before deciding again.

The request is the `supplement_requested` entry the notice's step writes (its checklist items and words). A
resubmission, in one unit of work: the corrected application (same institution, same place and level — those decide
who handles the case, so changing them is a new application), each file a new version of its item, an entry with
the changed fields and the new files, then the `resubmission` message that restarts the acceptance clock. If the
case does not wait for a resubmission, nothing of it is kept."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from adapters.outside.db import AuditEvent
from adapters.outside.repository import UnitOfWork
from tasks.application import ApplicationError, validate_application
from tasks.application_diff import application_changes
from tasks.calendar import SHANGHAI
from tasks.errors import IllegalEvent, InvalidInput, NotFound, ReceivedInFuture
from tasks.regions import profile_for_region
from workflows import clock
from workflows.engine import run_step
from workflows.service.base import Capability, audit_system, local
from workflows.service.commands import SendMessage
from workflows.service.materials import Upload, check_items, store
from workflows.transient import rerun_if_transient

# Who handles a case follows from these: a resubmission cannot change them.
_FIXED = (("institution", "credit_code", "统一社会信用代码"), ("region", None, "所在地区"),
          ("authority_level", None, "备案层级"))


class Supplements(Capability):
    """What a supplementation asked for, the resubmission that answers it, and what changed."""

    def requested(self, case_id: str) -> dict[str, Any] | None:
        """The latest request: its checklist items (key and name), its words and when; None if none was made."""
        with self.reading() as uow:
            instance = _case(uow, case_id)
            entry = _latest(uow, case_id, "supplement_requested")
            if entry is None:
                return None
            profile = profile_for_region(instance.region)
            items = [{"item": key, "name": entry_.name if (entry_ := profile.material(key)) else key}
                     for key in entry.detail.get("items", [])]
            return {"items": items, "reasons": entry.detail.get("reasons", ""), "at": local(entry.at),
                    "waiting": "resubmission" in {w.message for w in uow.repo.message_waits(instance.id)}}

    @rerun_if_transient
    def resubmit(self, case_id: str, *, received_at: datetime | None = None, application: object | None = None,
                 files: Sequence[Upload] = (), note: str = "", actor: str = "applicant") -> dict[str, Any]:
        """Register the institution's resubmission (see the module's docstring); InvalidInput or IllegalEvent, with
        nothing kept, when it cannot be taken."""
        now = clock.now()
        received = received_at or now
        if received > now:
            raise ReceivedInFuture("收到补正材料的时间晚于现在，不能是将来的时间；未登记")
        with self.uow() as uow:
            instance = uow.repo.instance(case_id, for_update=True)
            if instance is None:
                raise NotFound(f"案件 {case_id} 不存在")
            if "resubmission" not in {w.message for w in uow.repo.message_waits(instance.id)}:
                raise IllegalEvent(f"案件 {case_id} 当前不在等待补正材料，未登记")
            corrected = _corrected(instance.application, application)
            changes = application_changes(instance.application, corrected)
            check_items(files, instance.region, corrected["institution"]["type"])
            if not changes and not files and not note.strip():
                raise InvalidInput("补正没有任何内容：请改正申请中的栏目、补交材料文件或填写补正说明；未登记")
            if changes:
                instance.application = corrected
                instance.institution_name = corrected["institution"]["name"]
            stored = [store(uow, instance, upload, actor) for upload in files]
            audit_system(uow, actor, "application_resubmitted",
                         f"收到补正：改正 {len(changes)} 个栏目，补交 {len(stored)} 份材料", case_id=case_id,
                         changes=changes, materials=[v["id"] for v in stored], note=note)
            payload: dict[str, Any] = {"received_at": received.astimezone(SHANGHAI).isoformat()}
            if note.strip():
                payload["note"] = note.strip()
            ctx = run_step(uow, case_id, SendMessage("resubmission", payload), actor)
            uow.commit()
            return {"case": case_id, "status": ctx.instance.status, "changes": changes, "materials": stored}

    def latest_changes(self, case_id: str) -> dict[str, Any] | None:
        """What the latest resubmission changed: fields (before → after), the new files with their items, and the
        note; None if the case had no resubmission."""
        with self.reading() as uow:
            _case(uow, case_id)
            entry = _latest(uow, case_id, "application_resubmitted")
            if entry is None:
                return None
            ids = set(entry.detail.get("materials", []))
            files = [m for m in uow.repo.materials(case_id) if m.id in ids]
            return {"at": local(entry.at), "actor": entry.actor, "fields": entry.detail.get("changes", []),
                    "files": [{"id": m.id, "item": m.item, "version": m.version, "file_name": m.file_name}
                              for m in files],
                    "note": entry.detail.get("note", "")}


def _case(uow: UnitOfWork, case_id: str) -> Any:
    instance = uow.repo.instance(case_id)
    if instance is None:
        raise NotFound(f"案件 {case_id} 不存在")
    return instance


def _latest(uow: UnitOfWork, case_id: str, action: str) -> AuditEvent | None:
    return next((e for e in reversed(uow.repo.history(case_id)) if e.action == action), None)


def _corrected(current: dict[str, Any], application: object | None) -> dict[str, Any]:
    if application is None:
        return current
    try:
        corrected = validate_application(application)
    except ApplicationError as exc:
        raise InvalidInput(f"补正后的申请不符合要求：{'；'.join(exc.problems)}", problems=exc.problems) from None
    for key, inner, label in _FIXED:
        before = current[key][inner] if inner else current.get(key)
        after = corrected[key][inner] if inner else corrected.get(key)
        if before != after:
            raise InvalidInput(f"补正不能改变{label}（原为“{before}”，补正为“{after}”）：它决定由哪个机关办理，"
                               "应撤回后重新申请；未登记")
    return corrected
