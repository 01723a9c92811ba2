"""institution accounts

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04

The institutions' own accounts for the portal (`/portal/`), each acting for one unified social credit code, and the
one-time codes that prove a contact (registering, accepting an invitation).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('institution_accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=32), nullable=False),
    sa.Column('display_name', sa.String(length=100), nullable=False),
    sa.Column('credit_code', sa.String(length=18), nullable=False),
    sa.Column('institution_name', sa.String(length=200), nullable=False),
    sa.Column('contact', sa.String(length=100), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('is_admin', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('password_changed_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('username')
    )
    op.create_index('ix_institution_accounts_credit_code', 'institution_accounts', ['credit_code'])
    op.create_table('one_time_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=20), nullable=False),
    sa.Column('credit_code', sa.String(length=18), nullable=False),
    sa.Column('contact', sa.String(length=100), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('tries', sa.Integer(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.Column('client', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_one_time_codes_credit_code', 'one_time_codes', ['credit_code'])
    op.create_index('ix_one_time_codes_contact_created_at', 'one_time_codes', ['contact', 'created_at'])
    op.create_index('ix_one_time_codes_client_created_at', 'one_time_codes', ['client', 'created_at'])


def downgrade() -> None:
    op.drop_index('ix_one_time_codes_client_created_at', table_name='one_time_codes')
    op.drop_index('ix_one_time_codes_contact_created_at', table_name='one_time_codes')
    op.drop_index('ix_one_time_codes_credit_code', table_name='one_time_codes')
    op.drop_table('one_time_codes')
    op.drop_index('ix_institution_accounts_credit_code', table_name='institution_accounts')
    op.drop_table('institution_accounts')
