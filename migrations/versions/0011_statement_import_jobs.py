"""statement imports by a worker: status and progress, the waiting file in the database

Revision ID: 0011_statement_import_jobs
Revises: 0010_settlement_branches
Create Date: 2026-11-22 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011_statement_import_jobs'
down_revision = '0010_settlement_branches'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('statement_imports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=16), server_default='done', nullable=False))
        batch_op.add_column(sa.Column('lines_total', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('lines_done', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('errors', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('finished_at', sa.DateTime(), nullable=True))
        batch_op.create_check_constraint(
            'status_known', "status IN ('queued', 'storing', 'matching', 'done', 'refused', 'failed')"
        )

    op.create_table('statement_uploads',
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['statement_imports.id'], name=op.f('fk_statement_uploads_import_id_statement_imports')),
    sa.PrimaryKeyConstraint('import_id', name=op.f('pk_statement_uploads'))
    )


def downgrade():
    op.drop_table('statement_uploads')
    with op.batch_alter_table('statement_imports', schema=None) as batch_op:
        batch_op.drop_constraint('status_known', type_='check')
        batch_op.drop_column('finished_at')
        batch_op.drop_column('errors')
        batch_op.drop_column('lines_done')
        batch_op.drop_column('lines_total')
        batch_op.drop_column('status')
