"""Open tasks written straight into a migrated database (SQLAlchemy Core): many worklist rows with chosen due times,
roles and claims in a second, for the worklist's paging, counting and query-plan tests. Each task gets its own
case (an instance row), located where the test says, so the region and status filters have something to read."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Engine

from adapters.outside.db import HumanTask, Instance, ProcessDefinition

OPENED = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


@dataclass(frozen=True)
class OpenTask:
    due_at: datetime | None
    role: str = "intake"
    authority: str = "510000"
    claimed_by: str | None = None
    created_at: datetime = OPENED
    located: str = "510104"  # where the case is (the region filter)
    status: str = "acceptance"  # the case's status (the status filter)


def insert_open_tasks(engine: Engine, tasks: list[OpenTask]) -> list[str]:
    """The tasks as rows (with a case each); returns their ids in the order given."""
    with engine.begin() as conn:
        definition = conn.scalar(select(func.min(ProcessDefinition.id)))
        if definition is None:
            definition = conn.execute(insert(ProcessDefinition.__table__).values(
                process_id="filing_application", version=1, name="备案申请", file_name="x.bpmn", bpmn_xml="",
                forms={}, sha256="0" * 64, deployed_at=OPENED, deployed_by="test")).inserted_primary_key[0]
        first = (conn.scalar(select(func.max(Instance.id))) or 0) + 1
        instances: list[dict[str, Any]] = []
        rows: list[dict[str, Any]] = []
        for offset, task in enumerate(tasks):
            number, case = first + offset, f"WL-{first + offset:07d}"
            instances.append({
                "id": number, "case_id": case, "process_id": "filing_application", "definition_id": definition,
                "state": "{}", "status": task.status, "status_since": OPENED, "institution_name": f"机构{number}",
                "credit_code": f"{number:018d}", "region": task.located, "authority_level": "municipal",
                "application": {}, "received_at": OPENED, "started_at": OPENED, "updated_at": OPENED,
                "row_version": 1})
            rows.append({
                "id": str(uuid.uuid4()), "instance_id": number, "case_id": case, "process_id": "filing_application",
                "bpmn_id": "acceptance", "name": "受理审查", "role": task.role, "region": task.located,
                "authority": task.authority, "due_at": task.due_at, "provisional": False,
                "created_at": task.created_at, "claimed_by": task.claimed_by})
        conn.execute(insert(Instance.__table__), instances)
        conn.execute(insert(HumanTask.__table__), rows)
    return [row["id"] for row in rows]
