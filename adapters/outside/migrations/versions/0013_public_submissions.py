"""public submissions

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04

What the public sends through the public pages (an objection during publicity), by address and time, so that the
pages can bound it per address and per day.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('public_submissions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('client', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('case_id', sa.String(length=40), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_public_submissions_kind_client_at', 'public_submissions', ['kind', 'client', 'at'])
    op.create_index('ix_public_submissions_kind_at', 'public_submissions', ['kind', 'at'])


def downgrade() -> None:
    op.drop_index('ix_public_submissions_kind_at', table_name='public_submissions')
    op.drop_index('ix_public_submissions_kind_client_at', table_name='public_submissions')
    op.drop_table('public_submissions')
