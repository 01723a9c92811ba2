"""sign-in attempts

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21

Every sign-in attempt to the web app (success, failure, refused while locked) and every administrator's unlock, by
username and client address: the sign-in audit, and what the lockout after repeated failures counts.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('sign_in_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('username', sa.String(length=40), nullable=False),
    sa.Column('client', sa.String(length=64), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('sign_in_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_sign_in_attempts_client_at', ['client', 'at'], unique=False)
        batch_op.create_index('ix_sign_in_attempts_username_at', ['username', 'at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('sign_in_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_sign_in_attempts_username_at')
        batch_op.drop_index('ix_sign_in_attempts_client_at')

    op.drop_table('sign_in_attempts')
