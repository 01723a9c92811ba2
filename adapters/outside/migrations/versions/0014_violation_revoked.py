"""violation revoked

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04

A sanction or an ordered termination revoked on review (Jilin 第三十六条) leaves the violations archive: its row is kept
(what was decided, and when) and marked revoked, with the day, the case and the reason; it no longer counts as a prior
violation (第二十六条（一）"一年内再次出现"). Empty for every row before, as none was revoked.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('violations', sa.Column('revoked', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('violations') as batch:
        batch.drop_column('revoked')
