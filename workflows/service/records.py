"""Records: a case or a filing as people read it (status and why, what it waits for and by when, its documents and
history), the list of filings, and one document."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from adapters.outside.db import Filing, HumanTask, Timer
from adapters.outside.documents import TEMPLATE_DIR
from adapters.outside.pdf import html_to_pdf, pdf_file_name
from adapters.outside.repository import UnitOfWork
from tasks.application import LEVEL_NAMES
from tasks.application_diff import application_changes
from tasks.errors import InvalidInput, NotFound
from workflows import clock
from workflows.filings import FILING_STATUSES, changed_record
from workflows.operators import STATUSES
from workflows.service.base import Capability, local


class Records(Capability):
    """Reading cases, filings and documents."""

    def show(self, target: str) -> dict[str, Any]:
        """A case, or a filing with all its cases: status, why, since when, what it waits for and by when."""
        now = clock.now()
        with self.reading() as uow:
            instance = uow.repo.instance(target)
            filing = uow.repo.filing_for_case(target) if instance else uow.repo.filing_by_number(target)
            if instance is None and filing is not None:
                instance = uow.repo.instance(filing.case_id)
            if instance is None:
                raise NotFound(f"案件或备案 {target} 不存在")
            cases = uow.repo.cases_of_filing(filing) if filing else [instance]
            case_ids = [c.case_id for c in cases]
            tasks = [t for case in case_ids for t in uow.repo.open_tasks(case)]
            timers = [t for case in cases for t in uow.repo.timers(case.id)]
            subject = filing if filing else instance
            view: dict[str, Any] = {
                "case": instance.case_id,
                "process": instance.process_id,
                "status": subject.status,
                "status_label": (FILING_STATUSES if filing else STATUSES).get(subject.status, subject.status),
                "status_reason": subject.status_reason,
                "status_article": subject.status_article,
                "status_since": local(subject.status_since),
                "termination_kind": filing.termination_kind if filing else None,
                "case_status": instance.status,
                "case_status_label": STATUSES.get(instance.status, instance.status),
                "institution": (filing.record if filing else instance.application)["institution"],
                "application": instance.application,
                "open": instance.completed_at is None,
                "region": instance.region,
                "authority_level": instance.authority_level,
                "received_at": local(instance.received_at),
                "filing_number": filing.filing_number if filing else None,
                "valid_from": filing.valid_from.isoformat() if filing else None,
                "valid_until": filing.valid_until.isoformat() if filing else None,
                "filing": _filing_view(uow, filing) if filing else None,
                "cases": [{"case": c.case_id, "process": c.process_id, "status": c.status,
                           "status_label": STATUSES.get(c.status, c.status), "open": c.completed_at is None,
                           "started_at": local(c.started_at)} for c in cases],
                # The current-step panel: every open task, with or without a deadline, and who holds it.
                "open_tasks": [{"case": t.case_id, "id": t.id, "name": t.name, "role": t.role,
                                "claimed_by": t.claimed_by, "due": local(t.due_at), "provisional": t.provisional,
                                "overdue": bool(t.due_at and t.due_at <= now), "since": local(t.created_at)}
                               for t in tasks],
                "waiting_for": [{"case": t.case_id, "task": t.name, "role": t.role, "due": local(t.due_at)}
                                for t in tasks]
                + [{"case": t.case_id, "timer": t.name, "due": local(t.due_at)} for t in timers],
                "deadlines": _pending_deadlines(tasks, timers, now),
                "documents": [{"id": d.id, "case": d.case_id, "kind": d.kind, "title": d.title, "number": d.number,
                               "issued_at": local(d.issued_at), "issuer": d.issuer, "corrects": d.corrects_id}
                              for d in uow.repo.documents(case_ids)],
                "error": next((c.error for c in cases if c.error), None),
                "history": [{"at": local(e.at), "case": e.case_id, "actor": e.actor, "action": e.action,
                             "summary": e.summary, "article": e.article} for e in uow.repo.history(case_ids)],
            }
            return view

    def reported_changes(self, case_id: str) -> dict[str, Any] | None:
        """What a change report asks to change, field by field, against the particulars on file when it was made
        (before → after, as a resubmission's changes are shown); None for a case that is not a change report."""
        with self.reading() as uow:
            instance = uow.repo.instance(case_id)
            if instance is None:
                raise NotFound(f"案件 {case_id} 不存在")
            request = instance.request or {}
            changes = request.get("changes")
            if instance.process_id != "change_report" or not isinstance(changes, list):
                return None
            proposed, _ = changed_record(instance.application, changes)
            return {"at": local(instance.received_at), "fields": application_changes(instance.application, proposed),
                    "note": str(request.get("explanation") or "")}

    def filings(self, status: str | None = None, region: str | None = None) -> list[dict[str, Any]]:
        if status is not None and status not in FILING_STATUSES:
            raise InvalidInput(f"未知的备案状态“{status}”；可选：{'、'.join(FILING_STATUSES)}")
        with self.reading() as uow:
            return [_filing_view(uow, f, brief=True) for f in uow.repo.filings(status, region)]

    def document(self, document_id: int) -> dict[str, Any]:
        with self.reading() as uow:
            document = uow.repo.document(document_id)
            if document is None:
                raise NotFound(f"文书 {document_id} 不存在")
            return {"id": document.id, "case": document.case_id, "kind": document.kind, "title": document.title,
                    "number": document.number, "html": document.html}

    def pdf(self, document_id: int) -> tuple[str, bytes]:
        """The file name and the PDF of an issued document; NotFound if there is none, PdfError if the fonts lack."""
        document = self.document(document_id)
        return pdf_file_name(document), html_to_pdf(document["html"], base_url=TEMPLATE_DIR.resolve().as_uri() + "/")


def _filing_view(uow: UnitOfWork, filing: Filing, brief: bool = False) -> dict[str, Any]:
    parent = uow.repo.filing(filing.parent_id) if filing.parent_id else None
    view: dict[str, Any] = {
        "filing_number": filing.filing_number,
        "case": filing.case_id,
        "institution": filing.institution_name,
        "credit_code": filing.credit_code,
        "region": filing.region,
        "authority_level": filing.authority_level,
        "status": filing.status,
        "status_label": FILING_STATUSES.get(filing.status, filing.status),
        "status_reason": filing.status_reason,
        "status_article": filing.status_article,
        "status_since": local(filing.status_since),
        "termination_kind": filing.termination_kind,
        "terminated_on": filing.terminated_on.isoformat() if filing.terminated_on else None,
        "valid_from": filing.valid_from.isoformat(),
        "valid_until": filing.valid_until.isoformat(),
        "occupations": [o["code"] for o in filing.record["occupations"]],
        # As people read them: the name, the code and the levels filed.
        "occupations_named": [f"{o['name']}（{o['code']}）："
                              + "、".join(LEVEL_NAMES.get(level, str(level)) for level in sorted(o["levels"],
                                                                                               reverse=True))
                              for o in filing.record["occupations"]],
        "parent": parent.filing_number if parent else None,
        "rating": filing.rating,
        "suspended_by": list(filing.suspended_by),
        "national_filing": dict(filing.national_filing) if filing.national_filing else None,
    }
    if brief:
        return view
    view["periods"] = [{"period": p.period, "valid_from": p.valid_from.isoformat(),
                        "valid_until": p.valid_until.isoformat(), "case": p.case_id}
                       for p in uow.repo.filing_periods(filing.id)]
    view["branches"] = [{"filing_number": b.filing_number, "institution": b.institution_name, "status": b.status}
                        for b in uow.repo.branches(filing.id)]
    view["changes"] = [{"case": c.case_id, "approved": c.approved, "changes": c.changes,
                        "decided_at": local(c.decided_at)} for c in uow.repo.filing_changes(filing.id)]
    view["violations"] = [{"case": v.case_id, "ground": v.ground, "ground_label": v.ground_label,
                           "article": v.article, "measure": v.measure, "summary": v.summary,
                           "decided_at": local(v.decided_at), "revoked": v.revoked}
                          for v in uow.repo.violations(filing.id)]
    view["termination"] = filing.termination
    return view


def _pending_deadlines(tasks: list[HumanTask], timers: list[Timer], now: datetime) -> list[dict[str, Any]]:
    """Each pending deadline once: a task and the escalation timer armed on its deadline are one legal period."""
    views: dict[tuple[Any, ...], dict[str, Any]] = {}
    for kind, rows in (("task", [t for t in tasks if t.deadline]), ("timer", timers)):
        for row in rows:
            deadline = row.deadline
            key = (row.due_at, deadline["start"], deadline["rule"]) if deadline else (row.due_at, row.name)
            views.setdefault(key, _deadline_view(row.name, row.deadline, row.due_at, now, kind))
    return list(views.values())


def _deadline_view(name: str, deadline: dict[str, Any] | None, due_at: datetime | None, now: datetime,
                   kind: str) -> dict[str, Any]:
    deadline = deadline or {}
    return {"name": name, "kind": kind, "due": local(due_at), "last_day": deadline.get("last_day"),
            "provisional": bool(deadline.get("provisional")), "overdue": bool(due_at and due_at <= now),
            "explanation": deadline.get("explanation", "")}
