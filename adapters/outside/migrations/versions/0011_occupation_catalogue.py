"""occupation catalogue

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04

The national occupation catalogue an administrator loads (tasks/occupations.py): each code with its name, whether
it is a skill occupation or an access-controlled one, and its standard. The pre-check reads it; an empty table means
no catalogue was loaded, and the pre-check says it could not check.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('occupation_catalogue',
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('category', sa.String(length=10), nullable=False),
    sa.Column('standard', sa.String(length=200), nullable=True),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('loaded_at', sa.DateTime(), nullable=False),
    sa.Column('loaded_by', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('code')
    )


def downgrade() -> None:
    op.drop_table('occupation_catalogue')
