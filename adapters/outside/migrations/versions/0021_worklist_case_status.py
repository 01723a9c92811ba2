"""worklist status filter: the case's status on each open task, kept by the database

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05

`human_tasks.case_status` copies `instances.status` so that the worklist's status filter (which statuses a
caseworker's open tasks are in, and a page of one status) reads an index on (authority, role, case_status, …)
instead of looking up the case of every open task: that lookup made the filter's options cost 826 ms at 100k open
tasks against 4 ms for the rest of the page. Triggers keep the copy, so that no writer (a step, a bulk copy, an
administrator's repair in SQL) can leave it stale: a task gets its case's status when inserted, and a case's tasks
get the new status when the case's changes. Existing rows are filled here.

A later migration that rebuilds `human_tasks` or `instances` on SQLite (batch "recreate") drops their triggers
with the old table: it must create them again (tests/integration/test_worklist_pages.py checks them at head).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0021'
down_revision: str | None = '0020'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SQLITE = (
    # SQLite cannot change the row being inserted: it sets the column just after.
    """CREATE TRIGGER human_tasks_case_status AFTER INSERT ON human_tasks
       BEGIN
         UPDATE human_tasks SET case_status = (SELECT status FROM instances WHERE id = NEW.instance_id)
         WHERE rowid = NEW.rowid;
       END""",
    """CREATE TRIGGER instances_status_to_human_tasks AFTER UPDATE OF status ON instances
       WHEN NEW.status IS NOT OLD.status
       BEGIN
         UPDATE human_tasks SET case_status = NEW.status WHERE instance_id = NEW.id;
       END""",
)
_POSTGRESQL = (
    """CREATE FUNCTION human_tasks_case_status() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         NEW.case_status := (SELECT status FROM instances WHERE id = NEW.instance_id);
         RETURN NEW;
       END $$""",
    """CREATE TRIGGER human_tasks_case_status BEFORE INSERT ON human_tasks
       FOR EACH ROW EXECUTE FUNCTION human_tasks_case_status()""",
    """CREATE FUNCTION instances_status_to_human_tasks() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         UPDATE human_tasks SET case_status = NEW.status WHERE instance_id = NEW.id;
         RETURN NULL;
       END $$""",
    """CREATE TRIGGER instances_status_to_human_tasks AFTER UPDATE OF status ON instances
       FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
       EXECUTE FUNCTION instances_status_to_human_tasks()""",
)


def upgrade() -> None:
    with op.batch_alter_table('human_tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('case_status', sa.String(length=40), nullable=True))
    op.execute("UPDATE human_tasks SET case_status = "
               "(SELECT status FROM instances WHERE instances.id = human_tasks.instance_id)")
    op.create_index('ix_human_tasks_worklist_status', 'human_tasks',
                    ['authority', 'role', 'case_status', 'sort_due', 'created_at', 'id'], unique=False)
    for statement in _SQLITE if op.get_context().dialect.name == "sqlite" else _POSTGRESQL:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS instances_status_to_human_tasks"
               + ("" if op.get_context().dialect.name == "sqlite" else " ON instances"))
    op.execute("DROP TRIGGER IF EXISTS human_tasks_case_status"
               + ("" if op.get_context().dialect.name == "sqlite" else " ON human_tasks"))
    if op.get_context().dialect.name != "sqlite":
        op.execute("DROP FUNCTION IF EXISTS instances_status_to_human_tasks()")
        op.execute("DROP FUNCTION IF EXISTS human_tasks_case_status()")
    op.drop_index('ix_human_tasks_worklist_status', table_name='human_tasks')
    # A plain DROP COLUMN (SQLite 3.35+; the column is in no index or trigger any more), not a batch rebuild: SQLite's
    # reflection of the table rebuilt marks the columns after the generated `sort_due` as generated too.
    op.drop_column('human_tasks', 'case_status')
