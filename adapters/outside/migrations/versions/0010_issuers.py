"""issuers and served documents

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04

Documents as administrative acts (tasks/issuers.py): `issuers` keeps what an administrator set for an authority's
documents (the body that issues, the authority it acts for, the short name and format of its document numbers, its
seal); `documents` learns the authority whose act each one is and, for a correction, the document it corrects. A
served document never changes: from this revision the database refuses to update or delete one, as it does for the
audit log and the materials.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('issuers',
    sa.Column('authority', sa.String(length=6), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('on_behalf_of', sa.String(length=60), nullable=True),
    sa.Column('short_name', sa.String(length=12), nullable=False),
    sa.Column('number_format', sa.String(length=40), nullable=False),
    sa.Column('seal_png', sa.LargeBinary(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('updated_by', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('authority')
    )
    with op.batch_alter_table('documents') as batch:
        batch.add_column(sa.Column('issuer', sa.String(length=6), nullable=True))
        batch.add_column(sa.Column('corrects_id', sa.Integer(), nullable=True))
        batch.create_foreign_key('fk_documents_corrects_id', 'documents', ['corrects_id'], ['id'])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE FUNCTION documents_unchanged() RETURNS trigger LANGUAGE plpgsql AS "
                   "$$ BEGIN RAISE EXCEPTION 'a served document never changes'; END $$")
        op.execute("CREATE TRIGGER documents_no_change BEFORE UPDATE OR DELETE ON documents "
                   "FOR EACH ROW EXECUTE FUNCTION documents_unchanged()")
        op.execute("CREATE TRIGGER documents_no_truncate BEFORE TRUNCATE ON documents "
                   "FOR EACH STATEMENT EXECUTE FUNCTION documents_unchanged()")
    else:
        op.execute("CREATE TRIGGER documents_no_update BEFORE UPDATE ON documents "
                   "BEGIN SELECT RAISE(ABORT, 'a served document never changes'); END")
        op.execute("CREATE TRIGGER documents_no_delete BEFORE DELETE ON documents "
                   "BEGIN SELECT RAISE(ABORT, 'a served document never changes'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS documents_no_truncate ON documents")
        op.execute("DROP TRIGGER IF EXISTS documents_no_change ON documents")
        op.execute("DROP FUNCTION IF EXISTS documents_unchanged()")
    else:
        op.execute("DROP TRIGGER IF EXISTS documents_no_update")
        op.execute("DROP TRIGGER IF EXISTS documents_no_delete")
    with op.batch_alter_table('documents') as batch:
        batch.drop_constraint('fk_documents_corrects_id', type_='foreignkey')
        batch.drop_column('corrects_id')
        batch.drop_column('issuer')
    op.drop_table('issuers')
