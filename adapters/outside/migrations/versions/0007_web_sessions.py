"""web sessions

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03

Server-side sessions of the web app (workflows/sessions.py): signing out, a password change, disabling an account
and an administrator's "sign out everywhere" end them at once, and every web server of a deployment shares them.
Sessions made before this migration were signed cookies; they are not carried over (everyone signs in again).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('web_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('username', sa.String(length=40), nullable=False),
    sa.Column('csrf_token', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('client', sa.String(length=64), nullable=False),
    sa.Column('user_agent', sa.String(length=200), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.Column('ended_reason', sa.String(length=20), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    op.create_index('ix_web_sessions_expires_at', 'web_sessions', ['expires_at'], unique=False)
    op.create_index('ix_web_sessions_username_ended_at', 'web_sessions', ['username', 'ended_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_web_sessions_username_ended_at', table_name='web_sessions')
    op.drop_index('ix_web_sessions_expires_at', table_name='web_sessions')
    op.drop_table('web_sessions')
