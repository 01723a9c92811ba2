"""filing lifecycle: periods, changes, violations archive, suspension, branches

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21

Filings existing before this revision (all created by a new-filing case) get their record from that case's
application, their status 'active' becomes 'filed' and their first validity period is recorded.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('filing_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('filing_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.String(length=40), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('approved', sa.Boolean(), nullable=False),
    sa.Column('decided_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['filing_id'], ['filings.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('filing_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_filing_changes_filing_id'), ['filing_id'], unique=False)

    op.create_table('filing_periods',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('filing_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.Integer(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.Column('case_id', sa.String(length=40), nullable=False),
    sa.Column('granted_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['filing_id'], ['filings.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('filing_id', 'period', name='uq_filing_period')
    )
    with op.batch_alter_table('filing_periods', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_filing_periods_filing_id'), ['filing_id'], unique=False)

    op.create_table('violations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('filing_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.String(length=40), nullable=False),
    sa.Column('ground', sa.String(length=40), nullable=False),
    sa.Column('ground_label', sa.Text(), nullable=False),
    sa.Column('article', sa.Text(), nullable=False),
    sa.Column('measure', sa.String(length=40), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('decided_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['filing_id'], ['filings.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('violations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_violations_decided_at'), ['decided_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_violations_filing_id'), ['filing_id'], unique=False)

    with op.batch_alter_table('filings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('base_status', sa.String(length=40), nullable=False, server_default='filed'))
        batch_op.add_column(sa.Column('status_reason', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('status_article', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('status_since', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('record', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('suspended_by', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('parent_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('rating', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('termination_kind', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('terminated_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('termination', sa.JSON(), nullable=True))
        batch_op.create_index(batch_op.f('ix_filings_parent_id'), ['parent_id'], unique=False)
        batch_op.create_foreign_key('fk_filings_parent_id', 'filings', ['parent_id'], ['id'])

    with op.batch_alter_table('instances', schema=None) as batch_op:
        batch_op.add_column(sa.Column('filing_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('request', sa.JSON(), nullable=True))
        batch_op.create_index(batch_op.f('ix_instances_filing_id'), ['filing_id'], unique=False)
        batch_op.create_foreign_key('fk_instances_filing_id', 'filings', ['filing_id'], ['id'])

    # Existing filings: carry them into the lifecycle model.
    op.execute("UPDATE filings SET status = 'filed' WHERE status = 'active'")
    op.execute("UPDATE filings SET status_since = issued_at")
    op.execute("UPDATE filings SET record = "
               "(SELECT application FROM instances WHERE instances.case_id = filings.case_id)")
    op.execute("UPDATE instances SET filing_id = (SELECT id FROM filings WHERE filings.case_id = instances.case_id)")
    op.execute("INSERT INTO filing_periods (filing_id, period, valid_from, valid_until, case_id, granted_at) "
               "SELECT id, 1, valid_from, valid_until, case_id, issued_at FROM filings")
    with op.batch_alter_table('filings', schema=None) as batch_op:
        batch_op.alter_column('status_since', existing_type=sa.DateTime(), nullable=False)
        batch_op.alter_column('record', existing_type=sa.JSON(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('instances', schema=None) as batch_op:
        batch_op.drop_constraint('fk_instances_filing_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_instances_filing_id'))
        batch_op.drop_column('request')
        batch_op.drop_column('filing_id')

    with op.batch_alter_table('filings', schema=None) as batch_op:
        batch_op.drop_constraint('fk_filings_parent_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_filings_parent_id'))
        batch_op.drop_column('termination')
        batch_op.drop_column('terminated_on')
        batch_op.drop_column('termination_kind')
        batch_op.drop_column('rating')
        batch_op.drop_column('parent_id')
        batch_op.drop_column('suspended_by')
        batch_op.drop_column('record')
        batch_op.drop_column('status_since')
        batch_op.drop_column('status_article')
        batch_op.drop_column('status_reason')
        batch_op.drop_column('base_status')

    with op.batch_alter_table('violations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_violations_filing_id'))
        batch_op.drop_index(batch_op.f('ix_violations_decided_at'))

    op.drop_table('violations')
    with op.batch_alter_table('filing_periods', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_filing_periods_filing_id'))

    op.drop_table('filing_periods')
    with op.batch_alter_table('filing_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_filing_changes_filing_id'))

    op.drop_table('filing_changes')
    op.execute("UPDATE filings SET status = 'active' WHERE status <> 'terminated'")
