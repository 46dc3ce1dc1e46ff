"""periodic_runs: each branch's last successful nightly reconciliation, day end and remittance file, so a run
that cron missed is caught up by the next (core/periodic.py)

Revision ID: 0018_periodic_runs
Revises: 0017_remittance_files
Create Date: 2026-12-06 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018_periodic_runs'
down_revision = '0017_remittance_files'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('periodic_runs',
    sa.Column('job', sa.String(length=32), nullable=False),
    sa.Column('branch_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('period', sa.Date(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('job', 'branch_id', name=op.f('pk_periodic_runs'))
    )


def downgrade():
    op.drop_table('periodic_runs')
