"""users and the authority of each open task

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22

Caseworker accounts (argon2id password hashes, roles, the authority code they work for), and the authority that
handles each open human task — the column the worklist and the access checks read. Tasks opened before this revision
get their authority from their case, as tasks/access.py authority_of computes it: a task whose region is a province
code (``xx0000``) belongs to the province (it has province jurisdiction, or its case is at province level); a
provincial-level case's task to the province; a municipal case's task to its city (``xxyy00``), or in 北京、天津、
上海、重庆 to its district. The SQL uses only substr and || so that it runs on SQLite and PostgreSQL alike.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# tasks/access.py DISTRICT_LEVEL_PROVINCES as of this revision (a migration must not follow later code changes).
_BACKFILL_AUTHORITY = """
UPDATE human_tasks SET authority = (
    SELECT CASE
        WHEN substr(human_tasks.region, 3, 4) = '0000' THEN human_tasks.region
        WHEN instances.authority_level = 'provincial' THEN substr(instances.region, 1, 2) || '0000'
        WHEN substr(instances.region, 1, 2) IN ('11', '12', '31', '50') THEN instances.region
        ELSE substr(instances.region, 1, 4) || '00'
    END
    FROM instances WHERE instances.id = human_tasks.instance_id
)
"""


def upgrade() -> None:
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=40), nullable=False),
    sa.Column('display_name', sa.String(length=100), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('roles', sa.JSON(), nullable=False),
    sa.Column('region', sa.String(length=6), nullable=False),
    sa.Column('is_admin', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('password_changed_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('username')
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_users_region'), ['region'], unique=False)

    with op.batch_alter_table('human_tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('authority', sa.String(length=6), nullable=True))

    op.execute(_BACKFILL_AUTHORITY)

    with op.batch_alter_table('human_tasks', schema=None) as batch_op:
        batch_op.alter_column('authority', existing_type=sa.String(length=6), nullable=False)
        batch_op.create_index('ix_human_tasks_authority_role_due', ['authority', 'role', 'due_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('human_tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_human_tasks_authority_role_due')
        batch_op.drop_column('authority')

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_region'))

    op.drop_table('users')
