"""outside systems

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04

What the deliverers know of each outside system: since when it has failed every delivery (down_since, empty while it
answers), its last error and when it last came back. The stuck watch lists a system down for longer than
BEIAN_OUTSIDE_DOWN_MINUTES as one row; the deliverers hold its messages back and probe it once per run.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('outside_systems',
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('down_since', sa.DateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('last_failure_at', sa.DateTime(), nullable=True),
    sa.Column('last_success_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('key')
    )


def downgrade() -> None:
    op.drop_table('outside_systems')
