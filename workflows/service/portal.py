"""What an institution's people see and do in the portal (`/portal/`): its own cases and filings with their status and
what the authority waits for from it by when, its documents (the inbox), and the events it may send — each through
the same service call and the same checks the CLI uses (`app.cases.send`), recorded as done by 机构（用户名）.

Every read is filtered by the account's credit code. A case, filing or document of another institution is answered
exactly like one that does not exist, so guessing numbers tells nothing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from sqlalchemy import delete, select

from adapters.outside.db import Document, Filing, Instance, MessageWait, PortalDraft, Timer
from tasks.errors import InvalidInput, NotFound
from tasks.limits import MAX_APPLICATION_BYTES, submission_size_problem
from tasks.portal_accounts import InstitutionUser
from workflows import clock
from workflows.engine import definition_of, load_calendar
from workflows.filings import FILING_STATUSES
from workflows.lifecycle import PROCESS_LABELS
from workflows.messages import MESSAGES
from workflows.operators import STATUSES
from workflows.service.base import Capability, local
from workflows.service.cases import Cases
from workflows.service.supplements import Supplements

# What an institution may send to a case of its own that waits for it, and the events that open a procedure on its
# filing. Anything else (an objection, a rating, a national registry's answer) comes from someone else.
REPLIES: Final[Mapping[str, str]] = {key: MESSAGES[key] for key in (
    "statement", "rectification_done", "wrapup_done", "annual_report")}
STARTS: Final[Mapping[str, str]] = {key: MESSAGES[key] for key in (
    "renewal_application", "change_report", "termination_request")}
# What a case may wait for from the institution: the replies above, and a resubmission (补正: the corrected
# application with its files, sent through its own form).
WAITED: Final[Mapping[str, str]] = {**REPLIES, "resubmission": MESSAGES["resubmission"]}
# The procedures that begin with an investigation of the institution.
INVESTIGATIONS: Final = frozenset({"sanction", "ordered_termination", "automatic_termination"})
MAX_LISTED: Final = 200
NOT_FOUND: Final = "没有找到该记录（或不属于本机构）"


class Portal(Capability):
    def __init__(self, uow: Any, reading: Any, cases: Cases, supplements: Supplements) -> None:
        super().__init__(uow, reading)
        self._cases = cases
        self._supplements = supplements

    def overview(self, user: InstitutionUser) -> dict[str, Any]:
        """The institution's filings and cases, newest first; for each open case what the authority waits for from
        the institution and the deadlines running on it."""
        now = clock.now()
        with self.reading() as uow:
            cases = list(uow.session.scalars(
                select(Instance).where(Instance.credit_code == user.credit_code)
                .order_by(Instance.id.desc()).limit(MAX_LISTED)))
            # An investigation the institution has not been told of yet (no document served on it) is the
            # authority's own business: a report against the institution must not tip it off.
            told = set(uow.session.scalars(select(Document.case_id).distinct().where(
                Document.case_id.in_([c.case_id for c in cases if c.process_id in INVESTIGATIONS]))))
            cases = [c for c in cases if c.process_id not in INVESTIGATIONS or c.case_id in told]
            open_ids = [c.case_id for c in cases if c.completed_at is None]
            waits: dict[str, set[str]] = {}
            for wait in uow.session.scalars(select(MessageWait).where(MessageWait.case_id.in_(open_ids))):
                if wait.message in WAITED:
                    waits.setdefault(wait.case_id, set()).add(wait.message)
            timers: dict[str, list[dict[str, Any]]] = {}
            calendar = load_calendar(uow)
            for timer in uow.session.scalars(select(Timer).where(Timer.case_id.in_(open_ids))
                                             .order_by(Timer.due_at)):
                overdue = timer.due_at <= now
                timers.setdefault(timer.case_id, []).append(
                    {"name": timer.name, "due": local(timer.due_at), "overdue": overdue,
                     # What is left, as the legal periods count it (working days after today).
                     "working_days_left": None if overdue else calendar.working_days_left(timer.due_at, now)})
            filings = list(uow.session.scalars(select(Filing).where(Filing.credit_code == user.credit_code)
                                               .order_by(Filing.id)))
            return {
                "institution": user.institution_name, "credit_code": user.credit_code,
                "filings": [{"filing_number": f.filing_number, "status": f.status,
                             "status_label": FILING_STATUSES.get(f.status, f.status),
                             "valid_from": f.valid_from.isoformat(), "valid_until": f.valid_until.isoformat(),
                             "case": f.case_id} for f in filings],
                "cases": [{"case": c.case_id, "process": c.process_id,
                           "process_label": PROCESS_LABELS.get(c.process_id, c.process_id),
                           "status": c.status, "status_label": STATUSES.get(c.status, c.status),
                           "open": c.completed_at is None, "received_at": local(c.received_at),
                           "expected": [{"message": m, "label": WAITED[m]} for m in sorted(waits.get(c.case_id, ()))],
                           "deadlines": timers.get(c.case_id, [])} for c in cases],
            }

    def inbox(self, user: InstitutionUser) -> list[dict[str, Any]]:
        """Every document served on the institution, newest first."""
        with self.reading() as uow:
            rows = uow.session.execute(
                select(Document.id, Document.case_id, Document.kind, Document.title, Document.number,
                       Document.issued_at)
                .join(Instance, Instance.case_id == Document.case_id)
                .where(Instance.credit_code == user.credit_code)
                .order_by(Document.issued_at.desc(), Document.id.desc()).limit(MAX_LISTED))
            return [{"id": r.id, "case": r.case_id, "kind": r.kind, "title": r.title, "number": r.number,
                     "issued_at": local(r.issued_at)} for r in rows]

    def document(self, user: InstitutionUser, document_id: int) -> dict[str, Any]:
        with self.reading() as uow:
            row = uow.session.execute(
                select(Document).join(Instance, Instance.case_id == Document.case_id)
                .where(Document.id == document_id, Instance.credit_code == user.credit_code)).scalar_one_or_none()
            if row is None:
                raise NotFound(NOT_FOUND)
            return {"id": row.id, "case": row.case_id, "title": row.title, "number": row.number, "html": row.html,
                    "issued_at": local(row.issued_at)}

    def case(self, user: InstitutionUser, case_id: str) -> dict[str, Any]:
        """One case of the institution, as the overview lists it."""
        found = [c for c in self.overview(user)["cases"] if c["case"] == case_id]
        if not found:
            raise NotFound(NOT_FOUND)
        return found[0]

    def reply_schema(self, user: InstitutionUser, case_id: str, message: str) -> dict[str, Any]:
        """The form of a reply the case is waiting for now (the process's own message schema)."""
        if message not in REPLIES:
            raise NotFound(NOT_FOUND)
        case = self.case(user, case_id)
        if message not in [e["message"] for e in case["expected"]]:
            raise NotFound(f"案件 {case_id} 目前不等待“{REPLIES[message]}”")
        with self.reading() as uow:
            instance = uow.repo.instance(case_id)
            schema = definition_of(uow, instance.definition_id).message_schema(message) if instance else None
        if schema is None:
            raise NotFound(NOT_FOUND)
        return schema

    def reply(self, user: InstitutionUser, message: str, case_id: str, data: dict[str, Any]) -> dict[str, Any]:
        """Send the institution's reply to a case of its own (what the process does not expect now is refused by
        the same step the CLI runs, with the reason)."""
        if message not in REPLIES:
            raise InvalidInput(f"机构不能提交“{MESSAGES.get(message, message)}”")
        self._own_case(user, case_id)
        return self._cases.send(message, case_id, data, actor=user.actor)

    def start(self, user: InstitutionUser, message: str, filing_number: str, data: dict[str, Any]) -> dict[str, Any]:
        """Open a procedure on a filing of the institution (renewal, change report, voluntary termination)."""
        if message not in STARTS:
            raise InvalidInput(f"机构不能提交“{MESSAGES.get(message, message)}”")
        self.filing_record(user, filing_number)
        return self._cases.send(message, filing_number, data, actor=user.actor)

    def filing_record(self, user: InstitutionUser, filing_number: str) -> dict[str, Any]:
        """The particulars on file for a filing of the institution (what a change report starts from)."""
        with self.reading() as uow:
            filing = uow.session.scalars(select(Filing).where(Filing.filing_number == filing_number,
                                                              Filing.credit_code == user.credit_code)).first()
            if filing is None:
                raise NotFound(NOT_FOUND)
            return dict(filing.record)

    def requested(self, user: InstitutionUser, case_id: str) -> dict[str, Any]:
        """What the supplementation of the institution's case asked for, while the case waits for it."""
        self._own_case(user, case_id)
        requested = self._supplements.requested(case_id)
        if requested is None or not requested["waiting"]:
            raise NotFound(f"案件 {case_id} 目前不等待补正材料")
        return requested

    def application(self, user: InstitutionUser, case_id: str) -> dict[str, Any]:
        """The institution's application as it stands (to correct it)."""
        self._own_case(user, case_id)
        with self.reading() as uow:
            instance = uow.repo.instance(case_id)
            return dict(instance.application or {}) if instance else {}

    def resubmit(self, user: InstitutionUser, case_id: str, application: dict[str, Any], files: Any,
                 note: str) -> dict[str, Any]:
        """The institution's own resubmission, through the same call intake uses; its credit code cannot change."""
        self.requested(user, case_id)
        if (application.get("institution") or {}).get("credit_code") != user.credit_code:
            raise InvalidInput(f"统一社会信用代码应为本机构的 {user.credit_code}，补正不能改变申请机构")
        return self._supplements.resubmit(case_id, application=application, files=files, note=note,
                                          actor=user.actor)

    def save_draft(self, user: InstitutionUser, kind: str, items: list[tuple[str, str]]) -> str:
        """Keep a form's text fields as posted (one draft per person and kind, replaced); the time it was saved."""
        kept = [[name, value] for name, value in items if name != "csrf_token"]
        if problem := submission_size_problem(kept, MAX_APPLICATION_BYTES, "暂存内容"):
            raise InvalidInput(problem + "，未暂存")
        now = clock.now()
        with self.uow() as uow:
            row = uow.session.scalars(select(PortalDraft).where(PortalDraft.username == user.username,
                                                                PortalDraft.kind == kind)).first()
            if row is None:
                uow.repo.add(PortalDraft(username=user.username, credit_code=user.credit_code, kind=kind,
                                         items=kept, saved_at=now))
            else:
                row.items, row.saved_at = kept, now
            uow.commit()
        return local(now) or ""

    def draft(self, user: InstitutionUser, kind: str) -> dict[str, Any] | None:
        """The person's saved form: its posted fields and when it was saved."""
        with self.reading() as uow:
            row = uow.session.scalars(select(PortalDraft).where(PortalDraft.username == user.username,
                                                                PortalDraft.kind == kind)).first()
            if row is None or row.credit_code != user.credit_code:
                return None
            return {"items": [(str(n), str(v)) for n, v in row.items], "saved_at": local(row.saved_at)}

    def drop_draft(self, user: InstitutionUser, kind: str) -> None:
        with self.uow() as uow:
            uow.session.execute(delete(PortalDraft).where(PortalDraft.username == user.username,
                                                          PortalDraft.kind == kind))
            uow.commit()

    def _own_case(self, user: InstitutionUser, case_id: str) -> None:
        with self.reading() as uow:
            owned = uow.session.scalar(select(Instance.id).where(Instance.case_id == case_id,
                                                                   Instance.credit_code == user.credit_code))
        if owned is None:
            raise NotFound(NOT_FOUND)
