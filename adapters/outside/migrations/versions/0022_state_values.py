"""state values: the region's profile kept apart from instance states, once per content

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05

Every case's state held a copy of its region's profile (about 5 KB, the same for every case of the region). A state
saved from now on holds the profile's SHA-256 digest instead (`{"beian:value": digest}`), the profile itself being a
row of `state_values`, and leaves out a task's fields at their defaults (workflows/state.py). States saved before load
as they are; nothing is rewritten on upgrade.

The downgrade writes every state back as the code before this revision reads it: each value put back in place, each
task with all its fields; then drops the table.
"""
import json
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = '0022'
down_revision: str | None = '0021'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# workflows/state.py as of this revision (a migration must not follow later code changes).
_VALUE_REF = "beian:value"
_TASK_DEFAULTS: dict[str, Any] = {"typename": "Task", "triggered": False, "internal_data": {}, "data": {}}


def upgrade() -> None:
    op.create_table(
        'state_values',
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('value', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('digest'),
    )


def downgrade() -> None:
    connection = op.get_bind()
    values = dict(connection.execute(sa.text("SELECT digest, value FROM state_values")).all())
    rows = connection.execute(sa.text("SELECT id, state FROM instances WHERE state <> ''")).all()
    for instance_id, state in rows:
        connection.execute(sa.text("UPDATE instances SET state = :state WHERE id = :id"),
                           {"state": _in_full(state, values), "id": instance_id})
    op.drop_table('state_values')


def _in_full(state: str, values: dict[str, str]) -> str:
    dct = json.loads(state)
    for process in (dct, *dct.get("subprocesses", {}).values()):
        for task in process.get("tasks", {}).values():
            for key, default in _TASK_DEFAULTS.items():
                task.setdefault(key, default if not isinstance(default, dict) else {})
            task.setdefault("delta", {"updates": {}, "deletions": []} if task.get("parent") is not None else {})
        for data in _data_of(process):
            for name, value in list(data.items()):
                if isinstance(value, dict) and set(value) == {_VALUE_REF}:
                    data[name] = json.loads(values[value[_VALUE_REF]])
    return json.dumps(dct, ensure_ascii=False, separators=(",", ":"))


def _data_of(process: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if isinstance(process.get("data"), dict):
        yield process["data"]
    for task in process.get("tasks", {}).values():
        if isinstance(task.get("data"), dict):
            yield task["data"]
        updates = (task.get("delta") or {}).get("updates")
        if isinstance(updates, dict):
            yield updates
