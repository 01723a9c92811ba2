"""case authorities

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04

The authorities that may see each case (tasks/access.py may_see_case), kept so that a list or search of cases is one
indexed query: the case's own authority, and every authority the process gave a task on it. Backfilled from the
cases (their own authority, with the SQL of 0004: substr and || only, for SQLite and PostgreSQL alike), the open
tasks, and the history's task_opened entries, which name their authority since revision 0004. A task done before
0004 on another authority's behalf (a provincial review of a municipal case) is not in the history with its
authority, so that authority sees such an old case only where it still has an open task on it.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# tasks/access.py authority_of(region, level) as of this revision (a migration must not follow later code changes).
_CASE_AUTHORITY = """
INSERT INTO case_authorities (case_id, authority)
SELECT case_id, CASE
        WHEN authority_level = 'provincial' THEN substr(region, 1, 2) || '0000'
        WHEN substr(region, 1, 2) IN ('11', '12', '31', '50') THEN region
        ELSE substr(region, 1, 4) || '00'
    END
FROM instances
"""
_OPEN_TASK_AUTHORITIES = """
INSERT INTO case_authorities (case_id, authority)
SELECT DISTINCT human_tasks.case_id, human_tasks.authority FROM human_tasks
WHERE NOT EXISTS (SELECT 1 FROM case_authorities c
                  WHERE c.case_id = human_tasks.case_id AND c.authority = human_tasks.authority)
"""
_BATCH = 1000


def upgrade() -> None:
    op.create_table('case_authorities',
    sa.Column('case_id', sa.String(length=40), nullable=False),
    sa.Column('authority', sa.String(length=6), nullable=False),
    sa.PrimaryKeyConstraint('case_id', 'authority')
    )
    op.create_index('ix_case_authorities_authority', 'case_authorities', ['authority'], unique=False)
    bind = op.get_bind()
    bind.execute(sa.text(_CASE_AUTHORITY))
    bind.execute(sa.text(_OPEN_TASK_AUTHORITIES))
    _backfill_from_history(bind)


def _backfill_from_history(bind: sa.engine.Connection) -> None:
    """The authorities of tasks done since 0004, from their task_opened entries (read in batches: the history of a
    busy system is long)."""
    events = sa.table("audit_log", sa.column("id", sa.Integer), sa.column("case_id", sa.String),
                      sa.column("action", sa.String), sa.column("detail", sa.JSON))
    known = {(row.case_id, row.authority)
             for row in bind.execute(sa.text("SELECT case_id, authority FROM case_authorities"))}
    after = 0
    while True:
        rows = bind.execute(sa.select(events.c.id, events.c.case_id, events.c.detail)
                            .where(events.c.action == "task_opened", events.c.id > after)
                            .order_by(events.c.id).limit(_BATCH)).all()
        if not rows:
            return
        after = rows[-1].id
        new = {(row.case_id, row.detail["authority"]) for row in rows
               if row.case_id and isinstance(row.detail, dict) and isinstance(row.detail.get("authority"), str)
               and len(row.detail["authority"]) == 6} - known
        if new:
            bind.execute(sa.text("INSERT INTO case_authorities (case_id, authority) VALUES (:case_id, :authority)"),
                         [{"case_id": case_id, "authority": authority} for case_id, authority in sorted(new)])
            known |= new


def downgrade() -> None:
    op.drop_index('ix_case_authorities_authority', table_name='case_authorities')
    op.drop_table('case_authorities')
