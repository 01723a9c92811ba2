"""initial schema: definitions, instances, projections, filings, documents, audit log, calendar

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-21
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# The audit log is append-only: the database itself refuses to change or remove history.
_APPEND_ONLY_SQLITE = (
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
)
_APPEND_ONLY_POSTGRESQL = (
    "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$",
    "CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    # TRUNCATE fires no row triggers on PostgreSQL (SQLite has no TRUNCATE; its DELETE fires the row trigger).
    "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
)


revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('case_id', sa.String(length=40), nullable=True),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('article', sa.Text(), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_case_id'), ['case_id'], unique=False)

    op.create_table('calendar_years',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('arrangement', sa.JSON(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('loaded_at', sa.DateTime(), nullable=False),
    sa.Column('loaded_by', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('year')
    )
    op.create_table('documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=60), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('number', sa.String(length=80), nullable=True),
    sa.Column('html', sa.Text(), nullable=False),
    sa.Column('issued_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_documents_case_id'), ['case_id'], unique=False)

    op.create_table('process_definitions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('process_id', sa.String(length=100), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('file_name', sa.String(length=200), nullable=False),
    sa.Column('bpmn_xml', sa.Text(), nullable=False),
    sa.Column('forms', sa.JSON(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('deployed_at', sa.DateTime(), nullable=False),
    sa.Column('deployed_by', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('process_id', 'version', name='uq_definition_version')
    )
    with op.batch_alter_table('process_definitions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_process_definitions_process_id'), ['process_id'], unique=False)

    op.create_table('sequences',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('filings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('filing_number', sa.String(length=80), nullable=False),
    sa.Column('case_id', sa.String(length=40), nullable=False),
    sa.Column('credit_code', sa.String(length=18), nullable=False),
    sa.Column('institution_name', sa.String(length=200), nullable=False),
    sa.Column('institution_type', sa.String(length=20), nullable=False),
    sa.Column('region', sa.String(length=6), nullable=False),
    sa.Column('authority_level', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=40), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.Column('issued_at', sa.DateTime(), nullable=False),
    sa.Column('receipt_document_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['receipt_document_id'], ['documents.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('filing_number')
    )
    with op.batch_alter_table('filings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_filings_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_filings_credit_code'), ['credit_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_filings_region'), ['region'], unique=False)
        batch_op.create_index(batch_op.f('ix_filings_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_filings_valid_until'), ['valid_until'], unique=False)

    op.create_table('instances',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.String(length=40), nullable=False),
    sa.Column('process_id', sa.String(length=100), nullable=False),
    sa.Column('definition_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=40), nullable=False),
    sa.Column('status_reason', sa.Text(), nullable=False),
    sa.Column('status_article', sa.Text(), nullable=False),
    sa.Column('status_since', sa.DateTime(), nullable=False),
    sa.Column('institution_name', sa.String(length=200), nullable=False),
    sa.Column('credit_code', sa.String(length=18), nullable=False),
    sa.Column('region', sa.String(length=6), nullable=False),
    sa.Column('authority_level', sa.String(length=20), nullable=False),
    sa.Column('application', sa.JSON(), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('completed_at', sa.DateTime(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('error_at', sa.DateTime(), nullable=True),
    sa.Column('row_version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['definition_id'], ['process_definitions.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id')
    )
    with op.batch_alter_table('instances', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_instances_credit_code'), ['credit_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_instances_definition_id'), ['definition_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_instances_process_id'), ['process_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_instances_region'), ['region'], unique=False)
        batch_op.create_index(batch_op.f('ix_instances_status'), ['status'], unique=False)

    op.create_table('filing_occupations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('filing_id', sa.Integer(), nullable=False),
    sa.Column('occupation_code', sa.String(length=20), nullable=False),
    sa.Column('occupation_name', sa.String(length=200), nullable=False),
    sa.Column('levels', sa.JSON(), nullable=False),
    sa.Column('basis', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['filing_id'], ['filings.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('filing_occupations', schema=None) as batch_op:
        batch_op.create_index('ix_filing_occupations_code', ['occupation_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_filing_occupations_filing_id'), ['filing_id'], unique=False)

    op.create_table('human_tasks',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.String(length=40), nullable=False),
    sa.Column('process_id', sa.String(length=100), nullable=False),
    sa.Column('bpmn_id', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=40), nullable=False),
    sa.Column('region', sa.String(length=6), nullable=False),
    sa.Column('form', sa.String(length=200), nullable=True),
    sa.Column('article', sa.Text(), nullable=False),
    sa.Column('due_at', sa.DateTime(), nullable=True),
    sa.Column('provisional', sa.Boolean(), nullable=False),
    sa.Column('deadline', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('context', sa.JSON(), nullable=True),
    sa.Column('claimed_by', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['instances.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('human_tasks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_human_tasks_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_human_tasks_due_at'), ['due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_human_tasks_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_human_tasks_provisional'), ['provisional'], unique=False)
        batch_op.create_index('ix_human_tasks_role_region_due', ['role', 'region', 'due_at'], unique=False)

    op.create_table('timers',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.String(length=40), nullable=False),
    sa.Column('bpmn_id', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('due_at', sa.DateTime(), nullable=False),
    sa.Column('provisional', sa.Boolean(), nullable=False),
    sa.Column('deadline', sa.JSON(), nullable=True),
    sa.Column('armed_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['instances.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('timers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_timers_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_timers_due_at'), ['due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_timers_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_timers_provisional'), ['provisional'], unique=False)


    dialect = op.get_bind().dialect.name
    for statement in _APPEND_ONLY_POSTGRESQL if dialect == "postgresql" else _APPEND_ONLY_SQLITE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_change ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    with op.batch_alter_table('timers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_timers_provisional'))
        batch_op.drop_index(batch_op.f('ix_timers_instance_id'))
        batch_op.drop_index(batch_op.f('ix_timers_due_at'))
        batch_op.drop_index(batch_op.f('ix_timers_case_id'))

    op.drop_table('timers')
    with op.batch_alter_table('human_tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_human_tasks_role_region_due')
        batch_op.drop_index(batch_op.f('ix_human_tasks_provisional'))
        batch_op.drop_index(batch_op.f('ix_human_tasks_instance_id'))
        batch_op.drop_index(batch_op.f('ix_human_tasks_due_at'))
        batch_op.drop_index(batch_op.f('ix_human_tasks_case_id'))

    op.drop_table('human_tasks')
    with op.batch_alter_table('filing_occupations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_filing_occupations_filing_id'))
        batch_op.drop_index('ix_filing_occupations_code')

    op.drop_table('filing_occupations')
    with op.batch_alter_table('instances', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_instances_status'))
        batch_op.drop_index(batch_op.f('ix_instances_region'))
        batch_op.drop_index(batch_op.f('ix_instances_process_id'))
        batch_op.drop_index(batch_op.f('ix_instances_definition_id'))
        batch_op.drop_index(batch_op.f('ix_instances_credit_code'))

    op.drop_table('instances')
    with op.batch_alter_table('filings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_filings_valid_until'))
        batch_op.drop_index(batch_op.f('ix_filings_status'))
        batch_op.drop_index(batch_op.f('ix_filings_region'))
        batch_op.drop_index(batch_op.f('ix_filings_credit_code'))
        batch_op.drop_index(batch_op.f('ix_filings_case_id'))

    op.drop_table('filings')
    op.drop_table('sequences')
    with op.batch_alter_table('process_definitions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_process_definitions_process_id'))

    op.drop_table('process_definitions')
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_documents_case_id'))

    op.drop_table('documents')
    op.drop_table('calendar_years')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_case_id'))
        batch_op.drop_index(batch_op.f('ix_audit_log_at'))

    op.drop_table('audit_log')
