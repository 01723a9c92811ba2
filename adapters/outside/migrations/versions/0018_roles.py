"""added roles

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04

Caseworker roles an administrator adds (a 法制审核员 for a new lane), beside the built-in ones in tasks/roles.py.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('roles',
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('label', sa.String(length=40), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('level', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('key'),
    sa.UniqueConstraint('label')
    )


def downgrade() -> None:
    op.drop_table('roles')
