"""national filing

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04

Dual filing (XPCC 第十三条（四）): the national registry's answer to a filing it accepted — the national number and
the day of the answer — kept on the filing. Empty for filings made before, and in regions without dual filing.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('filings', sa.Column('national_filing', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('filings') as batch:
        batch.drop_column('national_filing')
