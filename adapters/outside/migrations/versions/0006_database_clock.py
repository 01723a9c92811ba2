"""database clock

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

One row (id 1) saying which clock may run on the database: whether it is a practice database (the virtual clock
`--now` may write to it) and since when, and by what, real time has run on it (then a virtual clock may not write to
it without an explicit, audited override; workflows/database_clock.py).

A database that already holds data when it is upgraded counts as live when it has an account or a sign-in attempt:
accounts exist for the web app, which runs in real time, and `beian up` creates them on a fresh database. Any other
database is neither practice nor live; it becomes live at its first use in real time. (The rule is repeated in
workflows/database_clock.py for a database whose schema is older than this migration.)
"""
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LEGACY_LIVE = "升级前已有账号或登录记录（迁移 0006 推定）"


def upgrade() -> None:
    op.create_table('database_clock',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('practice', sa.Boolean(), nullable=False),
    sa.Column('practice_since', sa.DateTime(), nullable=True),
    sa.Column('practice_by', sa.String(length=100), nullable=True),
    sa.Column('real_time_since', sa.DateTime(), nullable=True),
    sa.Column('real_time_by', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    bind = op.get_bind()
    used = any(bind.execute(sa.text(f"SELECT 1 FROM {table} LIMIT 1")).first()
               for table in ('users', 'sign_in_attempts'))
    clock = sa.table('database_clock', sa.column('id', sa.Integer()), sa.column('practice', sa.Boolean()),
                     sa.column('real_time_since', sa.DateTime()), sa.column('real_time_by', sa.String()))
    op.bulk_insert(clock, [{
        'id': 1, 'practice': False,
        # Stored as naive UTC, like every UTCDateTime column.
        'real_time_since': datetime.now(UTC).replace(tzinfo=None) if used else None,
        'real_time_by': LEGACY_LIVE if used else None,
    }])


def downgrade() -> None:
    op.drop_table('database_clock')
