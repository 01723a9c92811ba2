"""worklist order: a never-NULL urgency column and the indexes a page is read off

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04

`human_tasks.sort_due` is the due time with "no due time" as the far future (9999-12-31), computed by the database
from `due_at` (a stored generated column): the worklist orders by (sort_due, created_at, id), which the new indexes
follow per authority and role, per claim, and over every task (`beian tasks`), so a page no longer sorts every
matching task. Existing rows get their value when the column is added (PostgreSQL computes it for every row; on
SQLite, which cannot add a stored generated column in place, the table is rebuilt with it). The indexes on
(authority, role, due_at), which it supersedes, and on (role, region, due_at), which no query reads since tasks
have an authority (0004) and which misled PostgreSQL's planner into a bitmap over a whole role, are dropped.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# adapters/outside/db.py SORT_DUE_EXPRESSION as of this revision (a migration must not follow later code changes).
_SORT_DUE = "coalesce(due_at, '9999-12-31 00:00:00.000000')"


def _recreate() -> str:
    return "always" if op.get_context().dialect.name == "sqlite" else "auto"


def upgrade() -> None:
    with op.batch_alter_table('human_tasks', schema=None, recreate=_recreate()) as batch_op:
        batch_op.add_column(sa.Column('sort_due', sa.DateTime(), sa.Computed(_SORT_DUE, persisted=True),
                                      nullable=False))
        batch_op.drop_index('ix_human_tasks_authority_role_due')
        batch_op.drop_index('ix_human_tasks_role_region_due')
        batch_op.create_index('ix_human_tasks_worklist', ['authority', 'role', 'sort_due', 'created_at', 'id'],
                              unique=False)
        batch_op.create_index('ix_human_tasks_worklist_claim',
                              ['authority', 'role', 'claimed_by', 'sort_due', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_human_tasks_sort', ['sort_due', 'created_at', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('human_tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_human_tasks_sort')
        batch_op.drop_index('ix_human_tasks_worklist_claim')
        batch_op.drop_index('ix_human_tasks_worklist')
        batch_op.create_index('ix_human_tasks_authority_role_due', ['authority', 'role', 'due_at'], unique=False)
        batch_op.create_index('ix_human_tasks_role_region_due', ['role', 'region', 'due_at'], unique=False)
        batch_op.drop_column('sort_due')
