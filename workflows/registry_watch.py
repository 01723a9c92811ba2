"""Asking the enterprise registry whether filed institutions still exist (Jilin 第三十一条: 注销、破产或关闭).

Run daily (the Prefect deployment "beian-registry-check", or `beian registry-check`). Every live filing's credit
code is looked up; a deregistered, bankrupt or closed institution gets the `deregistered` event, which opens the
automatic termination through the same service call an officer would make. A filing whose lookup fails is reported
and asked again on the next run; nothing is decided on a failed lookup.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

from adapters.outside.settings import Settings
from adapters.outside.systems import OutsideError, enterprise_status
from tasks.errors import IllegalEvent
from workflows import clock
from workflows.lifecycle import ENTITY_CLOSED_REASONS
from workflows.on_progress import OnProgress, no_progress

if TYPE_CHECKING:
    from workflows.service import Beian


def check_deregistrations(app: Beian, settings: Settings, actor: str = "registry",
                          on_progress: OnProgress = no_progress) -> dict[str, Any]:
    system = settings.system("enterprise_registry")
    with app.uow() as uow:
        live = [(f.filing_number, f.credit_code) for f in uow.repo.filings() if not f.termination_kind]
    opened: list[dict[str, Any]] = []
    already: list[str] = []
    errors: list[dict[str, str]] = []
    with httpx.Client() as client:
        for done, (number, credit_code) in enumerate(live):
            on_progress(done, len(live), "核查市场主体登记状态")
            try:
                status = enterprise_status(system, credit_code, timeout=settings.http_timeout_seconds, client=client)
            except OutsideError as exc:
                errors.append({"filing": number, "error": exc.message})
                continue
            if status.status not in ENTITY_CLOSED_REASONS:
                continue
            payload: dict[str, Any] = {"reason": status.status}
            if status.since is not None:
                payload["date"] = status.since.isoformat()
            try:
                result = app.cases.send("deregistered", number, payload, actor=actor)
            except IllegalEvent:  # an automatic termination is already under way, or the filing just ended
                already.append(number)
                continue
            opened.append({"filing": number, "case": result.get("case"), "reason": status.status})
    on_progress(len(live), len(live), "核查市场主体登记状态")
    return {"now": clock.now().isoformat(), "checked": len(live), "opened": opened, "already": already,
            "errors": errors}
