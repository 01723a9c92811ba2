"""application channel

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04

How a filing application came in: "online" when the institution filed it in the portal; empty for paper applications
registered by intake (every one before).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('instances', sa.Column('channel', sa.String(length=10), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('instances') as batch:
        batch.drop_column('channel')
